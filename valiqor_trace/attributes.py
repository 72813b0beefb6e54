"""Span attribute keys written by valiqor-trace.

LLM spans follow the OpenTelemetry GenAI semantic conventions (``gen_ai.*``).
Keys below are used where the conventions have no key for something the
analyzer needs. Keys marked *content* carry user text: they obey
``capture_content`` and ``redact`` and are removed before export when capture
is off.
"""

from __future__ import annotations

# Stamped on every span started while valiqor-trace is initialised.
PROJECT_NAME = "valiqor.project_name"
SESSION_ID = "session.id"  # OTel general attribute
USER_ID = "user.id"  # OTel general attribute
SESSION_METADATA_PREFIX = "valiqor.metadata."
# Stamped (False) only when capture_content is off, so the analyzer knows that the spans' missing text
# was never recorded rather than empty (an unrecorded answer is not an empty answer).
CAPTURE_CONTENT = "valiqor.capture_content"

# What a span is, in the analyzer's terms: workflow, function, llm, embedding,
# retrieval, tool, agent, chain.
SPAN_KIND = "valiqor.span.kind"

# Inputs and outputs of workflows, functions, chains and agents (content): strings as they are,
# any other value as JSON text.
INPUT = "valiqor.input"
OUTPUT = "valiqor.output"
# Set when a content attribute was cut to max_content_length.
TRUNCATED_SUFFIX = ".truncated"

# Retrieval spans (operation name "retrieval").
RETRIEVAL_QUERY = "valiqor.retrieval.query"  # content
RETRIEVAL_DOCUMENTS = "valiqor.retrieval.documents"  # content: JSON list of {id, content, score, metadata}
RETRIEVAL_DOCUMENT_COUNT = "valiqor.retrieval.document_count"  # not content: kept with capture off

# LLM calls (OpenAI instrumentor; docs/openai.md): what the GenAI conventions have no key for.
REQUEST_RESPONSE_FORMAT = "valiqor.request.response_format"  # content: response_format / text.format as JSON
REQUEST_TOOL_CHOICE = "valiqor.request.tool_choice"  # "auto" | "none" | "required" | JSON naming a tool
REQUEST_PREVIOUS_RESPONSE_ID = "valiqor.request.previous_response_id"  # Responses API conversation chaining
# Why a streamed call's span ended: exhausted | closed | consumer_error | abandoned | error | interrupted.
STREAM_END_REASON = "valiqor.stream.end_reason"
STREAM_CHUNK_COUNT = "valiqor.stream.chunk_count"  # chunks (or events) the app received

# Attribute keys (or prefixes) that carry content, ours and other conventions'.
# With capture_content off, every one of them is dropped before export.
CONTENT_KEYS = frozenset({
    INPUT, OUTPUT, RETRIEVAL_QUERY, RETRIEVAL_DOCUMENTS, REQUEST_RESPONSE_FORMAT,
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.tool.definitions",
    "gen_ai.retrieval.query.text", "gen_ai.retrieval.documents",
    "input.value", "output.value",
    "traceloop.entity.input", "traceloop.entity.output",
})
CONTENT_PREFIXES = (
    "gen_ai.prompt", "gen_ai.completion", "llm.input_messages", "llm.output_messages",
    "llm.prompts", "retrieval.documents", "valiqor.content.",
)
# Event attribute keys that carry content (GenAI per-message events and similar).
CONTENT_EVENT_KEYS = frozenset({"content", "message", "body", "gen_ai.prompt", "gen_ai.completion",
                                "gen_ai.input.messages", "gen_ai.output.messages"})


def is_content_key(key: str) -> bool:
    """True when an attribute with this key carries prompt, completion or argument text."""
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)
