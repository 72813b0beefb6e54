"""Span attribute keys valiqor-trace writes and reads: a public module.

The one place the keys are spelled: the instrumentors that write spans and the
reconstruction that reads them back both import them from here.

- ``valiqor.*`` keys (and two general OTel keys) for what the conventions have no key for.
- ``GEN_AI_*``: the OpenTelemetry GenAI semantic conventions, named exactly as
  ``opentelemetry.semconv._incubating.attributes.gen_ai_attributes`` names them. They are
  plain strings here, not imported from there: that module is "incubating" (private, and
  it renames things between releases), and a trace written today must still read the same
  way after an upgrade. ``tests/valiqor_trace/test_attributes.py`` compares each with the
  installed semantic-conventions package, so a drift shows up as a failing test.
- Older GenAI keys and event names, which the reconstruction still reads in traces from
  other tools (we never write them).

Keys marked *content* carry user text: they obey ``capture_content`` and ``redact`` and are
removed before export when capture is off.
"""

from __future__ import annotations

__all__ = [
    "CAPTURE_CONTENT",
    "CONTENT_EVENT_KEYS",
    "CONTENT_KEYS",
    "CONTENT_PREFIXES",
    "ERROR_TYPE",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_ASSISTANT_MESSAGE_EVENT",
    "GEN_AI_CHOICE_EVENT",
    "GEN_AI_COMPLETION",
    "GEN_AI_CONTENT_COMPLETION_EVENT",
    "GEN_AI_CONTENT_PROMPT_EVENT",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_EMBEDDINGS_DIMENSION_COUNT",
    "GEN_AI_INPUT_MESSAGES",
    "GEN_AI_OPENAI_REQUEST_RESPONSE_FORMAT",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_MESSAGES",
    "GEN_AI_OUTPUT_TYPE",
    "GEN_AI_PREFIX",
    "GEN_AI_PROMPT",
    "GEN_AI_PROMPT_VARIABLE_PREFIX",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_CHOICE_COUNT",
    "GEN_AI_REQUEST_ENCODING_FORMATS",
    "GEN_AI_REQUEST_FREQUENCY_PENALTY",
    "GEN_AI_REQUEST_MAX_TOKENS",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_REQUEST_PRESENCE_PENALTY",
    "GEN_AI_REQUEST_SEED",
    "GEN_AI_REQUEST_STOP_SEQUENCES",
    "GEN_AI_REQUEST_STREAM",
    "GEN_AI_REQUEST_TEMPERATURE",
    "GEN_AI_REQUEST_TOP_P",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_ID",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK",
    "GEN_AI_RETRIEVAL_DOCUMENTS",
    "GEN_AI_RETRIEVAL_QUERY_TEXT",
    "GEN_AI_SYSTEM",
    "GEN_AI_SYSTEM_INSTRUCTIONS",
    "GEN_AI_SYSTEM_MESSAGE_EVENT",
    "GEN_AI_TOOL_CALL_ARGUMENTS",
    "GEN_AI_TOOL_CALL_ID",
    "GEN_AI_TOOL_CALL_RESULT",
    "GEN_AI_TOOL_DEFINITIONS",
    "GEN_AI_TOOL_DESCRIPTION",
    "GEN_AI_TOOL_MESSAGE_EVENT",
    "GEN_AI_TOOL_NAME",
    "GEN_AI_TOOL_TYPE",
    "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS",
    "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD",
    "GEN_AI_USAGE_COMPLETION_TOKENS",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "GEN_AI_USAGE_PROMPT_TOKENS",
    "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS",
    "GEN_AI_USER_MESSAGE_EVENT",
    "INPUT",
    "LITELLM_CALL_ID",
    "LITELLM_NOT_CONTENT",
    "LITELLM_RAW_CHOICES",
    "LITELLM_RAW_MESSAGES",
    "LITELLM_RAW_PREFIX",
    "LITELLM_SCOPE",
    "OUTPUT",
    "PROJECT_NAME",
    "REQUEST_PREVIOUS_RESPONSE_ID",
    "REQUEST_RESPONSE_FORMAT",
    "REQUEST_TOOL_CHOICE",
    "RETRIEVAL_DOCUMENTS",
    "RETRIEVAL_DOCUMENT_COUNT",
    "RETRIEVAL_QUERY",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "SERVICE_NAME",
    "SESSION_ID",
    "SESSION_METADATA_PREFIX",
    "SPAN_KIND",
    "STREAM_CHUNK_COUNT",
    "STREAM_END_REASON",
    "TRUNCATED_SUFFIX",
    "USER_ID",
    "is_content_key",
]

# Stamped on every span started while valiqor-trace is initialised.
PROJECT_NAME = "valiqor.project_name"
SERVICE_NAME = "service.name"  # OTel resource attribute: the service that emitted the spans
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

