"""Typed records of stored spans and traces: the boundary between the store and its readers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SpanEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    time_unix_nano: int
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanLink(BaseModel):
    model_config = ConfigDict(frozen=True)

    trace_id: str
    span_id: str
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanRecord(BaseModel):
    """One span, with everything a reader needs; ids are lowercase hex."""

    model_config = ConfigDict(frozen=True)

    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    name: str
    kind: str = "INTERNAL"  # INTERNAL | SERVER | CLIENT | PRODUCER | CONSUMER
    start_time_unix_nano: int
    end_time_unix_nano: int | None = None
    status_code: str = "UNSET"  # UNSET | OK | ERROR
    status_message: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[SpanEvent] = Field(default_factory=list)
    links: list[SpanLink] = Field(default_factory=list)
    resource: dict[str, Any] = Field(default_factory=dict)
    scope_name: str | None = None
    scope_version: str | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.end_time_unix_nano is None:
            return None
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e6

    @property
    def is_error(self) -> bool:
        return self.status_code == "ERROR"


class TraceArrival(BaseModel):
    """How a stored trace's spans came in: from a file (``imported``), and when the last of them arrived.

    ``last_arrival_ns`` is ``None`` for traces stored before arrivals were recorded.
    """

    model_config = ConfigDict(frozen=True)

    imported: bool = False
    last_arrival_ns: int | None = None


class TraceSummary(BaseModel):
    """One line of ``list_traces``."""

    trace_id: str
    project_name: str | None
    root_name: str | None
    start_time_unix_nano: int
    end_time_unix_nano: int | None
    span_count: int
    error_count: int

    @property
    def has_error(self) -> bool:
        return self.error_count > 0


class LogRecord(BaseModel):
    """One OpenTelemetry log record that names its span (an event of the Logs API).

    Some instrumentations (the GenAI conventions' event mode) send a model call's
    messages as log records instead of span attributes; readers see each one as an
    event of its span (:meth:`as_event`). ``body`` is the record's body as JSON
    values (a string, a number, a list, an object), ``None`` when it has none.
    """

    model_config = ConfigDict(frozen=True)

    trace_id: str
    span_id: str
    time_unix_nano: int = 0  # the record's time, else its observed time
    event_name: str | None = None
    severity_number: int | None = None
    severity_text: str | None = None
    body: Any = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    scope_name: str | None = None

    def as_event(self) -> SpanEvent:
        """The span event this record stands for: named by its event name (else its ``event.name``
        attribute, else its scope), with the body under the ``body`` attribute."""
        attributes = dict(self.attributes)
        name = self.event_name or attributes.pop("event.name", None) or self.scope_name or "log"
        if self.body is not None:
            attributes["body"] = self.body
        return SpanEvent(name=str(name), time_unix_nano=self.time_unix_nano, attributes=attributes)
