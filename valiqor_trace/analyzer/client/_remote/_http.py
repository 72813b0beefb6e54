"""The remote client's HTTP session: timeouts, retries with backoff, typed errors.

Retried, with exponential backoff and jitter: connection failures (the
request never reached the server, so even a POST is safe to resend), and
answers 429/502/503/504 (the server did nothing), honouring ``Retry-After``
up to ``max_retry_wait_s``; a longer wait is the caller's decision, so it is
raised as :class:`RateLimitError` with ``retry_after_s``. Other error answers
become the same typed errors the embedded engine raises.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from valiqor_trace.errors import AuthenticationError, RateLimitError, ServerUnavailableError, ValiqorError
from valiqor_trace.analyzer.server._errors import error_from_body
from valiqor_trace.internal import split_credentials, without_password

logger = logging.getLogger("valiqor_trace.client")
_RETRY_STATUSES = (429, 502, 503, 504)
_IDEMPOTENT = ("GET", "HEAD")


class RemoteSession:
    """One ``httpx.Client`` to a ``valiqor serve`` server.

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:4318``.
        api_key: sent as ``Authorization: Bearer``; never logged.
        timeout_s: connect/write/pool timeout; reads get ``timeout_s`` plus what the call itself waits.
        max_retries: attempts after the first for retryable failures.
        backoff_s: first backoff; it doubles per attempt (with jitter).
        max_retry_wait_s: longest ``Retry-After`` honoured by waiting.
        transport: the ``httpx`` transport to send with (default: the network); tests inject faults with
            ``httpx.MockTransport``. The session always builds its own ``httpx.Client`` around it, so the
            timeouts and errors it handles are always this library's.
        sleep: injectable for tests.
    """

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout_s: float = 10.0,
                 max_retries: int = 4, backoff_s: float = 0.25, max_retry_wait_s: float = 10.0,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.shown_url = without_password(self.base_url)  # what messages name: never a user:password@
        self._root, auth = split_credentials(self.base_url)  # sent as basic auth, not in the (logged) URL
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_retry_wait_s = max_retry_wait_s
        self._sleep = sleep
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(transport=transport, timeout=timeout_s, auth=auth)

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                content: bytes | None = None, wait_s: float = 0.0) -> Any:
        """Send, retrying what is safe to retry, and return the decoded JSON of a 2xx answer.

        Args:
            wait_s: how long the server may legitimately take (a run, a trace wait): added to the read timeout.

        Raises:
            the typed error of the server's answer, or ServerUnavailableError.
        """
        url, shown = f"{self._root}{path}", f"{self.shown_url}{path}"
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        timeout = httpx.Timeout(self.timeout_s, read=self.timeout_s + wait_s)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.request(method, url, params=query, json=json, content=content,
                                                headers=self._headers, timeout=timeout)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise ServerUnavailableError(
                        f"cannot reach the valiqor server at {self.shown_url} ({type(exc).__name__}: {exc}) after "
                        f"{attempt + 1} attempt(s); is `valiqor serve` running there?") from None
                self._backoff(attempt, None, f"{type(exc).__name__}")
                continue
            except httpx.TransportError as exc:
                if method not in _IDEMPOTENT or last:  # a POST may have been executed: do not repeat it
                    raise ServerUnavailableError(f"{method} {shown} failed: {type(exc).__name__}: {exc}") from None
                self._backoff(attempt, None, type(exc).__name__)
                continue
            if response.status_code in _RETRY_STATUSES and not last:
                retry_after = _retry_after(response)
                if retry_after is None or retry_after <= self.max_retry_wait_s:
                    self._backoff(attempt, retry_after, f"HTTP {response.status_code}")
                    continue
            return _decoded(response, method, shown)
        raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises

    def _backoff(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = retry_after if retry_after is not None else self.backoff_s * 2 ** attempt * (0.5 + random.random())
        logger.debug("valiqor server: %s; retry %d in %.2fs", why, attempt + 1, delay)
        self._sleep(delay)


def _param(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def _decoded(response: httpx.Response, method: str, url: str) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success:
        if body is None and response.content:
            raise ValiqorError(f"{method} {url}: the server answered {response.status_code} with a body that is "
                               "not JSON; is base_url a valiqor server?")
        return body
    fallback = f"{method} {url}: HTTP {response.status_code} {response.reason_phrase}"
    if body is None:
        if response.status_code in (401, 403):
            return _raise(AuthenticationError(fallback))
        if response.status_code == 429:
            return _raise(RateLimitError(fallback, retry_after_s=_retry_after(response)))
        if response.status_code >= 500:
            return _raise(ServerUnavailableError(fallback))
    error = error_from_body(response.status_code, body, fallback)
    if isinstance(error, RateLimitError) and error.retry_after_s is None:
        error.retry_after_s = _retry_after(response)
    raise error


def _raise(error: Exception) -> Any:
    raise error
