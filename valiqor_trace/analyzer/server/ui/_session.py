"""Browser sessions of the web UI: a login with an API key sets an HttpOnly, SameSite=Strict cookie.

The cookie holds a random token, never the key; tokens live in this process's memory (a restarted
server asks for the key again) and expire after :data:`SESSION_TTL_S`. SameSite=Strict keeps other
sites' pages from sending it, so a request carrying it comes from the UI itself.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

COOKIE = "valiqor_session"
SESSION_TTL_S = 12 * 3600.0
_MAX_SESSIONS = 10_000


class Sessions:
    """The valid session tokens of one server."""

    def __init__(self, keys: Sequence[str], clock: Callable[[], float] = time.monotonic) -> None:
        self._keys = [key.encode() for key in keys]
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def login(self, key: str) -> str | None:
        """A new session token when ``key`` is one of the server's keys, else None."""
        matched = [hmac.compare_digest(key.encode(), known) for known in self._keys]  # no early exit
        if not any(matched):
            return None
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            if len(self._tokens) >= _MAX_SESSIONS:  # drop expired ones, then the oldest
                self._tokens = {t: at for t, at in self._tokens.items() if now - at < SESSION_TTL_S}
                while len(self._tokens) >= _MAX_SESSIONS:
                    self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = now
        return token

    def logout(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            started = self._tokens.get(token)
            if started is None:
                return False
            if self._clock() - started >= SESSION_TTL_S:
                del self._tokens[token]
                return False
        return True

    def valid_scope(self, scope: dict[str, Any]) -> bool:
        """Whether an ASGI request carries a valid session cookie."""
        return self.valid(cookie_of(scope, COOKIE))

    @staticmethod
    def login_url(path: str) -> str:
        return f"/login?next={quote(path, safe='/')}"


def cookie_of(scope: dict[str, Any], name: str) -> str | None:
    for header, value in scope.get("headers", ()):
        if header == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, token = part.strip().partition("=")
                if key == name:
                    return token
    return None


def safe_next(value: str | None) -> str:
    """Where to go after login: a path on this server only (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
