"""Run `lapor serve` as real subprocesses on loopback ports, for scale-out and crash tests.

    with ServiceProcess(env) as a, ServiceProcess(env) as b:
        httpx.post(f"{a.base_url}/webhooks/telegram", ...)
        a.kill()          # SIGKILL: no clean-up, like a crashed machine
        a.start()         # same port, same configuration

The configuration is config.example.toml plus `LAPOR_*` overrides (`service_env`); every line
the process logs goes to a file (`log_text()`), so tests can read it (e.g. to scan for secrets).
Also `ThreadedApp`: the app served by uvicorn in a background thread, for synchronous tests
(hypothesis) that need a running service in the test process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import httpx
import redis
from app_server import API_TOKEN, ROOT
from fastapi import FastAPI
from loopback import LoopbackServer, loopback_socket

from bot.scaling.cluster import namespace_for


def free_port() -> int:
    with loopback_socket() as sock:
        port: int = sock.getsockname()[1]
        return port


def service_env(database_url: str, tmp_path: Path, **overrides: str) -> dict[str, str]:
    """The environment of a service process: no inherited LAPOR_* keys, the example
    configuration, the given database, a media directory under `tmp_path`, the test API token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAPOR_")}
    env.update(
        {
            "LAPOR_CONFIG": str(ROOT / "config.example.toml"),
            "LAPOR_STORAGE__DATABASE_URL": database_url,
            "LAPOR_STORAGE__MEDIA_DIR": str(tmp_path / "media"),
            "LAPOR_SERVICE__API_TOKENS": f'["{API_TOKEN}"]',
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(overrides)
    return env


def forget_redis_keys(database_url: str, redis_url: str) -> None:
    """Delete the Redis keys of the deployment on `database_url` (after a test)."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"lapor:{namespace_for(database_url)}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


class ServiceProcess:
    """One `lapor serve` process (or a `--workers N` group) on a fixed loopback port."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 1,
        port: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.env = dict(env)
        self.workers = workers
        self.port = port or free_port()
        self.log_path = log_path or Path(self.env["LAPOR_STORAGE__MEDIA_DIR"]).parent / (
            f"serve-{self.port}.log"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0, *, wait: bool = True) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port)]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            command, env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"lapor serve exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"lapor serve did not start:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the process (and, for `--workers`, nothing else: children see their parent
        go and stop by themselves)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_log()

    def children(self) -> list[int]:
        """Process ids of the worker processes (for `--workers N`)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            pids = [int(p) for p in path.read_text().split()]
        except OSError:
            return []
        workers = []
        for pid in pids:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in command:  # multiprocessing's helper, not a worker
                workers.append(pid)
        return workers

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ThreadedApp:
    """`app` (lifespan included) under uvicorn in a background thread with its own event loop.

    `run(coro)` runs a coroutine on that loop (e.g. a store query) from synchronous code.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._server = LoopbackServer(app, "the app", lifespan="on", timeout=20)
        self.base_url = ""

    def __enter__(self) -> ThreadedApp:
        self.base_url = self._server.start()
        return self

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return self._server.run(coro, timeout)

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


# -- citizens with scripted conversations -------------------------------------------------------

KELURAHAN = (
    "Oro-oro Ombo", "Sukosari", "Klegen", "Rejomulyo", "Pilangbango", "Tawangrejo", "Kanigoro",
    "Kartoharjo", "Kelun", "Manguharjo", "Sogaten", "Patihan", "Ngegong", "Winongo",
    "Madiun Lor", "Pangongangan", "Nambangan Lor", "Nambangan Kidul", "Mojorejo", "Pandean",
    "Banjarejo", "Kuncen", "Manisrejo", "Kejuron", "Josenan", "Demangan", "Taman",
)  # fmt: skip


def citizen(n: int) -> dict[str, Any]:
    """A Telegram user (private chat id = user id) distinct for each n."""
    return {"id": 555100000 + n, "is_bot": False, "first_name": f"Warga{n}", "language_code": "id"}


def text_script(n: int) -> list[tuple[str, tuple[str, ...]]]:
    """(what citizen n types, a fragment of each reply it gets): a whole report, text only.
    Each citizen reports from another kelurahan, so no report looks like a duplicate of another."""
    return [
        ("halo", ("Apakah Anda setuju?",)),
        ("ya", ("Ceritakan",)),
        ("PDAM mati dari kemarin, air gak ngalir", ("Air Bersih",)),
        ("ya", ("Di mana",)),
        (f"Jl. Salak {n + 1}, kel. {KELURAHAN[n % len(KELURAHAN)]}", ("Lokasi:", "Kirim foto")),
        ("lewati", ("privasi",)),
        ("biasa", ("Periksa",)),
        ("kirim", ("MDN-",)),
    ]


def expected_replies(n: int) -> list[str]:
    """A fragment of every reply citizen n gets for `text_script(n)`, in order."""
    return [fragment for _, fragments in text_script(n) for fragment in fragments]
