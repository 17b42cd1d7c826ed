"""The public follow-up page's figures over a year of reports, on SQLite and on PostgreSQL.

Generates the synthetic year of tests/analytics_data.py into a fresh database of each kind,
then times `public_figures` (what /public computes once per `public.cache_seconds`: per agency
for the whole period and for each of 12 months, and the resolved places) and the HTML rendered
from it, and prints the page's size and number of dots.

    python bench/bench_public.py [--reports 100000] [--runs 3] [--skip-postgres]

PostgreSQL as in bench/bench_stats.py (its database `lapor_bench_stats`, dropped after).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_stats import drop_postgres, fresh_postgres  # noqa: E402

from bot.analytics.public import public_figures  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.web.public import render_public  # noqa: E402
from intake.texts import Texts  # noqa: E402
from storage import Database  # noqa: E402
from storage.analytics import StatsReader  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests import analytics_data  # noqa: E402

CONFIG = ROOT / "config.example.toml"
NOW = datetime(2026, 3, 30, 5, 0, tzinfo=UTC)


async def measure(url: str, runs: int) -> None:
    settings = load_settings(CONFIG, {"LAPOR_STORAGE__DATABASE_URL": url})
    db = Database(url)
    reader = StatsReader(db)
    figures_s, render_s = [], []
    try:
        for _ in range(runs):
            start = time.perf_counter()
            figures = await public_figures(reader, settings, now=NOW)
            figures_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            page = render_public(figures, settings, Texts(settings.texts), "id")
            render_s.append(time.perf_counter() - start)
    finally:
        await reader.engine.dispose()
        await db.dispose()
    print(
        f"  figures: median {statistics.median(figures_s) * 1000:.0f} ms "
        f"(min {min(figures_s) * 1000:.0f}, max {max(figures_s) * 1000:.0f}) over {runs} runs"
    )
    print(f"  render:  median {statistics.median(render_s) * 1000:.0f} ms")
    dots = page.count('<circle class="dot"')
    counted = figures["agencies"]["total"]["received"]
    print(f"  page: {len(page.encode()) / 1024:.0f} KiB, {dots} dots, {counted} reports counted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    data = analytics_data.generate(args.reports, end=NOW, days=365)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade(url)
        analytics_data.write(url, data)
        print(f"SQLite, {args.reports:,} reports:")
        asyncio.run(measure(url, args.runs))
    if not args.skip_postgres:
        url = fresh_postgres()
        try:
            upgrade(url)
            analytics_data.write(url, data)
            print(f"PostgreSQL, {args.reports:,} reports:")
            asyncio.run(measure(url, args.runs))
        finally:
            drop_postgres()


if __name__ == "__main__":
    main()
