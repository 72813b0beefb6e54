"""``with_raw_response`` / ``with_streaming_response``: the app gets the SDK's raw response object.

- ``with_raw_response`` without streaming: the body is already in memory, so the
  span is recorded from its JSON at once, and the app gets the original object
  (not even a proxy). We never call ``parse()``: it may run a post-parser that
  raises (``chat.completions.parse``), and its cache belongs to the app.
- ``with_raw_response`` with ``stream=True``, and every ``with_streaming_response``
  call: the body has not been read. The app gets a transparent proxy; when the
  app calls ``parse()`` we record the parsed result (or hand back our stream
  proxy for a stream, the same object on every call); ``close()`` or garbage
  collection ends a span that never saw its body, with what the request told us.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import wrapt

from valiqor_trace.instrumentors.openai._call import ABANDONED, CLOSED, Call
from valiqor_trace.instrumentors.openai._streams import wrap_stream
from valiqor_trace.internal import report_internal_error

try:
    from openai._legacy_response import LegacyAPIResponse
except ImportError:  # pragma: no cover - every supported SDK has it
    LegacyAPIResponse = ()  # type: ignore[assignment,misc]
try:
    from openai._response import APIResponse, AsyncAPIResponse
except ImportError:  # pragma: no cover
    APIResponse = AsyncAPIResponse = ()  # type: ignore[assignment,misc]

RAW_RESPONSE_TYPES = tuple(t for t in (LegacyAPIResponse, APIResponse, AsyncAPIResponse) if isinstance(t, type))


def _namespace(fields: dict[str, Any]) -> SimpleNamespace:
    return SimpleNamespace(**fields)


def parse_body(content: bytes | str) -> Any:
    """A JSON body with its objects as attribute-access objects, so the extractors read it like SDK models.

    Built by the JSON decoder itself (``object_hook``): a second walk over the parsed body cost more
    than the parse.
    """
    return json.loads(content, object_hook=_namespace)


def wrap_raw_response(raw: Any, call: Call, streamed: bool) -> Any:
    """What the app gets back for a raw response; the span is ended now or handed to a proxy."""
    if isinstance(raw, LegacyAPIResponse) and not streamed:
        _end_from_body(call, raw)
        return raw
    if isinstance(raw, AsyncAPIResponse):
        return AsyncRawResponseProxy(raw, call)
    return RawResponseProxy(raw, call)


def _end_from_body(call: Call, raw: Any) -> None:
    try:
        body = parse_body(raw.http_response.content)
    except ValueError:  # not JSON (a server's HTML error page, say): the request attributes are all we know
        call.end_plain()
        return
    call.end_with_response(body)


def _after_parse(proxy: Any, parsed: Any) -> Any:
    """Record a parsed body, or swap a stream for our stream proxy (cached: one proxy per response)."""
    try:
        call = proxy._self_call
        if hasattr(parsed, "__next__") or hasattr(parsed, "__anext__"):
            if proxy._self_stream is None:
                if call.ended:  # closed before parsing; nothing left to observe
                    return parsed
                proxy._self_stream = wrap_stream(parsed, call)
            return proxy._self_stream
        call.end_with_response(parsed)
    except Exception:
        report_internal_error("openai: parse raw response")
    return parsed


def _end_unread(proxy: Any, reason: str) -> None:
    """End a span whose body was not parsed: from the body if the app read it (``json()``, ``read()``)."""
    try:
        call = proxy._self_call
        if proxy._self_stream is not None or call.ended:  # a stream proxy owns the span once handed out
            return
        try:
            content = proxy.__wrapped__.http_response.content  # raises while the body is unread
            body = parse_body(content)
        except Exception:
            call.end_plain(reason)
            return
        call.end_with_response(body)
    except Exception:
        report_internal_error("openai: close raw response")


class RawResponseProxy(wrapt.ObjectProxy):
    """A sync raw response (``LegacyAPIResponse`` of a stream, or ``APIResponse``)."""

    def __init__(self, raw: Any, call: Call) -> None:
        super().__init__(raw)
        self._self_call = call
        self._self_stream: Any = None

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return _after_parse(self, self.__wrapped__.parse(*args, **kwargs))

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            _end_unread(self, CLOSED)

    def __del__(self) -> None:
        try:
            _end_unread(self, ABANDONED)
        except Exception:
            pass


class AsyncRawResponseProxy(wrapt.ObjectProxy):
    """An ``AsyncAPIResponse`` (``with_streaming_response`` on an async client)."""

    def __init__(self, raw: Any, call: Call) -> None:
        super().__init__(raw)
        self._self_call = call
        self._self_stream: Any = None

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return _after_parse(self, await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            _end_unread(self, CLOSED)

    def __del__(self) -> None:
        try:
            _end_unread(self, ABANDONED)
        except Exception:
            pass
