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
