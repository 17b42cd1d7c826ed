"""Scale-out benchmark: the webhook load of bench_webhook.py on three set-ups, each beside the
bare FastAPI endpoint in the same run, and a long run for memory growth.

Set-ups: SQLite with one worker; PostgreSQL + Redis with one worker; PostgreSQL + Redis with
`lapor serve --workers 2`. Simulated citizens post Telegram updates to POST /webhooks/telegram
and wait for each reply at a fake Bot API (served by this process), as in bench_webhook.py,
whose helpers this reuses. Printed per set-up: messages per second, acknowledgement p50/p99,
reply latency p99, resident memory of each worker process. Then `--soak` messages (default
100,000) through PostgreSQL + Redis with two workers, printing each worker's resident memory
as the run goes: it should level off, not grow with the number of messages.

    python bench/bench_scale.py [--citizens 60] [--concurrency 20] [--soak 100000]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

PostgreSQL: a fresh database is created (and dropped) through the given admin connection.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_webhook import (  # noqa: E402
    SECRET,
    FakeBotApi,
    LoadResult,
    baseline_process,
    drive_baseline,
    drive_citizens,
    free_port,
    percentile,
    rss_mib,
    serve_in_thread,
    service_env,
    wait_until_up,
)

from bot.scaling.cluster import namespace_for  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from tests import telegram_updates as tg  # noqa: E402

KELURAHAN = (
    "Oro-oro Ombo", "Sukosari", "Klegen", "Rejomulyo", "Pilangbango", "Tawangrejo", "Kanigoro",
    "Kartoharjo", "Kelun", "Manguharjo", "Sogaten", "Patihan", "Ngegong", "Winongo",
    "Madiun Lor", "Pangongangan", "Nambangan Lor", "Nambangan Kidul", "Mojorejo", "Pandean",
    "Banjarejo", "Kuncen", "Manisrejo", "Kejuron", "Josenan", "Demangan", "Taman",
)  # fmt: skip


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, migrated database; its SQLAlchemy URL."""
    name = f"lapor_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            url = f"{base}/{name}"
            upgrade(url)
            yield url
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def forget_keys(database_url: str, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"lapor:{namespace_for(database_url)}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


@contextmanager
def lapor_serve(env: dict[str, str], workers: int, log_path: Path) -> Iterator[tuple[str, int]]:
    """`lapor serve [--workers N]` in a subprocess; its base URL and (parent) pid."""
    port = free_port()
    command = [sys.executable, "-m", "bot.cli", "--config", str(ROOT / "config.example.toml")]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, env={**environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
            if workers > 1:
                deadline = time.monotonic() + 30
                while len(worker_pids(process.pid, workers)) < workers:
                    assert time.monotonic() < deadline, "workers did not start"
                    time.sleep(0.1)
                for _ in range(20):  # both workers finished their start-up
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            process.wait(30)


def worker_pids(pid: int, workers: int) -> list[int]:
    """The processes that serve requests: the process itself, or its worker children."""
    if workers == 1:
        return [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = []
    for child in map(int, children):
        try:
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            pass
    return found


def varied_script(n: int) -> list[dict[str, Any]]:
    """A whole report (8 messages) for the long run: places and problems vary by citizen, so
    the reports are not all offered as duplicates of one another."""
    user = {"id": 910_000_000 + n, "is_bot": False, "first_name": f"Warga {n}"}
    problems = (
        "sampah numpuk udh 3 hari gk diangkut",
        "lampu jalan mati sejak minggu lalu",
        "jalan berlubang besar motor sering jatuh",
        "air pdam mati dari kemarin",
        "selokan mampet banjir kalau hujan",
        "pohon tumbang menutup jalan",
    )
    place = KELURAHAN[n % len(KELURAHAN)]
    return [
        tg.text("halo", user=user),
        tg.callback_query("agree", user=user),
        tg.text(f"{problems[(n // len(KELURAHAN)) % len(problems)]} ({n})", user=user),
        tg.callback_query("yes", user=user),
        tg.text(f"Jl. Mawar {n % 97 + 1}, kel. {place}", user=user),
        tg.callback_query("skip", user=user),
        tg.callback_query("priv:normal", user=user),
        tg.callback_query("send", user=user),
    ]


def setup_env(database_url: str, api_base: str, tmp: Path, redis_url: str) -> dict[str, str]:
    env = service_env(database_url, api_base, str(tmp / "media"))
    env["LAPOR_STORAGE__REDIS_URL"] = redis_url
    return env


def run_setup(
    name: str,
    database_url: str,
    redis_url: str,
    workers: int,
    citizens: int,
    concurrency: int,
    tmp: Path,
) -> tuple[str, LoadResult, list[float], LoadResult]:
    fake = FakeBotApi()
    with serve_in_thread(fake.app()) as api_base:
        env = setup_env(database_url, api_base, tmp, redis_url)
        with lapor_serve(env, workers, tmp / f"{name}.log") as (base_url, pid):
            result = asyncio.run(drive_citizens(base_url, fake, citizens, concurrency))
            memory = [rss_mib(p) for p in worker_pids(pid, workers)]
    with baseline_process() as base_url:
        baseline = asyncio.run(drive_baseline(base_url, result.requests, concurrency))
    return name, result, memory, baseline


async def soak(
    base_url: str, fake: FakeBotApi, pids: list[int], messages: int, concurrency: int
) -> list[tuple[int, list[float]]]:
    """Citizens in waves of `concurrency`; each worker's memory noted along the way."""
    citizens = messages // 8
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    samples: list[tuple[int, list[float]]] = []
    sent = 0
    marks = sorted({messages // 10, messages // 4, messages // 2, 3 * messages // 4})
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(citizens):
        queue.put_nowait(n)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def citizen_worker() -> None:
            nonlocal sent
            while not queue.empty():
                n = queue.get_nowait()
                chat = str(910_000_000 + n)
                for update in varied_script(n):
                    seen = len(fake.replies[chat])
                    response = await client.post("/webhooks/telegram", json=update, headers=headers)
                    assert response.status_code == 200, response.text
                    sent += 1
                    while marks and sent >= marks[0]:
                        marks.pop(0)
                        samples.append((sent, [rss_mib(p) for p in pids]))
                        rate = sent / (time.perf_counter() - started)
                        print(f"  {sent:>7} messages ({rate:.0f}/s): {fmt_mib(samples[-1][1])}")
                    await wait_reply(fake, chat, seen)
                with fake.lock:  # the fake forgets finished chats: its memory is not the point
                    fake.replies.pop(chat, None)

        await asyncio.gather(*(citizen_worker() for _ in range(concurrency)))
    samples.append((sent, [rss_mib(p) for p in pids]))
    return samples


async def wait_reply(fake: FakeBotApi, chat: str, seen: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with fake.lock:
            if len(fake.replies[chat]) > seen:
                return
        await asyncio.sleep(0.002)
    raise TimeoutError(chat)


def fmt_mib(values: list[float]) -> str:
    return " + ".join(f"{v:.0f}" for v in values) + " MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--soak", type=int, default=100_000, help="messages; 0 = no long run")
    parser.add_argument("--soak-concurrency", type=int, default=40)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-table", action="store_true", help="only the long run")
    parser.add_argument("--keep", help="keep the services' logs in this directory")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(args.keep or tmp_name)
        tmp.mkdir(parents=True, exist_ok=True)
        sqlite_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        upgrade(sqlite_url)
        if not args.skip_table:
            setup = ("sqlite-1", sqlite_url, "", 1, args.citizens, args.concurrency, tmp)
            rows.append(run_setup(*setup))
        for workers in () if args.skip_table else (1, 2):
            with postgres_database(args.postgres) as url:
                try:
                    rows.append(
                        run_setup(
                            f"pg-redis-{workers}",
                            url,
                            args.redis,
                            workers,
                            args.citizens,
                            args.concurrency,
                            tmp,
                        )
                    )
                finally:
                    forget_keys(url, args.redis)

        print(
            f"\n{args.citizens} citizens x 8 messages, {args.concurrency} at a time "
            f"(same load for each set-up and its bare FastAPI baseline)\n"
        )
        header = (
            f"{'set-up':<34}{'msg/s':>8}{'ack p50':>10}{'ack p99':>10}{'reply p99':>11}"
            f"  {'RSS per worker':<16}"
        )
        print(header)
        print("-" * len(header))
        labels = {
            "sqlite-1": "SQLite, 1 worker",
            "pg-redis-1": "PostgreSQL + Redis, 1 worker",
            "pg-redis-2": "PostgreSQL + Redis, 2 workers",
        }
        for name, result, memory, baseline in rows:
            for label, load, mem in (
                (labels[name], result, fmt_mib(memory)),
                ("  bare FastAPI endpoint", baseline, ""),
            ):
                ack = sorted(load.ack)
                reply = f"{percentile(sorted(load.reply), 99):9.1f}ms" if load.reply else " " * 11
                print(
                    f"{label:<34}{load.requests / load.seconds:8.0f}"
                    f"{percentile(ack, 50):8.1f}ms{percentile(ack, 99):8.1f}ms{reply}  {mem}"
                )

        if args.soak:
            print(f"\nLong run: {args.soak} messages, PostgreSQL + Redis, 2 workers")
            with psycopg.connect(args.postgres) as admin:
                row = admin.execute("SHOW autovacuum").fetchone()
            if row and row[0] != "on":
                print("  (this PostgreSQL runs without autovacuum: dead rows of the outbox and")
                print("   inbox pile up, and the claim slows down as the run goes on)")
            with postgres_database(args.postgres) as url:
                fake = FakeBotApi()
                try:
                    with serve_in_thread(fake.app()) as api_base:
                        env = setup_env(url, api_base, tmp, args.redis)
                        with lapor_serve(env, 2, tmp / "soak.log") as (base_url, pid):
                            pids = worker_pids(pid, 2)
                            print(f"  {0:>7} messages: {fmt_mib([rss_mib(p) for p in pids])}")
                            samples = asyncio.run(
                                soak(base_url, fake, pids, args.soak, args.soak_concurrency)
                            )
                    print(f"  {samples[-1][0]:>7} messages: {fmt_mib(samples[-1][1])}")
                finally:
                    forget_keys(url, args.redis)


if __name__ == "__main__":
    main()
