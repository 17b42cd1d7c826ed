"""Prometheus metrics: the core's `Telemetry` port on prometheus-client, and the text a scrape of
`/metrics` gets.

Counted where it happens (in the pipeline and the dispatcher): messages received and their
processing time per channel, send errors by channel and kind (`SendFailure`), dead letters.
Read from the database at each scrape (`storage.gauges`): the outbox's rows by channel and
status, and reports filed per channel, so those are right whichever worker is asked.

Several workers (`lapor serve --workers N`): prometheus-client's multiprocess mode, switched on
by `PROMETHEUS_MULTIPROC_DIR` (`lapor serve` sets it to a fresh directory before the workers
start). Each worker writes its counts to its own file there, and a scrape of any worker adds
up every file, so the figures are the deployment's, not one worker's. Labels are channel names,
statuses and kinds only: no citizen, chat id or text ever reaches a metric.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from channels.base import SendFailure
from storage.gauges import Gauges

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# seconds from a message's arrival to its replies queued (the webhook answers right after)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def forget_last_counts() -> str | None:
    """Before `lapor serve` starts: the directory given in PROMETHEUS_MULTIPROC_DIR (made if
    missing), emptied of the last run's counts; None when none is given."""
    given = multiprocess_dir()
    if given is not None:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    return given


@contextmanager
def counts_dir(workers: int) -> Iterator[str | None]:
    """Around `lapor serve --workers N`: the directory the workers count into, the one given
    (`forget_last_counts`) or, for several workers without one, a fresh directory (removed
    afterwards); one worker needs none."""
    given = forget_last_counts()
    if given is not None:
        yield given
    elif workers > 1:
        made = tempfile.mkdtemp(prefix="lapor-metrics-")
        os.environ[MULTIPROC_ENV] = made  # read by each worker process as it starts
        try:
            yield made
        finally:
            os.environ.pop(MULTIPROC_ENV, None)
            shutil.rmtree(made, ignore_errors=True)
    else:
        yield None


class PrometheusTelemetry:
    """The core's `Telemetry` (bot.core.ports), one per service, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.received = Counter(
            "lapor_inbound_messages",
            "Messages received and stored, per channel (platform redeliveries not counted)",
            ["channel"],
            registry=registry,
        )
        self.latency = Histogram(
            "lapor_processing_seconds",
            "Seconds from a message's arrival to its state stored and replies queued",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.send_errors = Counter(
            "lapor_send_errors",
            "Failed sends to a platform, per channel and kind (retry, dead, unreachable, wait)",
            ["channel", "kind"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "lapor_dead_letters",
            "Replies that became dead letters (never sent unless requeued), per channel",
            ["channel"],
            registry=registry,
        )

    def message_received(self, channel: str) -> None:
        self.received.labels(channel).inc()

    def message_processed(self, channel: str, seconds: float) -> None:
        self.latency.labels(channel).observe(seconds)

    def send_failed(self, channel: str, failure: SendFailure) -> None:
        self.send_errors.labels(channel, failure.value).inc()

    def dead_letter(self, channel: str) -> None:
        self.dead_letters.labels(channel).inc()

    def exposition(self, gauges: Gauges) -> bytes:
        """The text of one scrape: the counts (every worker's, in multiprocess mode) and the
        figures read from the database."""
        path = multiprocess_dir()
        if path is None:
            counted = generate_latest(self.registry)
        else:
            merged = CollectorRegistry(auto_describe=False)
            MultiProcessCollector(merged, path=path)
            counted = generate_latest(merged)
        stored = CollectorRegistry(auto_describe=False)
        stored.register(_StoredFigures(gauges))
        return counted + generate_latest(stored)


class _StoredFigures(Collector):
    def __init__(self, gauges: Gauges) -> None:
        self.gauges = gauges

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "lapor_outbox_messages",
            "Outbox rows per channel and status (pending, inflight, waiting, sent, dead)",
            labels=["channel", "status"],
        )
        for (channel, status), rows in sorted(self.gauges.outbox.items()):
            depth.add_metric([channel, status], rows)
        yield depth
        filed = CounterMetricFamily(
            "lapor_reports_filed", "Reports filed, per channel they came in on", labels=["channel"]
        )
        for channel, reports in sorted(self.gauges.reports.items()):
            filed.add_metric([channel], reports)
        yield filed
