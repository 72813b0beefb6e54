"""A small OpenAI-compatible Chat Completions client over httpx (no ``openai`` package needed).

Retries 429, 5xx, timeouts and connection errors with exponential backoff, honouring
``Retry-After`` / ``retry-after-ms``; a 401/403 raises :class:`JudgeAuthenticationError`
naming where the key came from (never the key). Every request runs under
``suppress_instrumentation()``, so neither our instrumentors nor OTel's httpx
instrumentation records it in the user's traces.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from valiqor_trace.errors import JudgeAuthenticationError, JudgeRequestError
from valiqor_trace.analyzer.judge._settings import JudgeSettings
from valiqor_trace.internal import split_credentials, suppress_instrumentation

logger = logging.getLogger("valiqor_trace.analyzer.judge")

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0  # the longest Retry-After we wait out


class SchemaNotSupported(Exception):
    """The server rejected ``response_format={"type": "json_schema"}`` (HTTP 400/422 naming it).

    Internal: raised only for a request that sent ``response_format``, and the judge answers it
    at once by asking again with plain JSON instructions, so it never reaches a caller.
    """


@dataclass
class ChatReply:
    """The text of the first choice and what the request cost."""

    content: str
    tokens: int
    requests: int


class ChatClient:
    """POST ``/chat/completions`` with retries; thread-safe; at most ``settings.concurrency`` requests at once."""

    def __init__(self, settings: JudgeSettings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(settings.concurrency)
        headers = {"Content-Type": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        limits = httpx.Limits(max_connections=settings.concurrency, max_keepalive_connections=settings.concurrency)
        self._url, auth = split_credentials(settings.chat_url)  # sent as basic auth, not in the (logged) URL
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(settings.timeout_s), limits=limits,
                                  transport=transport, auth=auth)

    def close(self) -> None:
        self._http.close()

    def complete(self, body: dict[str, Any]) -> ChatReply:
        """Send one chat request (retrying as the module docstring says) and return the first choice's text.

        Raises:
            JudgeAuthenticationError: HTTP 401/403.
            SchemaNotSupported: the server rejected the ``response_format`` that ``body`` carries.
            JudgeRequestError: anything else that did not succeed after the retries.
        """
        attempts = self.settings.max_retries + 1
        last = ""
        for attempt in range(attempts):
            with self._slots, suppress_instrumentation():
                response, failure = self._post(body)
            if response is not None and response.status_code == 200:
                return _reply(response, attempt + 1)
            if response is not None:
                self._raise_for_final(response, with_schema="response_format" in body)
                last = f"HTTP {response.status_code}{_server_message(response, self.settings.api_key)}"
            else:
                last = failure
            if attempt + 1 < attempts:
                delay = self._delay(attempt, response)
                logger.debug("judge request failed (%s); retry %d/%d in %.2fs", last, attempt + 1,
                             self.settings.max_retries, delay)
                self._sleep(delay)
        raise JudgeRequestError(f"judge request to {self.settings.shown_chat_url} failed after {attempts} "
                                f"attempt(s): {last}")

    def _post(self, body: dict[str, Any]) -> tuple[httpx.Response | None, str]:
        try:
            return self._http.post(self._url, json=body), ""
        except httpx.TimeoutException:
            return None, f"timed out after {self.settings.timeout_s:g}s"
        except httpx.TransportError as exc:
            return None, f"connection error ({type(exc).__name__})"

    def _raise_for_final(self, response: httpx.Response, *, with_schema: bool) -> None:
        status = response.status_code
        if status in (401, 403):
            raise JudgeAuthenticationError(
                f"the LLM judge at {self.settings.shown_url} refused {self.settings.key_label} (HTTP {status}): "
                "check that key, or pass another one with openai_api_key=...")
        if status in RETRY_STATUSES:
            return
        message = _server_message(response, self.settings.api_key)
        if with_schema and status in (400, 422) and ("response_format" in message or "json_schema" in message):
            raise SchemaNotSupported(f"HTTP {status}{message}")
        raise JudgeRequestError(f"judge request to {self.settings.shown_chat_url} was rejected: HTTP {status}{message}")

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        hinted = _retry_after(response) if response is not None else None
        if hinted is not None:  # the server knows when it will take us again; a longer wait fails the item
            return min(max(hinted, 0.0), MAX_RETRY_AFTER_S)
        return min(self.settings.backoff_s * (2 ** attempt), self.settings.max_backoff_s)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, ``Retry-After`` (seconds or an HTTP date)."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):
        return None  # unreadable: fall back to our own backoff


def _server_message(response: httpx.Response, api_key: str | None) -> str:
    """The server's error message (short, and with the key masked should a server echo it)."""
    try:
        data = response.json()
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
    except (ValueError, AttributeError):
        message = response.text
    text = str(message or "").strip()[:300]
    if api_key and api_key in text:
        text = text.replace(api_key, "***")
    return f": {text}" if text else ""


def _reply(response: httpx.Response, requests: int) -> ChatReply:
    try:
        data = response.json()
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise JudgeRequestError(f"the judge server answered 200 without a chat completion: "
                                f"{response.text[:200]!r}") from None
    content = message.get("content") or message.get("refusal") or ""
    usage = data.get("usage") or {}
    tokens = usage.get("total_tokens")
    if not isinstance(tokens, int):
        tokens = int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)
    if not tokens:  # a server that reports no usage: count ~4 characters a token rather than claim zero
        tokens = (len(json.dumps(data)) + len(response.request.content)) // 4
    return ChatReply(content=str(content), tokens=tokens, requests=requests)
