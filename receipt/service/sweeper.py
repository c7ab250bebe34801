"""The sweeper: what a dead worker, a Redis outage or a retry back-off left behind.

A thread in the API process and in every worker; several sweepers cooperate through
conditional UPDATEs, so each stuck attempt is re-enqueued once. It also delivers due webhooks and
applies reviewers' decisions whose undo window is over (receipt.service.review.apply).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from receipt.service.orders import clear_enqueued, due_attempts, expire_leases, mark_enqueued
from receipt.service.queue import QueueUnavailable
from receipt.service.retention import maybe_purge
from receipt.service.review.apply import apply_due
from receipt.service.runtime import Runtime
from receipt.service.webhooks import deliver_due

log = logging.getLogger(__name__)


def sweep_once(rt: Runtime) -> dict[str, Any]:
    """Requeue what a dead worker left, enqueue what Redis lost or a back-off delayed, send webhooks."""
    stats: dict[str, Any] = {"requeued": expire_leases(rt), "enqueued": 0, "queue_down": False}
    if rt.dispatcher is not None:
        # in-process, is_alive is exact, so a queued attempt not in the pool (left by a restart) is due at once
        stale_after = 0.0 if rt.dispatcher.exact else None
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
    stats["review"] = apply_due(rt)  # reviewers' decisions whose undo window is over
    stats["webhooks"] = deliver_due(rt)
    stats["purged"] = bool(maybe_purge(rt))  # retention: at most every purge_interval_s
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
                if stats["requeued"] or stats["enqueued"] or stats["webhooks"] or stats["review"]:
                    log.info("sweep: %s", stats)
            except Exception:  # a database blip must not kill the thread
                log.exception("sweep failed")

    def stop(self) -> None:
        self.stopping.set()

