"""What a LangChain run's callbacks carry -> span attributes (pure functions, no span lifecycle)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import Span

from valiqor_trace.attributes import (
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_CHOICE_COUNT,
    GEN_AI_REQUEST_FREQUENCY_PENALTY,
    GEN_AI_REQUEST_MAX_TOKENS,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_PRESENCE_PENALTY,
    GEN_AI_REQUEST_SEED,
    GEN_AI_REQUEST_STOP_SEQUENCES,
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_REQUEST_TOP_P,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
    GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from valiqor_trace.instrumentors import _genai as genai
from valiqor_trace.instrumentors.langchain import _messages
from valiqor_trace.internal import get_content_policy

# LangGraph steps (no GenAI key exists): the node a span ran and the super-step it ran in.
GRAPH_NODE = "valiqor.graph.node"
GRAPH_STEP = "valiqor.graph.step"
RUN_TYPE = "valiqor.langchain.run_type"

# LangChain's ``ls_provider`` -> the GenAI convention's ``gen_ai.provider.name``.
_PROVIDERS = {"azure": "azure.ai.openai", "azure_openai": "azure.ai.openai", "bedrock": "aws.bedrock",
              "amazon_bedrock": "aws.bedrock", "google_genai": "gcp.gemini", "google_vertexai": "gcp.vertex_ai",
              "google": "gcp.gemini", "mistralai": "mistral_ai", "mistral": "mistral_ai", "xai": "x_ai"}
_REQUEST_PARAMETERS = (
    ("temperature", GEN_AI_REQUEST_TEMPERATURE), ("top_p", GEN_AI_REQUEST_TOP_P),
    ("max_tokens", GEN_AI_REQUEST_MAX_TOKENS), ("max_completion_tokens", GEN_AI_REQUEST_MAX_TOKENS),
    ("max_output_tokens", GEN_AI_REQUEST_MAX_TOKENS), ("frequency_penalty", GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", GEN_AI_REQUEST_PRESENCE_PENALTY), ("seed", GEN_AI_REQUEST_SEED),
    ("n", GEN_AI_REQUEST_CHOICE_COUNT),
)


def run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    """The name LangChain shows for a run: the explicit name, else the serialized class name."""
    name = kwargs.get("name")
    if name:
        return str(name)
    if serialized:
        if serialized.get("name"):
            return str(serialized["name"])
        ids = serialized.get("id")
        if isinstance(ids, list) and ids:
            return str(ids[-1])
    return default


def model_request(serialized: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None,
                  kwargs: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The request model and the non-content request attributes of a chat/LLM run."""
    params = kwargs.get("invocation_params") or {}
    metadata = metadata or {}
    model = params.get("model") or params.get("model_name") or params.get("model_id") or metadata.get("ls_model_name")
    if model is None and serialized:
        model = (serialized.get("kwargs") or {}).get("model_name") or (serialized.get("kwargs") or {}).get("model")
    attributes: dict[str, Any] = {}
    if model:
        attributes[GEN_AI_REQUEST_MODEL] = str(model)
    provider = metadata.get("ls_provider") or params.get("_type")
    if provider:
        provider = str(provider)
        provider = _PROVIDERS.get(provider, provider.removesuffix("-chat"))
        attributes[GEN_AI_PROVIDER_NAME] = provider
        attributes[GEN_AI_SYSTEM] = provider
    for key, attribute in _REQUEST_PARAMETERS:
        value = params.get(key)
        if value is not None and isinstance(value, (str, bool, int, float)):  # scalars only
            attributes[attribute] = value
    stop = params.get("stop") or params.get("stop_sequences")
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, (list, tuple)) and stop:
        attributes[GEN_AI_REQUEST_STOP_SEQUENCES] = [str(s) for s in stop]
    return (str(model) if model else None), attributes


def record_model_input(span: Span, messages: list[Any] | None, prompts: list[str] | None,
                       params: Mapping[str, Any]) -> None:
    """Input messages and tool definitions (content: the policy decides)."""
    if not get_content_policy().capture:
        return
    attributes: dict[str, Any] = {}
    if messages is not None:
        genai.put_json_content(attributes, GEN_AI_INPUT_MESSAGES, _messages.input_messages(messages))
    elif prompts is not None:
        genai.put_json_content(attributes, GEN_AI_INPUT_MESSAGES,
                               [genai.message("user", [genai.text_part(prompt)]) for prompt in prompts])
    definitions = _messages.tool_definitions(params.get("tools") or params.get("functions"))
    if definitions:
        genai.put_json_content(attributes, GEN_AI_TOOL_DEFINITIONS, definitions)
    if attributes:
        span.set_attributes(attributes)


def _usage(generations: list[Any], llm_output: Mapping[str, Any]) -> tuple[Any, Any]:
    for generation in generations:
        usage = getattr(_messages.field(generation, "message"), "usage_metadata", None)
        if usage:
            return usage.get("input_tokens"), usage.get("output_tokens")
    usage = llm_output.get("token_usage") or llm_output.get("usage") or {}
    if not isinstance(usage, Mapping):
        return None, None
    return (usage.get("prompt_tokens", usage.get("input_tokens")),
            usage.get("completion_tokens", usage.get("output_tokens")))


def record_model_output(span: Span, response: Any) -> None:
    """Output messages, finish reasons, usage, response model and id from an ``LLMResult``."""
    generations = [gen for batch in (getattr(response, "generations", None) or []) for gen in batch]
    llm_output = getattr(response, "llm_output", None) or {}
    metadata: Mapping[str, Any] = {}
    for generation in generations:
        metadata = getattr(_messages.field(generation, "message"), "response_metadata", None) or {}
        if metadata:
            break
    attributes: dict[str, Any] = {}
    model = metadata.get("model_name") or metadata.get("model") or llm_output.get("model_name")
    if model:
        attributes[GEN_AI_RESPONSE_MODEL] = str(model)
    response_id = metadata.get("id") or llm_output.get("id")
    if isinstance(response_id, str) and response_id:
        attributes[GEN_AI_RESPONSE_ID] = response_id
    reasons = [reason for reason in map(_messages.finish_reason_of, generations) if reason]
    if reasons:
        attributes[GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    input_tokens, output_tokens = _usage(generations, llm_output)
    if isinstance(input_tokens, int):
        attributes[GEN_AI_USAGE_INPUT_TOKENS] = input_tokens
    if isinstance(output_tokens, int):
        attributes[GEN_AI_USAGE_OUTPUT_TOKENS] = output_tokens
    if generations and get_content_policy().capture:
        genai.put_json_content(attributes, GEN_AI_OUTPUT_MESSAGES,
                               [_messages.output_message(gen) for gen in generations])
    span.set_attributes(attributes)


def tool_result(output: Any) -> tuple[Any, str | None]:
    """A tool's output as recorded, and an error description when the tool reported failure in-band.

    ``ToolMessage(status="error")`` is what LangChain returns when ``handle_tool_error``
    turned an exception into a message for the model: the app sees no exception, but
    the tool did fail.
    """
    if getattr(output, "type", None) == "tool" and hasattr(output, "content"):
        content = _messages.content_text(output.content)
        if getattr(output, "status", None) == "error":
            return content, str(content)
        return content, None
    return output, None
