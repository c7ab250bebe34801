"""The RQ worker process behind `python worker.py`.

It is an RQ SimpleWorker: jobs run in this process, so the vision models are loaded once at
start and reused (a forking worker would either reload them for every job or fork after
mediapipe started its threads, which is unsafe). If a photo crashes the process, the
supervisor restarts it and the sweeper requeues the attempt (at most max_tries times).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def run_worker(*, burst: bool = False, name: str | None = None) -> int:
    # imported here: `worker.py --help` must not load the models or connect anywhere (start-up speed)
    from redis import Redis
    from rq import Queue, SimpleWorker

    from receipt.config import ServiceSettings
    from receipt.photo.vision import warm_up
    from receipt.service.jobs import start_runtime
    from receipt.service.sweeper import Sweeper, sweep_once

    settings = ServiceSettings.from_env()
    if not settings.redis_url:
        log.error("REDIS_URL is not set: without Redis, `photo-receipt serve` runs the jobs itself")
        return 2
    # RQ, since REDIS_URL is set; migrates the schema if this worker starts first
    rt = start_runtime(settings, one_job_at_a_time=True)
    warm_up()
    # no socket timeout here: the worker blocks on BLPOP for minutes between jobs
    connection = Redis.from_url(settings.redis_url)
    queue = Queue(settings.queue_name, connection=connection)
    worker = SimpleWorker([queue], connection=connection,
                          name=name or f"{socket.gethostname()}.{os.getpid()}")
    sweeper = Sweeper(rt)
    if burst:
        sweep_once(rt)  # pick up what a dead worker or a Redis outage left before draining
    else:
        sweeper.start()
    log.info("worker %s on queue %s (database %s)", worker.name, settings.queue_name, rt.db.dialect)
    try:
        worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
    finally:
        sweeper.stop()
        rt.close()
    return 0
