"""The alert webhook: an httpx POST of a JSON body, retried on connection errors, 429 and 5xx."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from valiqor_trace.internal import log_once

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("valiqor_trace.monitor")
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class Webhook:
    """POSTs alerts to ``url``.

    Args:
        url: the receiver.
        headers: extra headers (e.g. ``Authorization``); never logged.
        timeout_s: per attempt.
        max_attempts: attempts in all (1 = no retry).
        backoff_s: pause before the second attempt, doubling after each further one.
        transport: an httpx transport (tests pass ``httpx.MockTransport``).
        sleep: how to pause between attempts (tests pass a fake).
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None, timeout_s: float = 5.0,
                 max_attempts: int = 3, backoff_s: float = 0.5, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        # httpx is imported here, not at module level: the monitor imports this module on its worker
        # thread, and a module half-imported there is visible to the app's threads (the openai SDK
        # reads sys.modules["httpx"] directly). init() imports httpx up front when a webhook is set.
        import httpx

        self._httpx = httpx
        self.url = url
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._client = httpx.Client(timeout=timeout_s, transport=transport,
                                    headers={"User-Agent": "valiqor-trace-monitor", **dict(headers or {})})

    def post(self, payload: dict[str, Any]) -> bool:
        """Deliver ``payload``; True on a 2xx answer, False after the last failed attempt (logged once)."""
        problem, attempts = "", 0
        for attempt in range(self.max_attempts):
            attempts += 1
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self._client.post(self.url, json=payload)
            except self._httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.is_success:
                return True
            problem = f"HTTP {response.status_code}"
            if response.status_code not in _RETRY_STATUS:
                break
        logger.warning("valiqor monitor: alert webhook failed for trace %s after %d attempt(s): %s",
                       payload.get("trace_id"), attempts, problem)
        # The URL is not logged: webhook URLs (Slack, Teams) often carry their secret in the path.
        log_once(f"webhook-failing:{id(self)}", "valiqor monitor: the alert webhook is failing; failed deliveries "
                 "are counted in handle.monitor.stats.alert_failures")
        return False

    def close(self) -> None:
        self._client.close()
