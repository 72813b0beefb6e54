"""Read endpoints the web UI needs beyond the client's: a trace search with token usage and FA verdicts,
the projects that have traces, and one span as a chat transcript / tool call / retrieval.

They are plain REST endpoints (in the OpenAPI document like every other): the UI's pages call these
same functions server-side, so what a page shows is what the API answers.
"""

from __future__ import annotations

import json
from typing import Any

from valiqor_trace.internal import normalize_trace_id
from valiqor_trace.errors import NotFoundError, ValidationError
from valiqor_trace.analyzer.reconstruct import SpanView
from valiqor_trace.analyzer.reconstruct._classify import view_of
from valiqor_trace.analyzer.server._schemas import (
    ChatMessage,
    RetrievalView,
    SpanDetail,
    ToolCallView,
    ToolExecution,
    TracePage,
    TraceRow,
    TraceVerdict,
)

def search_traces(state: Any, project_name: str | None, start_ns: int | None, end_ns: int | None,
                  status: str | None, has_failures: bool | None, q: str | None, limit: int, offset: int,
                  include_verdicts: bool) -> TracePage:
    """One page of stored traces (newest first) with their token usage and the verdict of their newest run."""
    runs = state.fa._client.run_store
    failing = runs.traces_with_failures() if has_failures is not None else None
    has_error = None if status is None else status == "error"
    total, summaries = state.traces.store.search_traces(
        project_name=project_name, start_ns=start_ns, end_ns=end_ns, has_error=has_error,
        text=(q or "").strip()[:200] or None,
        only_ids=failing if has_failures else None, exclude_ids=failing if has_failures is False else None, include_verdicts=include_verdicts,
        limit=limit, offset=offset)
    ids = [s.trace_id for s in summaries]
    tokens = state.traces.store.token_usage(ids)
    latest = runs.latest_runs_of_traces(ids)
    rows = []
    for s in summaries:
        run = latest.get(s.trace_id)
        tokens_in, tokens_out = tokens.get(s.trace_id, (0, 0))
        rows.append(TraceRow(
            trace_id=s.trace_id, project_name=s.project_name, root_name=s.root_name,
            start_time_unix_nano=s.start_time_unix_nano,
            duration_ms=None if s.end_time_unix_nano is None else (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6,
            span_count=s.span_count, error_count=s.error_count, input_tokens=tokens_in, output_tokens=tokens_out,
            verdict=None if run is None else TraceVerdict(
                run_id=run.run_id, status=run.status, failures=run.total_failures_detected,
                severity=run.overall_severity, primary_failure=run.primary_failure)))
    return TracePage(total=total, limit=limit, offset=offset, items=rows)


def list_projects(state: Any) -> list[str]:
    return state.traces.store.project_names()


def get_span_detail(state: Any, trace_id: str, span_id: str) -> SpanDetail:
    """One span of a stored trace, read the way reconstruction reads it."""
    span = state.traces.store.get_span(_trace_id(trace_id), span_id)
    if span is None:
        raise NotFoundError(f"trace {trace_id} has no span {span_id[:40]!r} on this server", trace_id=trace_id)
    return span_detail(view_of(span))


def _trace_id(value: str) -> str:
    try:
        return normalize_trace_id(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def span_detail(view: SpanView) -> SpanDetail:
    detail = SpanDetail(span=view.span, kind=view.kind, input=view.input, output=view.output)
    if view.llm is not None:
        call = view.llm
        detail.model = call.response_model or call.request_model
        detail.system_prompt = call.system_prompt
        detail.input_tokens, detail.output_tokens = call.input_tokens, call.output_tokens
        detail.messages = [_message(direction, m) for direction, messages in
                           (("input", call.input_messages), ("output", call.output_messages)) for m in messages]
    if view.tool is not None:
        tool = view.tool
        detail.tool = ToolExecution(name=tool.name, call_id=tool.call_id,
                                    arguments=None if tool.arguments is None else _text(tool.arguments),
                                    output=tool.output)
    if view.retrieval is not None:
        detail.retrieval = RetrievalView(query=view.retrieval.query, documents=list(view.retrieval.documents))
    return detail


def _message(direction: str, message: Any) -> ChatMessage:
    return ChatMessage(direction=direction, role=message.role, text=message.text,
                       tool_calls=[ToolCallView(id=c.id, name=c.name, arguments=_text(c.arguments))
                                   for c in message.tool_calls],
                       tool_call_id=message.tool_call_id, finish_reason=message.finish_reason)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, indent=1, default=str)
    except (TypeError, ValueError):
        return str(value)
