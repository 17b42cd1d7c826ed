"""Throughput benchmark (issue 12): burst acknowledgement and sustained offered rate, one core.

`lapor serve` runs pinned to one core (`taskset -c 0`); this process (the load generator and the
fake Bot API the replies go to) runs on another. A bare FastAPI endpoint is measured the same
way in the same run, and every figure is printed beside it with the ratio, because the machine
is shared and absolute numbers drift. Three modes:

- burst: N updates (one "halo" from each of N citizens) as fast as `--connections` connections
  can post them: acknowledgements per second, ack p50/p99, and how long until every reply
  reached the fake Bot API;
- sustained: updates offered at a fixed rate (a share of the bare endpoint's burst rate) for
  `--window` seconds, citizens walking through the report script (the next message of a
  citizen only after the bot answered the last one): ack p50/p99, replies delivered within the
  window, reply p99 (200 -> reply at the fake API);
- unloaded: one message at a time: reply p99.

Also printed: the service's resident memory at the end and its cold start (start -> /healthz).

    python bench/bench_throughput.py [--burst 2000] [--connections 32] [--shares 0.25,0.5]
        [--window 10] [--database-url URL] [--redis-url URL] [--workers 1] [--answer-first]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_webhook import (  # noqa: E402
    BIN,
    ROOT,
    SECRET,
    STARTUP,
    FakeBotApi,
    citizen_script,
    free_port,
    percentile,
    rss_mib,
    serve_in_thread,
    service_env,
    wait_until_up,
)

from tests import telegram_updates as tg  # noqa: E402

SERVICE_CORE = "0"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def pin_self() -> None:
    """The load generator and the fake API stay off the service's core."""
    cores = os.sched_getaffinity(0) - {int(SERVICE_CORE)}
    if cores:
        os.sched_setaffinity(0, cores)


@contextmanager
def pinned(command: list[str], env: dict[str, str], log_path: Path, name: str) -> Iterator[int]:
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["taskset", "-c", SERVICE_CORE, *command, "--port", str(port)],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process, name)  # type: ignore[arg-type]
            yield port
        finally:
            process.terminate()
            process.wait(20)


BARE = """
import sys, uvicorn
from fastapi import FastAPI, Request
app = FastAPI()
@app.post('/webhooks/telegram')
async def webhook(request: Request):
    await request.json()
    return {'ok': True}
@app.get('/healthz')
async def healthz():
    return {'ok': True}
uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[-1]), log_level='error')
"""


def bare_command() -> list[str]:
    return [sys.executable, "-c", BARE]


def lapor_command(workers: int) -> list[str]:
    command = [str(BIN / "lapor"), "--config", str(ROOT / "config.example.toml"), "serve"]
    if workers > 1:
        command += ["--workers", str(workers)]
    return command


@dataclass
class Figures:
    sent: int = 0
    seconds: float = 0.0
    ack: list[float] = field(default_factory=list)
    reply: list[float] = field(default_factory=list)
    replied: int = 0  # replies that arrived within the window
    all_replied_after: float = float("nan")  # burst: seconds until the last reply arrived
    rss: float = float("nan")

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else float("nan")

    def ack_ms(self, pct: float) -> float:
        return percentile(sorted(self.ack), pct)

    def reply_ms(self, pct: float) -> float:
        return percentile(sorted(self.reply), pct)


async def burst(base_url: str, fake: FakeBotApi | None, count: int, connections: int) -> Figures:
    """`count` first messages from `count` citizens, through `connections` connections."""
    figures = Figures()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def connection() -> None:
            while not queue.empty():
                n = queue.get_nowait()
                update = tg.text("halo", user=_user(1_000_000 + n))
                sent = time.perf_counter()
                response = await client.post("/webhooks/telegram", json=update, headers=HEADERS)
                figures.ack.append(time.perf_counter() - sent)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(connections)))
        figures.seconds = time.perf_counter() - started
        figures.sent = count
        if fake is not None:
            chats = [str(1_000_000 + n) for n in range(count)]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with fake.lock:
                    done = sum(1 for chat in chats if fake.replies.get(chat))
                if done == count:
                    break
                await asyncio.sleep(0.01)
            figures.replied = done
            with fake.lock:
                last = max((fake.replies[c][0] for c in chats if fake.replies.get(c)), default=0)
            figures.all_replied_after = last - started
    return figures


