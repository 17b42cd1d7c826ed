"""`lapor stats` over 100,000 reports, on SQLite and on PostgreSQL.

Generates a year of synthetic reports (with status events, topic words and conversation funnel
sessions; tests/analytics_data.py) with bulk inserts into a fresh database of each kind, then
times the statistics twice: in process (`compute_stats`, what /api/stats and the dashboard
run), and as the command a person types (`lapor stats`, a new Python process, startup included).
Prints the timings and the figures.

    python bench/bench_stats.py [--reports 100000] [--runs 5] [--by agency] [--skip-postgres]

PostgreSQL: 127.0.0.1:5432 with trust authentication; the benchmark creates (and drops,
unless --keep) its own database `lapor_bench_stats`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bot.analytics.stats import StatsQuery, compute_stats, render  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from storage import Database  # noqa: E402
from storage.analytics import StatsReader  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests import analytics_data  # noqa: E402

PG = "postgresql://{user}@127.0.0.1:5432/{db}"
BENCH_DB = "lapor_bench_stats"
CONFIG = ROOT / "config.example.toml"


def pg_admin() -> tuple[psycopg.Connection, str]:
    errors = []
    for user in ("postgres", os.environ.get("USER", "root")):
        try:
            conn = psycopg.connect(PG.format(user=user, db="test"), autocommit=True)
            return conn, user
        except psycopg.Error as exc:
            errors.append(str(exc).strip())
    raise SystemExit("PostgreSQL not reachable: " + "; ".join(errors))


def fresh_postgres() -> str:
    admin, user = pg_admin()
    with admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    return f"postgresql+psycopg://{user}@127.0.0.1:5432/{BENCH_DB}"


def drop_postgres() -> None:
    admin, _ = pg_admin()
    with admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB))
        )


async def in_process(url: str, now: datetime, by: str | None, runs: int) -> tuple[list[float], str]:
    settings = load_settings(CONFIG, {"LAPOR_STORAGE__DATABASE_URL": url})
    db = Database(url)
    reader = StatsReader(db)
    timings, text = [], ""
    try:
        for _ in range(runs):
            started = time.perf_counter()
            stats = await compute_stats(reader, settings, StatsQuery(by=by), now=now)
            timings.append(time.perf_counter() - started)
            text = render(stats, "table")
    finally:
        await db.dispose()
    return timings, text


def command(url: str, by: str | None, runs: int) -> list[float]:
    env = {**os.environ, "LAPOR_STORAGE__DATABASE_URL": url}
    args = [str(ROOT / ".venv" / "bin" / "lapor"), "--config", str(CONFIG), "stats"]
    if by:
        args += ["--by", by]
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, stdout=subprocess.DEVNULL)
        timings.append(time.perf_counter() - started)
    return timings


def report(name: str, timings: list[float]) -> str:
    ms = [t * 1000 for t in timings]
    return (
        f"  {name:32s} median {statistics.median(ms):7.0f} ms   best {min(ms):7.0f} ms   "
        f"worst {max(ms):7.0f} ms   ({len(ms)} runs)"
    )


def run(kind: str, url: str, data: analytics_data.Generated, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    upgrade(url)
    analytics_data.write(url, data)
    print(
        f"\n== {kind}: {data.count('reports'):,} reports, "
        f"{data.count('status_events'):,} status events, "
        f"{data.count('funnel_sessions'):,} funnel sessions, "
        f"{data.count('report_terms'):,} topic words "
        f"(written in {time.perf_counter() - started:.1f} s)"
    )
    now = datetime.now(UTC)
    for by in dict.fromkeys([None, args.by]):
        label = f"--by {by}" if by else "all figures"
        timings, text = asyncio.run(in_process(url, now, by, args.runs))
        print(report(f"compute_stats ({label})", timings))
        print(report(f"lapor stats ({label})", command(url, by, args.runs)))
    print()
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--by", default="agency", help="also time one --by grouping")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args()
    started = time.perf_counter()
    data = analytics_data.generate(args.reports, end=datetime.now(UTC))
    print(f"generated {args.reports:,} reports in {time.perf_counter() - started:.1f} s")
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="lapor-bench-stats-"))
        path = folder / "stats.db"
        run("SQLite", f"sqlite+aiosqlite:///{path}", data, args)
        if args.keep:
            print(f"kept {path}")
        else:
            path.unlink()
            for extra in folder.iterdir():
                extra.unlink()
            folder.rmdir()
    if not args.skip_postgres:
        url = fresh_postgres()
        try:
            run("PostgreSQL", url, data, args)
        finally:
            if args.keep:
                print(f"kept {url}")
            else:
                drop_postgres()


if __name__ == "__main__":
    main()
