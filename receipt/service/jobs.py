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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from receipt.config import ServiceSettings
from receipt.errors import ReceiptError, SpecError
from receipt.pipeline import process_photo
from receipt.service.db import Receipt
from receipt.service.issuing import chosen_background, issue_for_attempt
from receipt.service.memory import release_memory, tune_allocator
from receipt.service.metrics import record_outcome
from receipt.service.orders import (
    Claim,
    Outcome,
    claim_attempt,
    clear_enqueued,
    fail_attempt,
    finish_attempt,
    mark_enqueued,
    outcome_from_intake_error,
    renew_lease,
)
from receipt.service.queue import Dispatcher, LocalDispatcher, QueueUnavailable, RQDispatcher
from receipt.service.runtime import Runtime, get_runtime, set_runtime
from receipt.service.tracing import bound, install_log_context, recall, remember
from receipt.specs import get_spec

log = logging.getLogger(__name__)


def make_dispatcher(rt: Runtime) -> Dispatcher:
    """RQ when REDIS_URL is set, else a thread of this process that runs the job on `rt`."""
    if rt.settings.redis_url:
        return RQDispatcher(rt.settings)
    return LocalDispatcher(lambda attempt_id: process_attempt(attempt_id, rt=rt))


def start_runtime(settings: ServiceSettings | None = None, *, with_jobs: bool = True, install: bool = True,
                  one_job_at_a_time: bool = False) -> Runtime:
    """The one way a process wires its runtime: database, blobs, a dispatcher, installed process-wide.

    `with_jobs=False` leaves the dispatcher out (a command that only writes rows for the sweeper);
    `one_job_at_a_time`: a worker process (receipt.service.memory tunes its allocator for that)."""
    tune_allocator(one_job_at_a_time=one_job_at_a_time)
    install_log_context()
    rt = Runtime.create(settings)  # migrates the schema if this process starts first
    if with_jobs:
        rt.dispatcher = make_dispatcher(rt)
    if install:
        set_runtime(rt)  # RQ job functions in this process find it
    return rt


def dispatch(rt: Runtime, attempt_id: int) -> bool:
    """Enqueue a committed attempt now; False when the queue is down (the sweeper will do it)."""
    if rt.dispatcher is None:
        return False
    mark_enqueued(rt, attempt_id, only_if_due=False)
    remember(rt, attempt_id)  # the API request's id, for the worker's log lines
    try:
        rt.dispatcher.enqueue(attempt_id)
        return True
    except QueueUnavailable as exc:
        log.warning("attempt %s accepted but not enqueued (%s); the sweeper will enqueue it", attempt_id, exc)
        clear_enqueued(rt, attempt_id)
        return False


# --- the job ------------------------------------------------------------------------------------

def _analyse(rt: Runtime, claim: Claim) -> tuple[Outcome, bytes | None]:
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
        record_outcome(spec.id, "reject", [{"code": exc.code, "verdict": "fail"}], ms / 1000)
        return Outcome("reject", outcome_from_intake_error(exc), {"error": exc.to_dict()}, duration_ms=ms), None
    photo = result.photo.jpeg if result.photo is not None else None
    record_outcome(spec.id, result.verdict, [{"code": r.code, "verdict": r.verdict} for r in result.report.problems],
                   time.perf_counter() - started, result.report.timings_ms)
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
    with bound(recall(rt, attempt_id)):
        return _process(rt, attempt_id)


def _process(rt: Runtime, attempt_id: int) -> str:
    claim = claim_attempt(rt, attempt_id, rt.identity)
    if claim is None:
        log.info("attempt %s: nothing to do (finished, taken or not due)", attempt_id)
        return "skipped"
    try:
        with LeaseKeeper(rt, claim):
            return _run_claimed(rt, claim)
    finally:
        release_memory()  # a decoded photo can leave ~100 MB of freed heap behind


class LeaseKeeper(threading.Thread):
    """Heartbeats the claim while the job runs, so a short lease tells a dead worker from a slow one:
    a living worker renews every lease/3 seconds; a killed one stops, and the sweeper resumes its
    attempt one lease later."""

    def __init__(self, rt: Runtime, claim: Claim) -> None:
        super().__init__(name=f"lease-{claim.attempt_id}", daemon=True)
        self.rt, self.claim = rt, claim
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = max(0.2, self.rt.settings.lease_s / 3)
        while not self.stopping.wait(interval):
            try:
                if not renew_lease(self.rt, self.claim):
                    return  # claim lost: finish_attempt will refuse this worker's result
            except Exception:  # a database blip: try again at the next beat
                log.warning("attempt %s: lease renewal failed", self.claim.attempt_id, exc_info=True)

    def __enter__(self) -> LeaseKeeper:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.join(timeout=5)


def _run_claimed(rt: Runtime, claim: Claim) -> str:
    attempt_id = claim.attempt_id
    if rt.settings.test_job_delay_s:
        time.sleep(rt.settings.test_job_delay_s)
    try:
        outcome, photo = _analyse(rt, claim)
        issued = None
        if outcome.verdict == "pass" and outcome.photo_sha256:
            issued = issue_for_attempt(rt, claim.spec_id, outcome.photo_sha256, photo,
                                       chosen_background(outcome.report))
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
                issued = issue_for_attempt(rt, claim.spec_id, outcome.photo_sha256, photo,
                                       chosen_background(outcome.report))
        raise RuntimeError("could not draw an unused receipt number")
    except Exception as exc:
        log.exception("attempt %s failed (try %d)", attempt_id, claim.tries)
        # "CODE: detail"; applicants are shown only the code (see orders.order_view)
        code = exc.code if isinstance(exc, ReceiptError) else type(exc).__name__
        detail = exc.message if isinstance(exc, ReceiptError) else str(exc)
        return fail_attempt(rt, claim, f"{code}: {detail}")
