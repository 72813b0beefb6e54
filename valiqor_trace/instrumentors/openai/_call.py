"""The span of one OpenAI call, from request to the end it gets exactly once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from opentelemetry.trace import Span, Status, StatusCode

from valiqor_trace.internal import ContentPolicy, report_internal_error
from valiqor_trace.attributes import ERROR_TYPE, GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, STREAM_CHUNK_COUNT, STREAM_END_REASON

# Why a stream's span ended (valiqor.stream.end_reason; see docs/openai.md).
EXHAUSTED = "exhausted"  # the consumer read to the end
CLOSED = "closed"  # close() or a context-manager exit before the end
CONSUMER_ERROR = "consumer_error"  # the consumer raised inside ``with stream:``
ABANDONED = "abandoned"  # the stream object was garbage collected unfinished
ERROR = "error"  # the stream itself raised (connection cut, API error event)
INTERRUPTED = "interrupted"  # cancelled (asyncio) or KeyboardInterrupt while waiting for a chunk

HTTP_STATUS_CODE = "http.response.status_code"


class Accumulator(Protocol):
    """Assembles a streamed reply, chunk by chunk, and records it on the span."""

    chunks: int  # chunks seen, counted by add()
    first_chunk_ns: int  # time.time_ns() when add() saw the first chunk

    def add(self, chunk: Any) -> None:
        """Take one chunk (called for every chunk the app receives: keep it cheap)."""

    def record(self, attributes: dict[str, Any], policy: ContentPolicy) -> str | None:
        """Put what was assembled so far into ``attributes`` (set on the span in one call).

        Returns a description when the reply itself reports a failure (e.g. a failed
        Responses API response), which becomes the span's ERROR status.
        """


@dataclass(frozen=True)
class Endpoint:
    """What differs between the wrapped methods: names, extractors, and the stream accumulator.

    Attributes:
        operation: ``gen_ai.operation.name`` (``chat``, ``embeddings``, ``text_completion``).
        span_kind: ``valiqor.span.kind`` (``llm`` or ``embedding``).
        request_attributes: ``(resource, kwargs, policy) -> attributes`` known before the call.
        record_response: ``(attributes, response, policy) -> failure`` puts a parsed (or raw-JSON)
            response's attributes into ``attributes``; a returned string marks the span ERROR.
        new_accumulator: builds the accumulator for ``stream=True`` calls (None: never streamed).
    """

    operation: str
    span_kind: str
    request_attributes: Callable[[Any, dict[str, Any], ContentPolicy], dict[str, Any]]
    record_response: Callable[[dict[str, Any], Any, ContentPolicy], str | None]
    new_accumulator: Callable[[], Accumulator] | None = None


class Call:
    """One call's span and the policy it was started under; every ``end_*`` ends it at most once."""

    __slots__ = ("span", "endpoint", "policy", "_once")

    def __init__(self, span: Span, endpoint: Endpoint, policy: ContentPolicy) -> None:
        self.span = span
        self.endpoint = endpoint
        self.policy = policy
        # list.pop() is atomic, so exactly one caller wins the end even across threads.
        self._once = [True]

    def _claim_end(self) -> bool:
        try:
            return self._once.pop()
        except IndexError:
            return False

    @property
    def ended(self) -> bool:
        return not self._once

    def end_with_response(self, response: Any) -> None:
        """Record a complete (non-streamed) response and end."""
        if not self._claim_end():
            return
        try:
            attributes: dict[str, Any] = {}
            failure = self.endpoint.record_response(attributes, response, self.policy)
            self.span.set_attributes(attributes)
            if failure is not None:
                self.span.set_status(Status(StatusCode.ERROR, failure))
        except Exception:
            report_internal_error("openai: record response")
        finally:
            self.span.end()

    def end_with_error(self, error: BaseException) -> None:
        """Record the SDK's exception (status ERROR, error.type, exception event) and end."""
        if not self._claim_end():
            return
        try:
            record_error(self.span, error)
        except Exception:
            report_internal_error("openai: record error")
        finally:
            self.span.end()

    def end_stream(self, accumulator: Accumulator | None, reason: str, error: BaseException | None = None) -> None:
        """Record what a stream delivered so far, why it ended, and end."""
        if not self._claim_end():
            return
        span = self.span
        try:
            attributes: dict[str, Any] = {STREAM_END_REASON: reason}
            failure = None
            if accumulator is not None:
                attributes[STREAM_CHUNK_COUNT] = accumulator.chunks
                start_ns = getattr(span, "start_time", None)
                if accumulator.chunks and start_ns:
                    attributes[GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = (accumulator.first_chunk_ns - start_ns) / 1e9
                failure = accumulator.record(attributes, self.policy)
            span.set_attributes(attributes)
            if error is not None:
                record_error(span, error)
            elif failure is not None:
                span.set_status(Status(StatusCode.ERROR, failure))
        except Exception:
            report_internal_error("openai: record stream")
        finally:
            span.end()

    def end_plain(self, reason: str | None = None) -> None:
        """End with what the request told us (a raw response whose body we never saw)."""
        if not self._claim_end():
            return
        if reason is not None:
            self.span.set_attribute(STREAM_END_REASON, reason)
        self.span.end()


def record_error(span: Span, error: BaseException) -> None:
    """Status ERROR, ``error.type`` (the exception class), the HTTP status if any, and the exception event."""
    span.set_attribute(ERROR_TYPE, type(error).__qualname__)
    status_code = getattr(error, "status_code", None)
    if isinstance(status_code, int):
        span.set_attribute(HTTP_STATUS_CODE, status_code)
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error)))
