"""The web UI of ``valiqor serve`` (and ``valiqor ui``): traces, a trace's waterfall, FA runs, monitoring, taxonomy.

Server-rendered Jinja2 pages over the REST API's own handlers, a small script and a chart library shipped as
static files: no Node.js, no build step, no CDN. Every response carries a strict Content-Security-Policy
(:class:`SecurityHeaders`): scripts and styles only from this server, no inline script or handler.
"""

from __future__ import annotations

from typing import Any

from valiqor_trace.analyzer.server.ui._pages import UI
from valiqor_trace.analyzer.server.ui._session import Sessions

__all__ = ["CSP", "SecurityHeaders", "Sessions", "UI"]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    """ASGI middleware adding the CSP and its companions to every HTTP response (API answers too: harmless,
    and a JSON body opened in a browser tab can run nothing either)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(header for header in _HEADERS if header[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
