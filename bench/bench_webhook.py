"""Webhook benchmark: simulated citizens file reports through POST /webhooks/telegram.

The service runs as a real `lapor serve` process on loopback, talking to a minimal fake Bot API
served by this process. Each simulated citizen sends the next message only after the bot's reply
has reached the fake API, as a person would. Printed:

- messages per second through the webhook (all citizens together);
- acknowledgement latency p50/p99 (POST sent -> 200 received);
- reply latency p99 (200 received -> the reply arrives at the fake Bot API);
- the service's resident memory at the end, and its cold start (process start -> /healthz 200);
- beside it, in the same run and with the same load generator, a bare FastAPI endpoint, and the
  ratios of the two.

    python bench/bench_webhook.py [--citizens 60] [--concurrency 20] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import telegram_updates as tg  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402

TOKEN = "4242:bench-token-not-secret"
SECRET = "bench-webhook-secret"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FakeBotApi:
    """Answers the Bot API calls the service makes and notes when each chat got a reply."""

    replies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)
    message_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))

    def app(self) -> Starlette:
        async def method(request: Request) -> JSONResponse:
            name = request.path_params["method"]
            params = await _params(request)
            if name in ("sendMessage", "sendPhoto", "sendLocation"):
                chat = str(params.get("chat_id"))
                with self.lock:
                    self.replies[chat].append(time.perf_counter())
                result: Any = {
                    "message_id": next(self.message_ids),
                    "date": int(time.time()),
                    "chat": {"id": int(chat), "type": "private"},
                    "text": params.get("text", ""),
                }
            else:
                result = True
            return JSONResponse({"ok": True, "result": result})

        return Starlette(routes=[Route("/bot{token}/{method}", method, methods=["POST", "GET"])])


async def _params(request: Request) -> dict[str, Any]:
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        data = json.loads(body or b"{}")
        return data if isinstance(data, dict) else {}
    return {k: v[0] for k, v in parse_qs(body.decode()).items()}


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    server = LoopbackServer(app, "fake Bot API")
    try:
        yield server.start()
    finally:
        server.stop()


@contextmanager
def service_process(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, int]]:
    """`lapor serve` in a subprocess; yields its base URL and pid."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "lapor"),
                "--config",
                str(ROOT / "config.example.toml"),
                "serve",
                "--port",
                str(port),
            ],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", process, "lapor serve")
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            process.wait(20)


STARTUP: dict[str, float] = {}  # cold start in seconds, by what was started


def wait_until_up(url: str, process: subprocess.Popen[bytes], name: str = "") -> None:
    started = time.monotonic()
    deadline = started + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                if name:
                    STARTUP[name] = time.monotonic() - started
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("service did not start")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def citizen_script(n: int) -> list[dict[str, Any]]:
    user = {"id": 900_000_000 + n, "is_bot": False, "first_name": f"Warga {n}"}
    return [
        tg.text("halo", user=user),
        tg.callback_query("agree", user=user),
        tg.text("sampah numpuk udh 3 hari gk diangkut di pinggir jalan", user=user),
        tg.callback_query("yes", user=user),
        tg.location(-7.6298, 111.5239, user=user),
        tg.callback_query("skip", user=user),
        tg.callback_query("priv:normal", user=user),
        tg.callback_query("send", user=user),
    ]


@dataclass
class LoadResult:
    requests: int
    seconds: float
    ack: list[float]
    reply: list[float]

    def line(self, name: str) -> str:
        ack = sorted(self.ack)
        text = (
            f"{name:<28} {self.requests / self.seconds:8.0f} msg/s   ack p50 "
            f"{percentile(ack, 50):6.1f} ms  p99 {percentile(ack, 99):6.1f} ms"
        )
        if self.reply:
            text += f"   reply p99 {percentile(sorted(self.reply), 99):6.1f} ms"
        return text


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values)) - 1))
    return values[index] * 1000


async def drive_citizens(
    base_url: str, fake: FakeBotApi, citizens: int, concurrency: int
) -> LoadResult:
    semaphore = asyncio.Semaphore(concurrency)
    ack: list[float] = []
    reply: list[float] = []
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def one(n: int) -> None:
            chat = str(900_000_000 + n)
            async with semaphore:
                for update in citizen_script(n):
                    seen = len(fake.replies[chat])
                    sent = time.perf_counter()
                    response = await client.post("/webhooks/telegram", json=update, headers=headers)
                    acked = time.perf_counter()
                    assert response.status_code == 200, response.text
                    ack.append(acked - sent)
                    arrived = await wait_for_reply(fake, chat, seen)
                    reply.append(max(0.0, arrived - acked))

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(citizens)))
        elapsed = time.perf_counter() - started
    return LoadResult(len(ack), elapsed, ack, reply)