# -- OpenTelemetry GenAI semantic conventions: written by the instrumentors, read by reconstruction ---------
GEN_AI_PREFIX = "gen_ai."  # every key of the conventions starts with it
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"  # chat | text_completion | embeddings | execute_tool | ...
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_SYSTEM = "gen_ai.system"  # older name of the provider, still read by many backends
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"  # text | json
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"  # content: JSON list of {role, parts}
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"  # content: the same, with finish_reason
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"  # content
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"  # content: JSON list of {type, name, description, parameters}
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_DESCRIPTION = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"  # content
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"  # content
GEN_AI_RETRIEVAL_QUERY_TEXT = "gen_ai.retrieval.query.text"  # content
GEN_AI_RETRIEVAL_DOCUMENTS = "gen_ai.retrieval.documents"  # content
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
# content: one key per prompt template variable, e.g. gen_ai.prompt.variable.context (util-genai >= 1.3)
GEN_AI_PROMPT_VARIABLE_PREFIX = "gen_ai.prompt.variable."
GEN_AI_EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
# General OTel keys the GenAI conventions use on the same spans (stable conventions).
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

# -- Older GenAI conventions, read in other tools' traces (semconv 1.26-1.28, OpenLLMetry) ------------------
GEN_AI_PROMPT = "gen_ai.prompt"  # content: JSON messages; OpenLLMetry flattens it (gen_ai.prompt.0.role)
GEN_AI_COMPLETION = "gen_ai.completion"  # content: the same for the answer
GEN_AI_USAGE_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD = "gen_ai.usage.cache_read_input_tokens"  # OpenLLMetry's spelling
GEN_AI_OPENAI_REQUEST_RESPONSE_FORMAT = "gen_ai.openai.request.response_format"
# Event names (span events, or log records attached to their span on import).
GEN_AI_SYSTEM_MESSAGE_EVENT = "gen_ai.system.message"
GEN_AI_USER_MESSAGE_EVENT = "gen_ai.user.message"
GEN_AI_ASSISTANT_MESSAGE_EVENT = "gen_ai.assistant.message"
GEN_AI_TOOL_MESSAGE_EVENT = "gen_ai.tool.message"
GEN_AI_CHOICE_EVENT = "gen_ai.choice"
GEN_AI_CONTENT_PROMPT_EVENT = "gen_ai.content.prompt"
GEN_AI_CONTENT_COMPLETION_EVENT = "gen_ai.content.completion"

# -- LiteLLM's OpenTelemetry callback (litellm.callbacks=["otel"]; docs/providers.md#litellm) ---------------
LITELLM_SCOPE = "litellm"  # its tracer's name (its OTEL_TRACER_NAME setting renames it)
LITELLM_CALL_ID = "litellm.call_id"  # on the span that carries its gen_ai.* attributes for one request
# Its raw-request span (a child of that span): every field of the provider's request body and response as
# llm.{provider}.{field}, each value as Python repr text (llm.openai.messages = "[{'role': 'user', ...}]").
LITELLM_RAW_PREFIX = "llm."
LITELLM_RAW_MESSAGES = "messages"
LITELLM_RAW_CHOICES = "choices"
# The only llm.* keys LiteLLM writes that are no content (on its request span); every other llm.* key of a
# LiteLLM span is a request or response field, or a tool definition (llm.request.functions.*): content.
LITELLM_NOT_CONTENT = frozenset({"llm.request.type", "llm.is_streaming"})

# Attribute keys (or prefixes) that carry content, ours and other conventions'.
# With capture_content off, every one of them is dropped before export.
CONTENT_KEYS = frozenset({
    INPUT, OUTPUT, RETRIEVAL_QUERY, RETRIEVAL_DOCUMENTS, REQUEST_RESPONSE_FORMAT,
    GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES, GEN_AI_SYSTEM_INSTRUCTIONS,
    GEN_AI_TOOL_CALL_ARGUMENTS, GEN_AI_TOOL_CALL_RESULT, GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_RETRIEVAL_QUERY_TEXT, GEN_AI_RETRIEVAL_DOCUMENTS,
    "input.value", "output.value",
    "traceloop.entity.input", "traceloop.entity.output",
})
CONTENT_PREFIXES = (
    GEN_AI_PROMPT, GEN_AI_COMPLETION, "llm.input_messages", "llm.output_messages",
    "llm.prompts", "retrieval.documents", "valiqor.content.",
)
# Event attribute keys that carry content (GenAI per-message events and similar).
CONTENT_EVENT_KEYS = frozenset({"content", "message", "body", GEN_AI_PROMPT, GEN_AI_COMPLETION,
                                GEN_AI_INPUT_MESSAGES, GEN_AI_OUTPUT_MESSAGES})


def is_content_key(key: str) -> bool:
    """True when an attribute with this key carries prompt, completion or argument text."""
    return key in CONTENT_KEYS or key.startswith(CONTENT_PREFIXES)


def is_litellm_content_key(key: str) -> bool:
    """``is_content_key`` for a span LiteLLM wrote (scope :data:`LITELLM_SCOPE`), whose raw request and
    response fields are ``llm.{provider}.{field}`` keys: a provider's field names cannot be listed."""
    return is_content_key(key) or (key.startswith(LITELLM_RAW_PREFIX) and key not in LITELLM_NOT_CONTENT)
