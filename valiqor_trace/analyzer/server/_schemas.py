"""Request and response bodies of the REST API that are not already analyzer models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from valiqor_trace.analyzer.fa.options import ApiKey, FailureAnalysisOptions
from valiqor_trace.store import SpanRecord

MAX_WAIT_S = 60.0


class RunRequest(FailureAnalysisOptions):
    """``POST /api/v1/fa/runs``: the arguments of ``failure_analysis.run`` / ``run_async``.

    The options are :class:`FailureAnalysisOptions`' fields (one definition for the clients, this body
    and the engine); the input and ``wait_s`` are the request's own.
    """

    trace_id: str | None = Field(default=None, description="32-hex W3C trace id (a tr_ prefix is accepted)")
    dataset: list[Any] | None = Field(default=None, description="items {input, output, context?, tool_calls?}")
    wait_s: float = Field(default=10.0, ge=0.0, le=MAX_WAIT_S,
                          description="answer 200 with the result if the run ends within this many seconds, "
                                      "else 202 with the run id (0: always 202)")

    def options(self) -> FailureAnalysisOptions:
        """The run's options, the key included (a dump would leave it out)."""
        return FailureAnalysisOptions(**{name: getattr(self, name) for name in FailureAnalysisOptions.model_fields})


class PlaygroundRequest(BaseModel):
    """``POST /api/v1/fa/playground``: one input/output pair (rate-limited)."""

    model_config = ConfigDict(extra="forbid")

    input_text: str
    output_text: str
    context: list[str] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    openai_api_key: ApiKey | None = Field(default=None, repr=False)  # as in FailureAnalysisOptions: never shown


class RunAccepted(BaseModel):
    """202 answer of ``POST /api/v1/fa/runs``: the run goes on; poll ``status_url``."""

    run_id: str
    status: str
    progress_percent: float
    current_item: int
    total_items: int
    attempts: int
    status_url: str
    result_url: str


class Count(BaseModel):
    count: int


class Health(BaseModel):
    status: str
    version: str
    queued_spans: int
    refused_batches: int
    live_runs: int
    monitor: dict[str, int] | None = None  # this server's monitoring counters (valiqor serve --monitor)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ImportSummary(BaseModel):
    """Answer of ``POST /api/v1/traces/import`` (``client.traces.import_file``)."""

    path: str
    format: str
    spans_read: int
    spans_new: int
    trace_ids: list[str] = Field(default_factory=list)
    logs_read: int = 0
    logs_new: int = 0


class TraceVerdict(BaseModel):
    """The newest FA run of a trace, as the trace list shows it."""

    run_id: str
    status: str
    failures: int | None
    severity: float | None
    primary_failure: str | None


class TraceRow(BaseModel):
    """One line of ``GET /api/v1/traces/search``: a stored trace with its token usage and FA verdict."""

    trace_id: str
    project_name: str | None
    root_name: str | None
    start_time_unix_nano: int
    duration_ms: float | None
    span_count: int
    error_count: int
    input_tokens: int = 0
    output_tokens: int = 0
    verdict: TraceVerdict | None = None


class TracePage(BaseModel):
    """One page of a trace search, and how many traces match in all."""

    total: int
    limit: int
    offset: int
    items: list[TraceRow]


class ToolCallView(BaseModel):
    id: str | None = None
    name: str
    arguments: str  # as JSON text when it was not a string


class ChatMessage(BaseModel):
    """One message of a model call: ``direction`` says whether it went in or came out."""

    direction: str  # input | output
    role: str  # system | user | assistant | tool | ...
    text: str | None = None
    tool_calls: list[ToolCallView] = Field(default_factory=list)
    tool_call_id: str | None = None
    finish_reason: str | None = None


class ToolExecution(BaseModel):
    name: str
    call_id: str | None = None
    arguments: str | None = None
    output: str | None = None


class RetrievalView(BaseModel):
    query: str | None = None
    documents: list[str] = Field(default_factory=list)


class SpanDetail(BaseModel):
    """``GET /api/v1/traces/{trace_id}/spans/{span_id}``: one span and what it means, whatever convention wrote it."""

    span: SpanRecord
    kind: str  # llm | tool | retrieval | agent | chain | workflow | function | embedding | other
    model: str | None = None
    system_prompt: str | None = None
    messages: list[ChatMessage] = Field(default_factory=list)
    tool: ToolExecution | None = None
    retrieval: RetrievalView | None = None
    input: str | None = None
    output: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