async def wait_for_reply(fake: FakeBotApi, chat: str, seen: int, within: float = 30.0) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with fake.lock:
            times = fake.replies[chat]
            if len(times) > seen:
                return times[seen]
        await asyncio.sleep(0.001)
    raise TimeoutError(f"no reply for chat {chat}")


async def drive_baseline(base_url: str, requests: int, concurrency: int) -> LoadResult:
    semaphore = asyncio.Semaphore(concurrency)
    ack: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    body = tg.text("halo")
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as client:

        async def one() -> None:
            async with semaphore:
                sent = time.perf_counter()
                response = await client.post("/webhook", json=body)
                ack.append(time.perf_counter() - sent)
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        elapsed = time.perf_counter() - started
    return LoadResult(len(ack), elapsed, ack, [])


@contextmanager
def baseline_process() -> Iterator[str]:
    """A bare FastAPI app with one POST endpoint, under the same uvicorn, in a subprocess."""
    port = free_port()
    code = (
        "import uvicorn\n"
        "from fastapi import FastAPI, Request\n"
        "app = FastAPI()\n"
        "@app.post('/webhook')\n"
        "async def webhook(request: Request):\n"
        "    await request.json()\n"
        "    return {'ok': True}\n"
        "@app.get('/healthz')\n"
        "async def healthz():\n"
        "    return {'ok': True}\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='error')\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process, "bare FastAPI")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(20)


def service_env(database_url: str, api_base: str, media_dir: str) -> dict[str, str]:
    return {
        "LAPOR_STORAGE__DATABASE_URL": database_url,
        "LAPOR_STORAGE__MEDIA_DIR": media_dir,
        "LAPOR_CHANNELS__TELEGRAM__ENABLED": "true",
        "LAPOR_CHANNELS__TELEGRAM__TOKEN": TOKEN,
        "LAPOR_CHANNELS__TELEGRAM__API_BASE": api_base,
        "LAPOR_CHANNELS__TELEGRAM__MODE": "webhook",
        "LAPOR_CHANNELS__TELEGRAM__WEBHOOK_SECRET": SECRET,
        "LAPOR_SERVICE__PUBLIC_URL": "https://bench.invalid",
    }


def run(
    citizens: int,
    concurrency: int,
    database_url: str,
    tmp: Path,
    *,
    prepare: Callable[[str], None] | None = None,
) -> tuple[LoadResult, float, LoadResult]:
    fake = FakeBotApi()
    with serve_in_thread(fake.app()) as api_base:
        env = service_env(database_url, api_base, str(tmp / "media"))
        if prepare:
            prepare(database_url)
        with service_process(env, tmp / "service.log") as (base_url, pid):
            result = asyncio.run(drive_citizens(base_url, fake, citizens, concurrency))
            memory = rss_mib(pid)
    with baseline_process() as base_url:
        baseline = asyncio.run(drive_baseline(base_url, result.requests, concurrency))
    return result, memory, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        result, memory, baseline = run(args.citizens, args.concurrency, url, tmp)
    kind = url.split(":", 1)[0]
    print(
        f"{args.citizens} citizens x {len(citizen_script(0))} messages, "
        f"{args.concurrency} at a time, database {kind}"
    )
    print(result.line("lapor serve (1 worker)"))
    print(baseline.line("bare FastAPI endpoint"))
    print(f"service resident memory at the end: {memory:.0f} MiB")
    print(
        f"cold start to /healthz: lapor serve {STARTUP.get('lapor serve', float('nan')):.2f} s, "
        f"bare FastAPI {STARTUP.get('bare FastAPI', float('nan')):.2f} s"
    )
    print(ratios(result, baseline))


def ratios(result: LoadResult, baseline: LoadResult) -> str:
    """lapor / bare: throughput (higher is better) and acknowledgement latency (lower is)."""
    ours, bare = sorted(result.ack), sorted(baseline.ack)
    throughput = (result.requests / result.seconds) / (baseline.requests / baseline.seconds)
    return (
        f"ratio lapor/bare: throughput {throughput:.2f}x, "
        f"ack p50 {percentile(ours, 50) / percentile(bare, 50):.1f}x, "
        f"ack p99 {percentile(ours, 99) / percentile(bare, 99):.1f}x"
    )


if __name__ == "__main__":
    main()
