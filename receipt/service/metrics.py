"""Prometheus metrics: counters and histograms that processes update, gauges read from the database.

Counters live in the process that counts (uploads in the API, verdicts and timings in whichever
process runs the job). With workers in other processes, set PROMETHEUS_MULTIPROC_DIR to one
empty directory shared by the API and every worker (cleared at deploy): /metrics then adds up
every process's files (prometheus-client's multiprocess mode). Without it /metrics shows the
API process's own counters — enough for embedded mode, where the jobs run inside the API.
Queue, review and webhook gauges are read from the database at scrape time, so they are right
however many processes there are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from receipt.service.db import Attempt, Order, WebhookDelivery, utcnow
from receipt.service.runtime import Runtime

log = logging.getLogger(__name__)

UPLOADS = Counter("photo_receipt_uploads_total", "Photos uploaded, by result (accepted or the refusal code)",
                  ["kind", "result"])
VERDICTS = Counter("photo_receipt_verdicts_total", "Machine verdicts, by spec", ["spec", "verdict"])
RULE_RESULTS = Counter("photo_receipt_rule_results_total", "Rule results that were not a pass, by rule",
                       ["rule", "verdict"])
PROCESSING = Histogram("photo_receipt_processing_seconds", "Time to process one attempt (decode to outcome)",
                       ["spec"], buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120))
STAGE = Histogram("photo_receipt_stage_seconds", "Time of one pipeline stage", ["stage"],
                  buckets=(0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30))
WEBHOOK_FAILURES = Counter("photo_receipt_webhook_failures_total", "Failed webhook deliveries", ["final"])
STAGES = ("decode", "total", "compose", "measure", "rules")


def record_outcome(spec: str, verdict: str, reasons: list[dict[str, object]], seconds: float,
                   timings_ms: dict[str, float] | None = None) -> None:
    VERDICTS.labels(spec, verdict).inc()
    PROCESSING.labels(spec).observe(seconds)
    for reason in reasons:
        RULE_RESULTS.labels(str(reason.get("code")), str(reason.get("verdict"))).inc()
    for stage, ms in (timings_ms or {}).items():
        if stage in STAGES:
            STAGE.labels(stage).observe(ms / 1000)


def _age_s(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


class DatabaseCollector(Collector):
    """Gauges computed from the database at each scrape (cheap: indexed counts and minimums)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        with self.rt.db.session() as session:
            by_status = dict(session.execute(select(Attempt.status, func.count()).group_by(Attempt.status)).all())
            oldest_queued = session.scalar(select(func.min(Attempt.created_at)).where(Attempt.status == "queued"))
            review = session.execute(select(func.count(), func.min(Order.updated_at))
                                     .where(Order.status == "in_review")).one()
            hooks = dict(session.execute(select(WebhookDelivery.state, func.count())
                                         .group_by(WebhookDelivery.state)).all())
        depth = GaugeMetricFamily("photo_receipt_queue_depth", "Attempts by state (queued = waiting)",
                                  labels=["status"])
        for status in ("queued", "processing"):
            depth.add_metric([status], by_status.get(status, 0))
        yield depth
        yield GaugeMetricFamily("photo_receipt_queue_oldest_age_seconds", "Age of the oldest queued attempt",
                                value=_age_s(oldest_queued, now))
        yield GaugeMetricFamily("photo_receipt_review_queue_size", "Orders waiting for a reviewer", value=review[0])
        yield GaugeMetricFamily("photo_receipt_review_oldest_age_seconds", "Age of the oldest order in review",
                                value=_age_s(review[1], now))
        pending = GaugeMetricFamily("photo_receipt_webhook_deliveries", "Webhook deliveries by state",
                                    labels=["state"])
        for state in ("pending", "failed"):
            pending.add_metric([state], hooks.get(state, 0))
        yield pending


def scrape_registry(rt: Runtime, multiproc_dir: str | None) -> CollectorRegistry:
    """What /metrics exposes: every process's counters (multiprocess) or this one's, + the DB gauges."""
    from prometheus_client import REGISTRY

    if multiproc_dir:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
    else:
        registry = CollectorRegistry()
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector(rt))
    return registry


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from self.registry.collect()
