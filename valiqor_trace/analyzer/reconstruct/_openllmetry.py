"""Reader for OpenLLMetry (Traceloop) spans.

Keys: ``traceloop.span.kind`` (workflow, task, agent, tool), ``traceloop.entity.name``,
``traceloop.entity.input`` / ``traceloop.entity.output`` (JSON of the call's
arguments and return value); on LLM spans the indexed attributes
``gen_ai.prompt.N.{role,content,tool_call_id,tool_calls.K.{id,name,arguments}}``,
``gen_ai.completion.N.{role,content,finish_reason,tool_calls.K...,function_call.*}``,
``llm.request.functions.N.{name,description,parameters}``, ``llm.request.type``,
``gen_ai.usage.prompt_tokens`` / ``completion_tokens``. Recent OpenLLMetry
releases write the GenAI attributes instead; the GenAI reader covers those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valiqor_trace.attributes import (
    GEN_AI_COMPLETION,
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROMPT,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_SYSTEM,
    GEN_AI_TOOL_NAME,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD,
    GEN_AI_USAGE_COMPLETION_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_PROMPT_TOKENS,
)
from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._messages import message_of, tool_definition_of
from valiqor_trace.analyzer.reconstruct._tools import tool_arguments, tool_output
from valiqor_trace.analyzer.reconstruct._values import as_int, as_list, document_text, parse_json, text_of, unflatten
from valiqor_trace.store import SpanRecord

# OpenLLMetry flattens the older JSON attributes: gen_ai.prompt.0.role, gen_ai.prompt.0.content, ...
_PROMPT_PREFIX = f"{GEN_AI_PROMPT}."
_COMPLETION_PREFIX = f"{GEN_AI_COMPLETION}."
_FIRST_PROMPT_ROLE = f"{_PROMPT_PREFIX}0.role"
_FIRST_COMPLETION_ROLE = f"{_COMPLETION_PREFIX}0.role"
_KINDS = {"workflow": v.WORKFLOW, "task": v.CHAIN, "agent": v.AGENT, "tool": v.TOOL}


def kind(attributes: Mapping[str, Any]) -> str | None:
    value = attributes.get("traceloop.span.kind")
    if value is not None:
        return _KINDS.get(str(value).lower(), v.OTHER)
    if "llm.request.type" in attributes or _FIRST_PROMPT_ROLE in attributes \
            or _FIRST_COMPLETION_ROLE in attributes:
        return v.LLM
    return None


def is_openllmetry(attributes: Mapping[str, Any]) -> bool:
    return "traceloop.span.kind" in attributes or "traceloop.entity.name" in attributes \
        or "llm.request.type" in attributes or _FIRST_PROMPT_ROLE in attributes \
        or _FIRST_COMPLETION_ROLE in attributes


def read_llm(span: SpanRecord) -> v.LLMCall | None:
    attrs = span.attributes
    prompts = unflatten(attrs, _PROMPT_PREFIX)
    completions = unflatten(attrs, _COMPLETION_PREFIX)
    if not isinstance(prompts, list) and not isinstance(completions, list):
        return None
    call = v.LLMCall(input_messages=_messages(prompts), output_messages=_messages(completions),
                     request_model=_str(attrs.get(GEN_AI_REQUEST_MODEL)),
                     response_model=_str(attrs.get(GEN_AI_RESPONSE_MODEL)))
    for function in unflatten(attrs, "llm.request.functions.") or []:
        definition = tool_definition_of(function)
        if definition:
            call.tool_definitions.append(definition)
    call.finish_reasons = [str(r) for r in as_list(attrs.get(GEN_AI_RESPONSE_FINISH_REASONS))] or \
        [m.finish_reason for m in call.output_messages if m.finish_reason]
    call.input_tokens = as_int(attrs.get(GEN_AI_USAGE_PROMPT_TOKENS, attrs.get(GEN_AI_USAGE_INPUT_TOKENS)))
    call.output_tokens = as_int(attrs.get(GEN_AI_USAGE_COMPLETION_TOKENS,
                                          attrs.get(GEN_AI_USAGE_OUTPUT_TOKENS)))
    call.cache_read_tokens = as_int(attrs.get(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD))
    call.provider = _str(attrs.get(GEN_AI_SYSTEM))
    return call


def _messages(entries: Any) -> list[v.Message]:
    if not isinstance(entries, list):
        return []
    return [message_of(_shape(entry)) for entry in entries if isinstance(entry, Mapping)]


def _shape(entry: Mapping[str, Any]) -> dict[str, Any]:
    shaped = dict(entry)
    calls = entry.get("tool_calls")
    if isinstance(calls, list):
        shaped["tool_calls"] = [c for c in calls if isinstance(c, Mapping)]
    return shaped


def read_tool(span: SpanRecord) -> v.ToolExec | None:
    attrs = span.attributes
    if kind(attrs) != v.TOOL:
        return None
    arguments, args_id = tool_arguments(attrs.get("traceloop.entity.input"))
    output, output_id = tool_output(attrs.get("traceloop.entity.output"))
    name = attrs.get("traceloop.entity.name") or attrs.get(GEN_AI_TOOL_NAME) or span.name.removesuffix(".tool")
    return v.ToolExec(name=str(name), call_id=args_id or output_id, arguments=arguments, output=output)


def read_retrieval(span: SpanRecord) -> v.Retrieval | None:
    """Retriever spans (LangChain ``vector_db_retrieve``): documents in the entity output."""
    attrs = span.attributes
    if attrs.get(GEN_AI_OPERATION_NAME) != "vector_db_retrieve":
        return None
    output = parse_json(attrs.get("traceloop.entity.output"))
    docs = output.get("documents") if isinstance(output, Mapping) else output
    texts = [document_text(d) for d in as_list(docs)]
    entity_input = parse_json(attrs.get("traceloop.entity.input"))
    query = entity_input.get("query") if isinstance(entity_input, Mapping) else None
    return v.Retrieval(query=text_of(query), documents=[t for t in texts if t])


def read_io(span: SpanRecord) -> tuple[str | None, str | None]:
    attrs = span.attributes
    return text_of(attrs.get("traceloop.entity.input")), text_of(attrs.get("traceloop.entity.output"), answer=True)


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
