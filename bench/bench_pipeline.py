"""Messages per second through the pipeline: inbox insert, pure flow step, one transaction.

Simulated citizens each file a complete report (9 messages) on the example configuration, on a
fresh SQLite file (or the database given with --database-url). Replies land in the outbox; the
dispatcher is not run, so this measures what a webhook request costs before it answers.

    python bench/bench_pipeline.py [--citizens 200] [--concurrency 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.compose import Service, prepare_database  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from intake import flow  # noqa: E402
from intake.types import GeoPoint, InboundMessage, MediaRef, MessageKind  # noqa: E402

SCRIPT: list[tuple[MessageKind, dict[str, object]]] = [
    (MessageKind.TEXT, {"text": "halo"}),
    (MessageKind.CHOICE, {"choice": "agree"}),
    (MessageKind.TEXT, {"text": "sampah numpuk udh 3 hari gk diangkut di pinggir jalan"}),
    (MessageKind.CHOICE, {"choice": "yes"}),
    (MessageKind.LOCATION, {"location": GeoPoint(-7.6298, 111.5239)}),
    (MessageKind.PHOTO, {"media": MediaRef("bench", "photo", "image/jpeg", 1000)}),
    (MessageKind.CHOICE, {"choice": "done"}),
    (MessageKind.CHOICE, {"choice": "priv:anonymous"}),
    (MessageKind.CHOICE, {"choice": "send"}),
]

_ids = itertools.count()


def message(citizen: int, kind: MessageKind, fields: dict[str, object]) -> InboundMessage:
    return InboundMessage(
        channel="bench",
        external_id=f"m{next(_ids)}",
        sender_id=str(citizen),
        chat_id=str(citizen),
        kind=kind,
        received_at=datetime.now(UTC),
        **fields,  # type: ignore[arg-type]
    )


async def pipeline_run(database_url: str, citizens: int, concurrency: int) -> dict[str, float]:
    settings = load_settings(
        ROOT / "config.example.toml", {"LAPOR_STORAGE__DATABASE_URL": database_url}
    )
    prepare_database(settings)
    service = Service(settings)
    await service.start(workers=False)
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one_citizen(n: int) -> None:
        async with semaphore:
            for kind, fields in SCRIPT:
                started = time.perf_counter()
                accepted = await service.pipeline.accept(message(n, kind, fields))
                latencies.append(time.perf_counter() - started)
                assert accepted.processed

    started = time.perf_counter()
    await asyncio.gather(*(one_citizen(n) for n in range(citizens)))
    elapsed = time.perf_counter() - started
    async with service.store.unit_of_work() as uow:
        filed = await uow.reports.count()
    await service.stop()
    assert filed == citizens, f"expected {citizens} reports, found {filed}"
    latencies.sort()
    return {
        "messages": len(latencies),
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def step_only(rounds: int) -> float:
    """Pure flow steps per second, no storage."""
    from bot.compose import build_catalog

    settings = load_settings(ROOT / "config.example.toml", {})
    catalog = build_catalog(settings)
    started = time.perf_counter()
    count = 0
    for n in range(rounds):
        state = None
        for kind, fields in SCRIPT:
            ctx = flow.FlowContext(datetime.now(UTC), catalog)
            state = flow.step(state, message(n, kind, fields), ctx).state
            count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{os.path.join(tmp, 'bench.db')}"
        kind = url.split(":", 1)[0]
        result = asyncio.run(pipeline_run(url, args.citizens, args.concurrency))
    print(
        f"pipeline on {kind}: {args.citizens} citizens x {len(SCRIPT)} messages, "
        f"concurrency {args.concurrency}"
    )
    print(
        f"  {result['messages']:.0f} messages in {result['seconds']:.2f} s = "
        f"{result['per_second']:.0f} messages/s"
    )
    print(f"  accept+process latency p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms")
    print(f"  flow.step alone: {step_only(300):.0f} steps/s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak resident memory: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
