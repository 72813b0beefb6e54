"""API keys: every path but ``/health`` (and the UI's login page and static files) needs a key when keys are set.

Programs send ``Authorization: Bearer <key>``; a browser logs in once with the key at ``/login`` and then
sends the session cookie that login set (:mod:`valiqor_trace.analyzer.server.ui._session`). A browser
without a session asking for a page is sent to the login page; everything else gets the 401.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any

from starlette.responses import RedirectResponse

from valiqor_trace.errors import AuthenticationError
from valiqor_trace.analyzer.server._endpoints import error_response

OPEN_PATHS = frozenset({"/health", "/login"})
OPEN_PREFIXES = ("/static/",)
_API_PREFIXES = ("/api/", "/v1/", "/openapi.json")
_HOW = ("send 'Authorization: Bearer <key>' with a key given to `valiqor serve --api-key` "
        "(ValiqorClient(api_key=...) or VALIQOR_API_KEY; OTLP exporters: "
        "OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer%20<key>')")


def auth_problem(header: bytes | None, keys: Sequence[bytes]) -> str | None:
    """What is wrong with an Authorization header, or ``None`` when it carries a valid key."""
    if header is None or not header.strip():
        return f"missing API key: this server requires one; {_HOW}"
    scheme, _, token = header.strip().partition(b" ")
    if scheme.lower() != b"bearer" or not token.strip():
        return f"the Authorization header is not a bearer token; {_HOW}"
    token = token.strip()
    # compare with every key (no early exit) so timing does not tell which prefix matched
    matched = [hmac.compare_digest(token, key) for key in keys]
    if not any(matched):
        return "the API key is not valid for this server; check the key given to ValiqorClient / VALIQOR_API_KEY"
    return None


class BearerAuth:
    """ASGI middleware refusing requests without a valid key (401, ``WWW-Authenticate: Bearer``).

    ``sessions`` (the web UI's) lets a request through on a valid session cookie instead of the header.
    """

    def __init__(self, app: Any, keys: Sequence[str], sessions: Any = None) -> None:
        self.app = app
        self.keys = [key.encode() for key in keys]
        self.sessions = sessions

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not self.keys or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        header = next((value for name, value in scope["headers"] if name == b"authorization"), None)
        problem = auth_problem(header, self.keys)
        if problem is None or (header is None and self.sessions is not None and self.sessions.valid_scope(scope)):
            await self.app(scope, receive, send)
            return
        if header is None and self.sessions is not None and not path.startswith(_API_PREFIXES):
            await RedirectResponse(self.sessions.login_url(path), status_code=303)(scope, receive, send)
            return
        await error_response(AuthenticationError(problem))(scope, receive, send)
