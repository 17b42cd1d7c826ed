"""Run an ASGI app under uvicorn in a background thread on a free loopback port.

The fake platform APIs (Telegram, WhatsApp, SMS), the benchmarks and the synchronous tests that
need a running service (`procs.ThreadedApp`) serve themselves this way, so they work from sync
and async code alike. `LoopbackFake` is the base of the fake platform APIs: it serves the
fake's `app()`, records calls under a lock and hands out the failures a test asked for.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any, Literal, Protocol, Self, TypeVar

import uvicorn


def loopback_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (not yet listening)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
    sock.bind(("127.0.0.1", 0))
    return sock


class LoopbackServer:
    """`app` under uvicorn in a thread with its own event loop (`loop`, while it runs)."""

    def __init__(
        self,
        app: Any,
        name: str,
        *,
        lifespan: Literal["on", "off"] = "off",
        timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.name = name
        self.lifespan = lifespan
        self.timeout = timeout
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Start serving; returns the base URL, e.g. "http://127.0.0.1:40123"."""
        sock = loopback_socket()
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan=self.lifespan, access_log=False
        )
        server = uvicorn.Server(config)

        async def serve() -> None:
            self.loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + self.timeout
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.005)
        return f"http://127.0.0.1:{port}"

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run `coro` on the server's event loop (from another thread) and return its result."""
        assert self.loop is not None, f"{self.name} is not running"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=self.timeout)
        self._server = self._thread = None
        self.loop = None


class _Counted(Protocol):
    count: int


_F = TypeVar("_F", bound=_Counted)


class LoopbackFake:
    """The base of a fake platform API: `app()` served on loopback, at `base_url` once started.

    Use it as a context manager (``with FakeX() as fake:``) or call `start()` and `stop()`.
    Subclasses append what they receive to `calls` under `_lock`, and queue the failures a test
    asks for as objects with a `count`, taken one request at a time by `_take_next`.
    """

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.base_url = ""
        self._lock = threading.Lock()
        self._loopback: LoopbackServer | None = None

    def app(self) -> Any:
        raise NotImplementedError

    def start(self) -> Self:
        self._loopback = LoopbackServer(self.app(), type(self).__name__)
        self.base_url = self._loopback.start()
        return self

    def stop(self) -> None:
        if self._loopback is not None:
            self._loopback.stop()
        self._loopback = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _take_next(self, queue: list[_F] | None) -> _F | None:
        """The first failure of `queue`, counted down (and dropped when used up), or None."""
        with self._lock:
            if not queue:
                return None
            failure = queue[0]
            failure.count -= 1
            if failure.count <= 0:
                queue.pop(0)
            return failure
