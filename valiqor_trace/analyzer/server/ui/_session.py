"""Browser sessions of the web UI: a login with an API key sets an HttpOnly, SameSite=Strict cookie.

The cookie is stateless, so a login on one replica is valid on every replica behind a load balancer: it
holds when it was issued, a random nonce and an HMAC-SHA256 of both, signed with a secret derived from
the API key that logged in (never the key itself). Any server configured with that key accepts it until
:data:`SESSION_TTL_S` after it was issued; removing the key from the servers ends its sessions. Logging
out deletes the cookie in the browser; a copy of it taken before stays valid until it expires (keep
the TTL short, or rotate the key, if that matters). SameSite=Strict keeps other sites' pages from
sending it, so a request carrying it comes from the UI itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

COOKIE = "valiqor_session"
SESSION_TTL_S = 12 * 3600.0
_CLOCK_SKEW_S = 60.0  # replicas' clocks may differ a little
_DERIVE = b"valiqor-trace ui session v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Sessions:
    """Issue and check the UI's session cookies for the server's keys.

    Args:
        keys: the server's API keys.
        clock: wall-clock seconds (shared by replicas, unlike a monotonic clock).
    """

    def __init__(self, keys: Sequence[str], clock: Callable[[], float] = time.time) -> None:
        self._keys = [key.encode() for key in keys]
        self._secrets = [hmac.new(_DERIVE, key, hashlib.sha256).digest() for key in self._keys]
        self._clock = clock

    def login(self, key: str) -> str | None:
        """A new session token when ``key`` is one of the server's keys, else None."""
        matched = [hmac.compare_digest(key.encode(), known) for known in self._keys]  # no early exit
        if not any(matched):
            return None
        payload = f"{int(self._clock())}.{_b64(secrets.token_bytes(16))}"
        return f"{payload}.{self._sign(self._secrets[matched.index(True)], payload)}"

    def logout(self, token: str | None) -> None:
        """Nothing to forget on the server: the cookie is deleted in the browser (see the module docstring)."""

    def valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 2:
            return False
        payload, _, signature = token.rpartition(".")
        issued = payload.partition(".")[0]
        if not issued.isdigit():
            return False
        age = self._clock() - int(issued)
        if not -_CLOCK_SKEW_S <= age < SESSION_TTL_S:
            return False
        checks = [hmac.compare_digest(signature, self._sign(secret, payload)) for secret in self._secrets]
        return any(checks)

    @staticmethod
    def _sign(secret: bytes, payload: str) -> str:
        return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())

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
