"""Queue jobs: run the pipeline for one attempt, on RQ workers or in-process.

Reliability comes from the database, not from the queue:
- an upload is committed (row + blob) before anything is enqueued; if Redis is down the
  attempt simply stays `queued` with enqueued_at NULL and the sweeper enqueues it later;
- `process_attempt` is idempotent: it claims the attempt with a lease and a claim token, and
  only the current claim holder can record a result (see receipt.service.orders);
- the sweeper (a thread in the API process and in every worker) re-queues attempts whose
  worker died (lease expired), whose job vanished from Redis, or whose retry back-off is over,
  and delivers webhooks. Several sweepers cooperate through conditional UPDATEs.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from receipt.errors import ReceiptError, SpecError
from receipt.service.db import Receipt
from receipt.service.orders import (
    Claim,
    IssuedRecord,
    Outcome,
    claim_attempt,
    clear_enqueued,
    due_attempts,
    expire_leases,
    fail_attempt,
    finish_attempt,
    mark_enqueued,
    outcome_from_intake_error,
)
from receipt.service.runtime import Runtime, ServiceSettings, get_runtime

log = logging.getLogger(__name__)


class QueueUnavailable(Exception):
    """The queue could not take the job now; the attempt stays queued for the sweeper."""


class Dispatcher(Protocol):
    mode: str

    def enqueue(self, attempt_id: int) -> None: ...

    def is_alive(self, attempt_id: int) -> bool: ...

    def healthy(self) -> bool: ...

    def close(self) -> None: ...


def job_id(attempt_id: int) -> str:
    return f"attempt-{attempt_id}"


class RQDispatcher:
    """Jobs on an RQ queue in Redis, run by `python worker.py` processes anywhere."""

    mode = "rq"

    def __init__(self, settings: ServiceSettings) -> None:
        from redis import Redis
        from rq import Queue

        assert settings.redis_url
        self.settings = settings
        # short timeouts: an upload must not hang because Redis is down, it is accepted anyway
        self.redis = Redis.from_url(settings.redis_url, socket_connect_timeout=1, socket_timeout=3)
        self.queue = Queue(settings.queue_name, connection=self.redis, default_timeout=settings.job_timeout_s)

    def enqueue(self, attempt_id: int) -> None:
        from redis.exceptions import RedisError

        try:
            self.queue.enqueue(process_attempt, attempt_id, job_id=job_id(attempt_id),
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

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
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
            process_attempt(attempt_id, rt=self.rt)
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


def make_dispatcher(rt: Runtime) -> Dispatcher:
    return RQDispatcher(rt.settings) if rt.settings.redis_url else LocalDispatcher(rt)


def dispatch(rt: Runtime, attempt_id: int) -> bool:
    """Enqueue a committed attempt now; False when the queue is down (the sweeper will do it)."""
    if rt.dispatcher is None:
        return False
    mark_enqueued(rt, attempt_id, only_if_due=False)
    try:
        rt.dispatcher.enqueue(attempt_id)
        return True
    except QueueUnavailable as exc:
        log.warning("attempt %s accepted but not enqueued (%s); the sweeper will enqueue it", attempt_id, exc)
        clear_enqueued(rt, attempt_id)
        return False


# --- the job ------------------------------------------------------------------------------------

def issue_for_attempt(rt: Runtime, spec_id: str, photo_sha256: str, photo: bytes | None = None) -> IssuedRecord:
    """Number, signed QR payload and PDF for an approved spec photo; the PDF goes to the blob store."""
    from receipt.pipeline import issue_receipt
    from receipt.specs import get_spec

    photo = photo if photo is not None else rt.blobs.get(photo_sha256)
    issued = issue_receipt(get_spec(spec_id), photo)
    pdf_sha = rt.blobs.put(issued.pdf)
    return IssuedRecord(issued.number, issued.spec_id, issued.issued_at, issued.expires_on, issued.qr_payload,
                        issued.photo_sha256, pdf_sha)


def _analyse(rt: Runtime, claim: Claim) -> tuple[Outcome, bytes | None]:
    from receipt.pipeline import process_photo
    from receipt.specs import get_spec

    spec = get_spec(claim.spec_id)
    data = rt.blobs.get(claim.upload_sha256)
    started = time.perf_counter()
    try:
        result = process_photo(data, spec)
    except SpecError:
        raise  # a broken spec is our fault, not the applicant's: retry, then error
    except ReceiptError as exc:
        if exc.status >= 500:
            raise
        ms = int((time.perf_counter() - started) * 1000)
        return Outcome("reject", outcome_from_intake_error(exc), {"error": exc.to_dict()}, duration_ms=ms), None
    photo = result.photo.jpeg if result.photo is not None else None
    outcome = Outcome(
        verdict=result.verdict,
        reasons=[{"code": r.code, "verdict": r.verdict, "message_zh": r.message_zh, "message_en": r.message_en}
                 for r in result.report.problems],
        report=result.report.to_dict(),
        photo_sha256=rt.blobs.put(photo) if photo is not None else None,
        annotated_sha256=rt.blobs.put(result.annotated_jpeg) if result.annotated_jpeg is not None else None,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    return outcome, photo


def _number_taken(rt: Runtime, number: str) -> bool:
    with rt.db.session() as session:
        return session.scalar(select(Receipt.id).where(Receipt.number == number)) is not None


def process_attempt(attempt_id: int, rt: Runtime | None = None) -> str:
    """The queue job. Safe to run any number of times for the same attempt, concurrently too."""
    rt = rt or get_runtime()
    claim = claim_attempt(rt, attempt_id, rt.identity)
    if claim is None:
        log.info("attempt %s: nothing to do (finished, taken or not due)", attempt_id)
        return "skipped"
    if rt.settings.test_job_delay_s:
        time.sleep(rt.settings.test_job_delay_s)
    try:
        outcome, photo = _analyse(rt, claim)
        issued = None
        if outcome.verdict == "pass" and outcome.photo_sha256:
            issued = issue_for_attempt(rt, claim.spec_id, outcome.photo_sha256, photo)
        for _ in range(3):
            try:
                finished = finish_attempt(rt, claim, outcome, issued)
                log.info("attempt %s: %s%s", attempt_id, outcome.verdict, "" if finished else " (claim lost)")
                return outcome.verdict if finished else "lost"
            except IntegrityError:
                # a receipt number drawn twice (36**11 space) is the only expected collision
                if issued is None or not _number_taken(rt, issued.number):
                    raise
                assert outcome.photo_sha256
                issued = issue_for_attempt(rt, claim.spec_id, outcome.photo_sha256, photo)
        raise RuntimeError("could not draw an unused receipt number")
    except Exception as exc:
        log.exception("attempt %s failed (try %d)", attempt_id, claim.tries)
        # "CODE: detail"; applicants are shown only the code (see orders.order_view)
        code = exc.code if isinstance(exc, ReceiptError) else type(exc).__name__
        detail = exc.message if isinstance(exc, ReceiptError) else str(exc)
        return fail_attempt(rt, claim, f"{code}: {detail}")


# --- sweeper ------------------------------------------------------------------------------------

def sweep_once(rt: Runtime) -> dict[str, Any]:
    """Requeue what a dead worker left, enqueue what Redis lost or a back-off delayed, send webhooks."""
    from receipt.service.webhooks import deliver_due

    stats: dict[str, Any] = {"requeued": expire_leases(rt), "enqueued": 0, "queue_down": False}
    if rt.dispatcher is not None:
        # in-process, is_alive is exact, so a queued attempt not in the pool (left by a restart) is due at once
        stale_after = 0.0 if isinstance(rt.dispatcher, LocalDispatcher) else None
        for attempt_id, enqueued_at in due_attempts(rt, stale_after_s=stale_after):
            if enqueued_at is not None and rt.dispatcher.is_alive(attempt_id):
                if stale_after is None:  # RQ: still waiting in a long queue; look again in requeue_after_s
                    mark_enqueued(rt, attempt_id, only_if_due=False)
                continue
            if not mark_enqueued(rt, attempt_id, only_if_due=True, stale_after_s=stale_after):
                continue  # another sweeper took it
            try:
                rt.dispatcher.enqueue(attempt_id)
                stats["enqueued"] += 1
            except QueueUnavailable as exc:
                clear_enqueued(rt, attempt_id)
                stats["queue_down"] = True
                log.warning("queue unavailable, %s stays queued: %s", attempt_id, exc)
                break
    stats["webhooks"] = deliver_due(rt)
    return stats


class Sweeper(threading.Thread):
    def __init__(self, rt: Runtime, interval_s: float | None = None) -> None:
        super().__init__(name="photo-sweeper", daemon=True)
        self.rt = rt
        self.interval_s = interval_s if interval_s is not None else rt.settings.sweep_interval_s
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            try:
                stats = sweep_once(self.rt)
                if stats["requeued"] or stats["enqueued"] or stats["webhooks"]:
                    log.info("sweep: %s", stats)
            except Exception:  # a database blip must not kill the thread
                log.exception("sweep failed")

    def stop(self) -> None:
        self.stopping.set()

