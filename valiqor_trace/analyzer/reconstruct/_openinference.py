"""Reader for OpenInference spans (Arize Phoenix, and the TRAIL benchmark's smolagents traces).

Keys: ``openinference.span.kind`` (LLM, TOOL, RETRIEVER, AGENT, CHAIN, EMBEDDING,
RERANKER, ...), ``input.value`` / ``output.value``, flattened messages
``llm.input_messages.N.message.{role,content,contents.M.message_content.text,
tool_calls.K.tool_call.{id,function.name,function.arguments},tool_call_id}``,
``llm.output_messages...``, ``llm.tools.N.tool.json_schema``, ``llm.model_name``,
``llm.token_count.*``, ``llm.invocation_parameters``, ``tool.name`` /
``tool.parameters``, ``tool_call.id``, ``retrieval.documents.N.document.*``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._messages import message_of, messages_of, tool_definition_of
from valiqor_trace.analyzer.reconstruct._tools import tool_arguments, tool_output
from valiqor_trace.analyzer.reconstruct._values import as_int, as_list, document_text, parse_json, text_of, unflatten
from valiqor_trace.store import SpanRecord

KIND = "openinference.span.kind"
_KINDS = {"LLM": v.LLM, "TOOL": v.TOOL, "RETRIEVER": v.RETRIEVAL, "RERANKER": v.RETRIEVAL, "AGENT": v.AGENT,
          "CHAIN": v.CHAIN, "EMBEDDING": v.EMBEDDING}


def kind(attributes: Mapping[str, Any]) -> str | None:
    value = attributes.get(KIND)
    return _KINDS.get(str(value).upper(), v.OTHER) if value is not None else None


def read_llm(span: SpanRecord) -> v.LLMCall | None:
    attrs = span.attributes
    inputs = _flat_messages(attrs, "llm.input_messages.")
    outputs = _flat_messages(attrs, "llm.output_messages.")
    if not outputs:
        outputs = _output_value_messages(attrs.get("output.value"))
    if not inputs:
        parsed = parse_json(attrs.get("input.value"))
        inputs = messages_of(parsed) if isinstance(parsed, (Mapping, list)) else []
    call = v.LLMCall(input_messages=inputs, output_messages=outputs,
                     request_model=_str(attrs.get("llm.model_name")), response_model=_str(attrs.get("llm.model_name")))
    for tool in unflatten(attrs, "llm.tools.") or []:
        definition = tool_definition_of(tool.get("tool", {}).get("json_schema")) if isinstance(tool, Mapping) else None
        if definition:
            call.tool_definitions.append(definition)
    finish = attrs.get("llm.finish_reason")
    call.finish_reasons = [str(finish)] if finish else [m.finish_reason for m in outputs if m.finish_reason]
    call.input_tokens = as_int(attrs.get("llm.token_count.prompt"))
    call.output_tokens = as_int(attrs.get("llm.token_count.completion"))
    call.cache_read_tokens = as_int(attrs.get("llm.token_count.prompt_details.cache_read"))
    call.provider = _str(attrs.get("llm.provider") or attrs.get("llm.system"))
    params = parse_json(attrs.get("llm.invocation_parameters"))
    if isinstance(params, Mapping) and params.get("response_format") is not None:
        call.response_format = params["response_format"]
    if isinstance(params, Mapping):
        stop = params.get("stop", params.get("stop_sequences"))
        call.stop_sequences = [stop] if isinstance(stop, str) else [str(s) for s in as_list(stop)]
    return call


def _flat_messages(attrs: Mapping[str, Any], prefix: str) -> list[v.Message]:
    entries = unflatten(attrs, prefix)
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries:
        message = entry.get("message") if isinstance(entry, Mapping) else None
        if not isinstance(message, Mapping):
            continue
        shaped: dict[str, Any] = {"role": message.get("role"), "tool_call_id": message.get("tool_call_id")}
        contents = message.get("contents")
        if message.get("content") is not None:
            shaped["content"] = message["content"]
        elif isinstance(contents, list):
            shaped["content"] = [c.get("message_content", {}) for c in contents if isinstance(c, Mapping)]
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            shaped["tool_calls"] = [c.get("tool_call") for c in calls if isinstance(c, Mapping)]
        out.append(message_of(shaped))
    return out


def _output_value_messages(raw: Any) -> list[v.Message]:
    """Output messages from ``output.value`` when the flattened keys are missing."""
    value = parse_json(raw)
    if isinstance(value, Mapping) and isinstance(value.get("choices"), list):  # OpenAI response body
        return [message_of(choice) for choice in value["choices"] if isinstance(choice, Mapping)]
    if isinstance(value, Mapping) and "role" in value:  # smolagents: the assistant message itself
        return [message_of(value)]
    if isinstance(raw, str) and raw and not isinstance(value, (Mapping, list)):
        return [v.Message(role="assistant", text=raw)]
    return []


def read_tool(span: SpanRecord) -> v.ToolExec | None:
    attrs = span.attributes
    if kind(attrs) != v.TOOL:
        return None
    parameters = parse_json(attrs.get("tool.parameters"))
    names = list(parameters) if isinstance(parameters, Mapping) else []
    if isinstance(parameters, Mapping) and isinstance(parameters.get("properties"), Mapping):
        names = list(parameters["properties"])
    arguments, args_id = tool_arguments(attrs.get("input.value"), names)
    output, output_id = tool_output(attrs.get("output.value"))
    return v.ToolExec(name=str(attrs.get("tool.name") or span.name), arguments=arguments, output=output,
                      call_id=_str(attrs.get("tool_call.id")) or args_id or output_id)


def read_retrieval(span: SpanRecord) -> v.Retrieval | None:
    attrs = span.attributes
    if kind(attrs) != v.RETRIEVAL:
        return None
    prefix = "reranker.output_documents." if attrs.get(KIND) == "RERANKER" else "retrieval.documents."
    documents = [document_text(d) for d in unflatten(attrs, prefix) or []]
    return v.Retrieval(query=text_of(attrs.get("input.value")), documents=[d for d in documents if d])


def read_io(span: SpanRecord) -> tuple[str | None, str | None]:
    attrs = span.attributes
    return text_of(attrs.get("input.value")), text_of(attrs.get("output.value"), answer=True)


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