def _user(n: int) -> dict[str, Any]:
    return {"id": n, "is_bot": False, "first_name": f"Warga {n}"}


async def sustained(
    base_url: str,
    fake: FakeBotApi | None,
    rate: float,
    window: float,
    citizens: int,
    first_id: int,
    connections: int,
) -> Figures:
    """Offer `rate` messages/s for `window` s; citizens walk through the report script."""
    figures = Figures()
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    scripts = [citizen_script(first_id + n) for n in range(citizens)]  # chat = 900_000_000 + id
    position = [0] * citizens
    idle = list(range(citizens))
    tasks: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def one(n: int) -> None:
            chat = str(900_000_000 + first_id + n)
            update = scripts[n][position[n] % len(scripts[n])]
            position[n] += 1
            seen = len(fake.replies[chat]) if fake is not None else 0
            sent = time.perf_counter()
            response = await client.post("/webhooks/telegram", json=update, headers=HEADERS)
            acked = time.perf_counter()
            assert response.status_code == 200, response.text
            figures.ack.append(acked - sent)
            if fake is not None:
                while acked < end + 1.0:  # the reply must come within the window (+1 s)
                    with fake.lock:
                        times = fake.replies[chat]
                        arrived = times[seen] if len(times) > seen else None
                    if arrived is not None:
                        figures.reply.append(max(0.0, arrived - acked))
                        if arrived <= end + 1.0:
                            figures.replied += 1
                        break
                    if time.perf_counter() > end + 1.0:
                        break
                    await asyncio.sleep(0.002)
            idle.append(n)

        started = time.perf_counter()
        end = started + window
        interval = 1.0 / rate
        k = 0
        while True:
            due = started + k * interval
            now = time.perf_counter()
            if due >= end:
                break
            if due > now:
                await asyncio.sleep(due - now)
            if idle:
                task = asyncio.create_task(one(idle.pop(0)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                figures.sent += 1
            k += 1
        figures.seconds = window
        if tasks:
            await asyncio.wait(set(tasks), timeout=window + 30)
    return figures


async def unloaded(base_url: str, fake: FakeBotApi, count: int, first_id: int) -> Figures:
    """One message at a time: the reply latency with nothing else going on."""
    figures = Figures()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for n in range(count):
            user = _user(2_000_000 + first_id + n)
            chat = str(user["id"])
            sent = time.perf_counter()
            response = await client.post(
                "/webhooks/telegram", json=tg.text("halo", user=user), headers=HEADERS
            )
            acked = time.perf_counter()
            assert response.status_code == 200
            figures.ack.append(acked - sent)
            while not fake.replies.get(chat):
                await asyncio.sleep(0.0005)
                assert time.perf_counter() - acked < 30, "no reply"
            figures.reply.append(fake.replies[chat][0] - acked)
            figures.sent += 1
            await asyncio.sleep(0.02)
    return figures


@dataclass
class Run:
    burst: Figures
    sustained: dict[float, Figures]
    unloaded: Figures | None = None


def measure_bare(args: argparse.Namespace, tmp: Path) -> Run:
    with pinned(bare_command(), {}, tmp / "bare.log", "bare FastAPI") as port:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(burst(url, None, min(500, args.burst), args.connections))  # warm-up
        result = Run(asyncio.run(burst(url, None, args.burst, args.connections)), {})
        for share in args.shares:
            rate = share * result.burst.rate
            result.sustained[share] = asyncio.run(
                sustained(url, None, rate, args.window, args.citizens, 0, args.connections)
            )
    return result


def measure_lapor(args: argparse.Namespace, tmp: Path, bare: Run) -> Run:
    fake = FakeBotApi()
    with serve_in_thread(fake.app()) as api_base:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        env = service_env(url, api_base, str(tmp / "media"))
        if args.redis_url:
            env["LAPOR_STORAGE__REDIS_URL"] = args.redis_url
        if args.answer_first:
            env["LAPOR_SERVICE__ANSWER_BEFORE_PROCESSING"] = "true"
        if not url.startswith("sqlite"):
            subprocess.run(
                [str(BIN / "lapor"), "--config", str(ROOT / "config.example.toml"), "migrate"],
                env={**os.environ, **env},
                check=True,
                cwd=ROOT,
                capture_output=True,
            )
        command = lapor_command(args.workers)
        with pinned(command, env, tmp / "service.log", "lapor serve") as port:
            base = f"http://127.0.0.1:{port}"
            result = Run(asyncio.run(burst(base, fake, args.burst, args.connections)), {})
            first = 0
            for share in args.shares:
                rate = share * bare.burst.rate
                result.sustained[share] = asyncio.run(
                    sustained(base, fake, rate, args.window, args.citizens, first, args.connections)
                )
                first += args.citizens
            result.unloaded = asyncio.run(unloaded(base, fake, args.unloaded, 0))
            result.burst.rss = service_rss(port)
    return result


def service_rss(port: int) -> float:
    """Resident memory of the process(es) listening on `port` (the largest worker)."""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True)
    pids = {int(p.split("=")[1]) for p in out.stdout.replace(",", " ").split() if "pid=" in p}
    children: set[int] = set()
    for pid in pids:
        path = Path(f"/proc/{pid}/task/{pid}/children")
        if path.exists():
            children |= {int(c) for c in path.read_text().split()}
    sizes = [rss_mib(pid) for pid in (children or pids)]
    return max(sizes) if sizes else float("nan")


def report(args: argparse.Namespace, lapor: Run, bare: Run) -> None:
    kind = (args.database_url or "sqlite").split(":", 1)[0].split("+")[0]
    redis = " + redis" if args.redis_url else ""
    answer = ", answer_before_processing" if args.answer_first else ""
    print(
        f"database {kind}{redis}, {args.workers} worker(s) pinned to core {SERVICE_CORE}, "
        f"{args.connections} connections{answer}"
    )
    b, lb = bare.burst, lapor.burst
    print(f"{'':<26}{'lapor':>12}{'bare':>12}{'ratio':>9}")

    def row(name: str, ours: float, theirs: float, unit: str = "") -> None:
        ratio = ours / theirs if theirs == theirs and theirs else float("nan")
        print(f"{name:<26}{ours:>10.1f}{unit:<2}{theirs:>10.1f}{unit:<2}{ratio:>8.2f}x")

    print(f"burst of {args.burst}:")
    row("  acks/s", lb.rate, b.rate)
    row("  ack p50 ms", lb.ack_ms(50), b.ack_ms(50))
    row("  ack p99 ms", lb.ack_ms(99), b.ack_ms(99))
    print(f"  replies {lb.replied}/{args.burst}, all sent {lb.all_replied_after:.1f} s after start")
    for share, ours in lapor.sustained.items():
        theirs = bare.sustained[share]
        print(f"sustained {share:.0%} of bare ({ours.sent / args.window:.0f}/s offered):")
        row("  acks/s", ours.sent / ours.seconds, theirs.sent / theirs.seconds)
        row("  ack p50 ms", ours.ack_ms(50), theirs.ack_ms(50))
        row("  ack p99 ms", ours.ack_ms(99), theirs.ack_ms(99))
        print(
            f"  replies within the window: {ours.replied}/{ours.sent}, "
            f"reply p50 {ours.reply_ms(50):.1f} ms p99 {ours.reply_ms(99):.1f} ms"
        )
    if lapor.unloaded is not None:
        u = lapor.unloaded
        print(f"unloaded: reply p50 {u.reply_ms(50):.1f} ms, p99 {u.reply_ms(99):.1f} ms")
    print(f"resident memory (largest worker) at the end: {lb.rss:.0f} MiB")
    print(
        f"cold start to /healthz: lapor {STARTUP.get('lapor serve', float('nan')):.2f} s, "
        f"bare {STARTUP.get('bare FastAPI', float('nan')):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--shares", default="0.25,0.5")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--unloaded", type=int, default=100)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--answer-first",
        action="store_true",
        help="service.answer_before_processing = true (answer once stored, process right after)",
    )
    args = parser.parse_args()
    args.shares = [float(s) for s in args.shares.split(",") if s]
    pin_self()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bare = measure_bare(args, tmp)
        lapor = measure_lapor(args, tmp, bare)
    report(args, lapor, bare)


if __name__ == "__main__":
    main()
