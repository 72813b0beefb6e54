"""OpenTelemetry GenAI semantic-convention keys and message shapes, shared by every instrumentor.

Messages are recorded as the convention's JSON: ``gen_ai.input.messages`` is a
list of ``{"role", "parts": [...]}``; ``gen_ai.output.messages`` adds
``finish_reason``; parts are ``{"type": "text", "content"}``,
``{"type": "tool_call", "id", "name", "arguments"}`` and
``{"type": "tool_call_response", "id", "response"}``.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Span

from valiqor_trace.internal import get_content_policy, to_json

OPERATION_NAME = "gen_ai.operation.name"  # chat | text_completion | embeddings | execute_tool | invoke_agent | retrieval
PROVIDER_NAME = "gen_ai.provider.name"
SYSTEM = "gen_ai.system"  # older name of the provider, still read by many backends
REQUEST_MODEL = "gen_ai.request.model"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
OUTPUT_TYPE = "gen_ai.output.type"  # text | json
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"  # content
OUTPUT_MESSAGES = "gen_ai.output.messages"  # content
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"  # content
TOOL_DEFINITIONS = "gen_ai.tool.definitions"  # content (JSON list of {type, name, description, parameters})
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_DESCRIPTION = "gen_ai.tool.description"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"  # content
TOOL_CALL_RESULT = "gen_ai.tool.call.result"  # content
AGENT_NAME = "gen_ai.agent.name"
CONVERSATION_ID = "gen_ai.conversation.id"
EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"


def text_part(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


def tool_call_part(call_id: str | None, name: str | None, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def tool_response_part(call_id: str | None, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def message(role: str, parts: list[dict[str, Any]], finish_reason: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"role": role, "parts": parts}
    if finish_reason is not None:
        entry["finish_reason"] = finish_reason
    return entry


def set_json_content(span: Span, key: str, value: Any) -> None:
    """Record a JSON-serialisable content value under ``key`` if the content policy allows it."""
    policy = get_content_policy()
    if not policy.capture or value is None:
        return
    text = policy.text(value if isinstance(value, str) else to_json(value))
    if text is not None:
        span.set_attribute(key, text)
