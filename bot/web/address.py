"""Refuse a request whose address (path or query) holds a NUL character, as plain ASGI middleware.

PostgreSQL cannot store or even compare text with U+0000, so ``/api/reports?status=%00`` or a
ticket ``MDN%00`` would fail deep in a query. No route has a use for one: 400, before routing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.web.limits import answer


class NoNulInAddress:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            await answer(send, 400, "the address holds a NUL character (%00)")
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope.get("path", "") or b"\x00" in query or b"%00" in query
