"""The FA item: what failure analysis reads, whether it came from a trace or a dataset.

``reconstruct`` builds it from spans; ``run(dataset=...)`` validates it from
dicts. ``metadata`` carries what only a trace can tell (keys in
:class:`TraceFacts`); dataset items may leave it empty.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolCall(BaseModel):
    """One tool call: what the model asked for, joined with what the tool did.

    ``output`` is ``None`` when the tool never ran or its output was not recorded;
    it is never invented. Unknown fields are refused: a result under a name FA does not
    read would hide a tool error (datasets in other layouts go through
    :func:`valiqor_trace.analyzer.datasets.validate_dataset`, which maps them onto these fields).
    """

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    name: str
    arguments: Any = None  # dict when it parsed as JSON, else the raw string
    output: str | None = None
    error: str | None = None
    span_id: str | None = None  # the tool execution span, when there was one
    executed: bool = True  # False: requested by the model but never run


class FAItem(BaseModel):
    """One thing to analyze: the user's request, the answer, and what led to it."""

    model_config = ConfigDict(extra="forbid")

    input: str
    output: str
    context: list[str] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    trace_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class TraceFacts:
    """Keys of ``FAItem.metadata`` filled by reconstruction from a trace (absent for datasets)."""

    SYSTEM_PROMPT = "system_prompt"  # str
    SYSTEM_PROMPT_SPAN_ID = "system_prompt_span_id"  # str: the LLM span whose system message is SYSTEM_PROMPT
    # list[str]: every user message sent to the LLM calls (earlier turns of a chat included), de-duplicated,
    # capped. What the user wrote themselves is theirs to see again (pii_leak reads it).
    USER_TURNS = "user_turns"
    MODELS = "models"  # list[str], in call order, de-duplicated
    TOOL_DEFINITIONS = "tool_definitions"  # list[{name, description, parameters}] offered to the model
    FINISH_REASONS = "finish_reasons"  # list[str] of every LLM call, in order
    TOKEN_USAGE = "token_usage"  # {input_tokens, output_tokens}
    # {usd: float | None, llm_calls: int, unpriced_calls: int}: the estimated cost of the LLM calls counted in
    # TOKEN_USAGE (docs/cost.md); usd sums the priced calls, None when none could be priced (unknown, not 0).
    COST = "cost"
    LATENCY_MS = "latency_ms"  # float: root span duration
    ERROR_SPANS = "error_spans"  # list[{span_id, name, kind, error_type, message}]
    LLM_CALL_COUNT = "llm_call_count"  # int
    TOOL_CALL_COUNT = "tool_call_count"  # int
    OUTPUT_SPAN_IDS = "output_span_ids"  # list[str]: the spans whose text became ``output``
    # {span_id, name, kind, error_type, message}: present when the outermost agent/chain span recorded no
    # output and ended in error. ``output`` is then "": the run gave no answer (a step's log is not one).
    OUTPUT_ERROR = "output_error"
    INPUT_SPAN_IDS = "input_span_ids"  # list[str]: the spans whose text became ``input``
    CONTEXT_SPAN_IDS = "context_span_ids"  # list[str]: per context entry, the retrieval span it came from
    RESPONSE_FORMAT = "response_format"  # requested response format (e.g. {"type": "json_schema", ...})
    CONVENTION = "convention"  # which instrumentation wrote the spans: valiqor|genai|openinference|openllmetry
    SPAN_COUNT = "span_count"  # int
    # str: the project the trace belongs to: the ``valiqor.project_name`` its spans carry (root first), else
    # its resource's ``service.name`` (not OTel's "unknown_service" placeholder). Absent when it names none.
    PROJECT = "project"
    # bool: False when the trace's text was never recorded (capture_content off, or an instrumentor that
    # records no messages by default): FA then checks only what span structure shows. Absent means True.
    CONTENT_CAPTURED = "content_captured"
    # True when the trace's root span is not among its spans (it lived in another service, or the exporter
    # dropped it) and the item was rebuilt from the spans there are. Absent means the root is there.
    ROOT_MISSING = "root_missing"
    # Optional, per LLM call in start order: {span_id, parent_span_id, name, model, finish_reasons: list[str],
    # output: str (the call's text, capped), tool_requests: list[str] (tool names it asked for),
    # tool_call_ids: list[str] (ids of the tool calls it asked for), instructions: str (the first
    # 2,000 characters of its first and of its last input message with text), stop_sequences: list[str],
    # cost_usd: float | None (unknown: None)}.
    # Lets FA point at the exact call that truncated, erred or produced a bad step.
    LLM_CALLS = "llm_calls"
