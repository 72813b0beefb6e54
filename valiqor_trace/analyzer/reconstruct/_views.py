"""What one span means for reconstruction, whatever convention wrote it.

Each convention reader turns a :class:`SpanRecord` into parts of a
:class:`SpanView`; the rules only ever look at views. Plain dataclasses: these
never cross a public boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from valiqor_trace.store import SpanRecord

# Span kinds in the analyzer's terms.
LLM = "llm"
TOOL = "tool"
RETRIEVAL = "retrieval"
AGENT = "agent"
CHAIN = "chain"
WORKFLOW = "workflow"
FUNCTION = "function"
EMBEDDING = "embedding"
OTHER = "other"
ENTRY_KINDS = frozenset({AGENT, CHAIN, WORKFLOW, FUNCTION})


@dataclass
class ToolRequest:
    """A tool call the model asked for."""

    id: str | None
    name: str
    arguments: Any


@dataclass
class Message:
    """One chat message, reduced to what the rules need."""

    role: str
    text: str | None = None
    tool_calls: list[ToolRequest] = field(default_factory=list)
    tool_call_id: str | None = None  # set on tool-result messages
    finish_reason: str | None = None


@dataclass
class LLMCall:
    """A model call: what went in, what came out, and how."""

    input_messages: list[Message] = field(default_factory=list)
    output_messages: list[Message] = field(default_factory=list)
    system_prompt: str | None = None  # from a dedicated attribute (gen_ai.system_instructions)
    request_model: str | None = None
    response_model: str | None = None
    provider: str | None = None  # as the span names it (gen_ai.provider.name, llm.provider, ...)
    tool_definitions: list[dict[str, Any]] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)
    input_tokens: int | None = None  # cached ones included
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    response_format: Any = None
    stop_sequences: list[str] = field(default_factory=list)  # the request's stop sequences (never in the output)
    # Prompt template variables named like retrieved context (gen_ai.prompt.variable.context, ...), as text.
    context_variables: list[str] = field(default_factory=list)

    @property
    def requests(self) -> list[ToolRequest]:
        return [call for message in self.output_messages for call in message.tool_calls]

    @property
    def answer(self) -> str | None:
        """The output text, unless this call was a tool request."""
        if self.requests:
            return None
        texts = [m.text for m in self.output_messages if m.text]
        return "\n".join(texts) if texts else None


@dataclass
class ToolExec:
    """A tool that ran."""

    name: str
    call_id: str | None = None
    arguments: Any = None
    output: str | None = None


@dataclass
class Retrieval:
    """A retriever call and the documents it returned, in rank order."""

    query: str | None = None
    documents: list[str] = field(default_factory=list)
    # How many documents the span listed, with text or not (None: it lists none). OTel GenAI's retrieval
    # model has ids and scores only: such a span says documents came back without saying what they said.
    listed: int | None = None


@dataclass
class SpanView:
    """One span as the rules see it."""

    span: SpanRecord
    kind: str = OTHER
    convention: str | None = None
    input: str | None = None
    output: str | None = None
    llm: LLMCall | None = None
    tool: ToolExec | None = None
    retrieval: Retrieval | None = None

    @property
    def span_id(self) -> str:
        return self.span.span_id

    @property
    def start(self) -> int:
        return self.span.start_time_unix_nano

    @property
    def end(self) -> int:
        return self.span.end_time_unix_nano or self.span.start_time_unix_nano
