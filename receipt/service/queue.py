"""Dispatchers: put an attempt id on a queue (RQ on Redis) or run it in-process.

A leaf module: it is handed the job (a dotted path for RQ, a callable in-process) and imports
nothing of the service above it, so the runtime can hold a dispatcher without a circle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from receipt.config import ServiceSettings

log = logging.getLogger(__name__)

JOB_PATH = "receipt.service.jobs.process_attempt"  # what RQ workers import and call with the attempt id


class QueueUnavailable(Exception):
    """The queue could not take the job now; the attempt stays queued for the sweeper."""


class Dispatcher(Protocol):
    mode: str
    exact: bool  # is_alive knows every pending job (in-process), or only what Redis still holds

    def enqueue(self, attempt_id: int) -> None: ...

    def is_alive(self, attempt_id: int) -> bool: ...

    def healthy(self) -> bool: ...

    def close(self) -> None: ...


def job_id(attempt_id: int) -> str:
    return f"attempt-{attempt_id}"


class RQDispatcher:
    """Jobs on an RQ queue in Redis, run by `python worker.py` processes anywhere."""

    mode = "rq"
    exact = False

    def __init__(self, settings: ServiceSettings, job: str = JOB_PATH) -> None:
        from redis import Redis
        from rq import Queue

        assert settings.redis_url
        self.settings = settings
        self.job = job
        # short timeouts: an upload must not hang because Redis is down, it is accepted anyway
        self.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=3)
        self.queue = Queue(settings.queue_name, connection=self.redis, default_timeout=settings.job_timeout_s)

    def enqueue(self, attempt_id: int) -> None:
        from redis.exceptions import RedisError

        try:
            self.queue.enqueue(self.job, attempt_id, job_id=job_id(attempt_id),
                               job_timeout=self.settings.job_timeout_s, result_ttl=3600, failure_ttl=7 * 86400,
                               description=f"photo receipt attempt {attempt_id}")
        except RedisError as exc:
            raise QueueUnavailable(f"redis: {exc}") from exc

    def is_alive(self, attempt_id: int) -> bool:
        """Whether a job for the attempt still waits in Redis (a started job may belong to a dead worker)."""
        from redis.exceptions import RedisError
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        try:
            status = Job.fetch(job_id(attempt_id), connection=self.redis).get_status(refresh=False)
        except NoSuchJobError:
            return False
        except RedisError:
            return True  # cannot tell; the next sweep will look again
        return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED)

    def healthy(self) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(self.redis.ping())
        except RedisError:
            return False

    def close(self) -> None:
        self.redis.close()


class LocalDispatcher:
    """In-process jobs for the embedded mode (no REDIS_URL): one thread, models loaded once."""

    mode = "in-process"
    exact = True  # is_alive knows every pending job: a queued attempt it does not know is due at once

    def __init__(self, job: Callable[[int], object]) -> None:
        self.job = job
        # one thread: the vision models are not meant to be used from several threads at once
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="photo-job")
        self.pending: set[int] = set()
        self.lock = threading.Lock()

    def enqueue(self, attempt_id: int) -> None:
        with self.lock:
            if attempt_id in self.pending:
                return
            self.pending.add(attempt_id)
        try:
            self.executor.submit(self._run, attempt_id)
        except RuntimeError as exc:  # executor shut down
            with self.lock:
                self.pending.discard(attempt_id)
            raise QueueUnavailable(str(exc)) from exc

    def _run(self, attempt_id: int) -> None:
        try:
            self.job(attempt_id)
        except Exception:  # never let the pool swallow it silently; the sweeper retries
            log.exception("in-process job for attempt %s failed", attempt_id)
        finally:
            with self.lock:
                self.pending.discard(attempt_id)

    def is_alive(self, attempt_id: int) -> bool:
        with self.lock:
            return attempt_id in self.pending

    def healthy(self) -> bool:
        return True

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
