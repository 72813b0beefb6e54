"""Reader for the OpenTelemetry GenAI semantic conventions, in every published form.

- current attributes: ``gen_ai.input.messages`` / ``gen_ai.output.messages`` /
  ``gen_ai.system_instructions`` (JSON parts), ``gen_ai.tool.definitions``,
  ``execute_tool`` spans (``gen_ai.tool.call.id/arguments/result``), retrieval
  spans (``gen_ai.retrieval.query.text`` / ``gen_ai.retrieval.documents``), prompt template variables
  named like context (``gen_ai.prompt.variable.context``: util-genai >= 1.3 lists retrieved documents by id
  and score only, so a template variable may be the only place their text is);
- the older JSON attributes ``gen_ai.prompt`` / ``gen_ai.completion`` and the
  events that carried them (``gen_ai.content.prompt`` / ``gen_ai.content.completion``);
- per-message events: ``gen_ai.{system,user,assistant,tool}.message`` and
  ``gen_ai.choice`` (span events, or log records attached to their span on import),
  and ``gen_ai.client.inference.operation.details``.

Our own instrumentors write the current attributes, so this reader covers them too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from valiqor_trace.attributes import (
    GEN_AI_ASSISTANT_MESSAGE_EVENT,
    GEN_AI_CHOICE_EVENT,
    GEN_AI_COMPLETION,
    GEN_AI_CONTENT_COMPLETION_EVENT,
    GEN_AI_CONTENT_PROMPT_EVENT,
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OPENAI_REQUEST_RESPONSE_FORMAT,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_OUTPUT_TYPE,
    GEN_AI_PROMPT,
    GEN_AI_PROMPT_VARIABLE_PREFIX,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_REQUEST_STOP_SEQUENCES,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_RETRIEVAL_DOCUMENTS,
    GEN_AI_RETRIEVAL_QUERY_TEXT,
    GEN_AI_SYSTEM,
    GEN_AI_SYSTEM_INSTRUCTIONS,
    GEN_AI_SYSTEM_MESSAGE_EVENT,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_DEFINITIONS,
    GEN_AI_TOOL_MESSAGE_EVENT,
    GEN_AI_TOOL_NAME,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD,
    GEN_AI_USAGE_COMPLETION_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_PROMPT_TOKENS,
    GEN_AI_USER_MESSAGE_EVENT,
)
from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._messages import messages_of, message_of, role_of, tool_definition_of
from valiqor_trace.analyzer.reconstruct._values import as_int, as_list, document_text, parse_json, text_of, to_text
from valiqor_trace.store import SpanEvent, SpanRecord

OPERATION_KINDS = {
    "chat": v.LLM, "text_completion": v.LLM, "generate_content": v.LLM, "completion": v.LLM,
    "execute_tool": v.TOOL, "retrieval": v.RETRIEVAL, "vector_db_retrieve": v.RETRIEVAL,
    "embeddings": v.EMBEDDING, "invoke_agent": v.AGENT, "create_agent": v.AGENT,
    "invoke_workflow": v.WORKFLOW, "execute_task": v.CHAIN,
}
_MESSAGE_EVENTS = {GEN_AI_SYSTEM_MESSAGE_EVENT: "system", GEN_AI_USER_MESSAGE_EVENT: "user",
                   GEN_AI_ASSISTANT_MESSAGE_EVENT: "assistant", GEN_AI_TOOL_MESSAGE_EVENT: "tool"}


def kind(attributes: Mapping[str, Any]) -> str | None:
    op = attributes.get(GEN_AI_OPERATION_NAME)
    return OPERATION_KINDS.get(str(op)) if op is not None else None


def is_genai(attributes: Mapping[str, Any]) -> bool:
    return GEN_AI_OPERATION_NAME in attributes or GEN_AI_INPUT_MESSAGES in attributes \
        or GEN_AI_SYSTEM in attributes or GEN_AI_PROVIDER_NAME in attributes


def read_llm(span: SpanRecord) -> v.LLMCall | None:
    """The model call on ``span``, or ``None`` when it records no GenAI messages or model."""
    attrs = span.attributes
    inputs, outputs = _attribute_messages(attrs)
    if not inputs and not outputs:
        inputs, outputs = _event_messages(span.events)
    if not inputs and not outputs and not (kind(attrs) == v.LLM or GEN_AI_REQUEST_MODEL in attrs):
        return None
    call = v.LLMCall(input_messages=inputs, output_messages=outputs,
                     request_model=_str(attrs.get(GEN_AI_REQUEST_MODEL)),
                     response_model=_str(attrs.get(GEN_AI_RESPONSE_MODEL)))
    call.system_prompt = _system_instructions(attrs.get(GEN_AI_SYSTEM_INSTRUCTIONS))
    for definition in as_list(attrs.get(GEN_AI_TOOL_DEFINITIONS)):
        parsed = tool_definition_of(definition)
        if parsed:
            call.tool_definitions.append(parsed)
    call.finish_reasons = [str(r) for r in as_list(attrs.get(GEN_AI_RESPONSE_FINISH_REASONS))] or \
        [m.finish_reason for m in outputs if m.finish_reason]
    call.input_tokens = as_int(attrs.get(GEN_AI_USAGE_INPUT_TOKENS, attrs.get(GEN_AI_USAGE_PROMPT_TOKENS)))
    call.output_tokens = as_int(attrs.get(GEN_AI_USAGE_OUTPUT_TOKENS,
                                          attrs.get(GEN_AI_USAGE_COMPLETION_TOKENS)))
    call.cache_read_tokens = as_int(attrs.get(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
                                              attrs.get(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS_OLD)))
    call.provider = _str(attrs.get(GEN_AI_PROVIDER_NAME) or attrs.get(GEN_AI_SYSTEM))
    output_type = attrs.get(GEN_AI_OUTPUT_TYPE) or attrs.get(GEN_AI_OPENAI_REQUEST_RESPONSE_FORMAT)
    call.response_format = parse_json(output_type) if output_type else None
    call.stop_sequences = [str(s) for s in as_list(attrs.get(GEN_AI_REQUEST_STOP_SEQUENCES))]
    call.context_variables = context_variables(attrs)
    return call


# Prompt template variables whose name says they hold retrieved text: a RAG prompt's {context}, {documents},
# {sources}, {passages} (a word of the name, so retrieved_docs and context_str count too).
_CONTEXT_VARIABLE_WORDS = frozenset({"context", "contexts", "document", "documents", "doc", "docs", "sources",
                                     "passage", "passages"})


def context_variables(attrs: Mapping[str, Any]) -> list[str]:
    """The text of each context-like prompt variable (``gen_ai.prompt.variable.<name>``), in recorded order:
    a list value (documents) gives one entry per element, anything else one entry."""
    texts: list[str] = []
    for key, value in attrs.items():
        if not key.startswith(GEN_AI_PROMPT_VARIABLE_PREFIX):
            continue
        words = re.split(r"[^a-z0-9]+", key[len(GEN_AI_PROMPT_VARIABLE_PREFIX):].lower())
        if not _CONTEXT_VARIABLE_WORDS.intersection(words):
            continue
        parsed = parse_json(value)
        entries = parsed if isinstance(parsed, list) else [parsed]
        texts.extend(text for text in (document_text(entry) for entry in entries) if text and text.strip())
    return texts


def _attribute_messages(attrs: Mapping[str, Any]) -> tuple[list[v.Message], list[v.Message]]:
    inputs = messages_of(attrs.get(GEN_AI_INPUT_MESSAGES))
    outputs = messages_of(attrs.get(GEN_AI_OUTPUT_MESSAGES))
    if not inputs and isinstance(attrs.get(GEN_AI_PROMPT), str):  # semconv 1.26-1.27 JSON attributes
        inputs = messages_of(attrs[GEN_AI_PROMPT])
    if not outputs and isinstance(attrs.get(GEN_AI_COMPLETION), str):
        outputs = messages_of(attrs[GEN_AI_COMPLETION])
    return inputs, outputs


def _event_messages(events: list[SpanEvent]) -> tuple[list[v.Message], list[v.Message]]:
    inputs: list[v.Message] = []
    outputs: list[v.Message] = []
    for event in events:
        attrs = event.attributes
        body = _event_body(attrs)
        if event.name in _MESSAGE_EVENTS:
            message = message_of({**body, "role": body.get("role") or _MESSAGE_EVENTS[event.name]})
            inputs.append(message)
        elif event.name == GEN_AI_CHOICE_EVENT:
            choice = body if "message" in body else {"message": body, **body}
            message = message_of({"message": {"role": "assistant", **(choice.get("message") or {})},
                                  "finish_reason": choice.get("finish_reason")})
            outputs.append(message)
        elif event.name == GEN_AI_CONTENT_PROMPT_EVENT:
            inputs.extend(messages_of(attrs.get(GEN_AI_PROMPT)))
        elif event.name == GEN_AI_CONTENT_COMPLETION_EVENT:
            outputs.extend(messages_of(attrs.get(GEN_AI_COMPLETION)))
        elif GEN_AI_INPUT_MESSAGES in attrs or GEN_AI_OUTPUT_MESSAGES in attrs:
            more_in, more_out = _attribute_messages(attrs)
            inputs.extend(more_in)
            outputs.extend(more_out)
    return inputs, outputs


def _event_body(attrs: Mapping[str, Any]) -> dict[str, Any]:
    # Events API records carry a body; exported as span events it sits under "body" (or flat).
    body = parse_json(attrs.get("body"))
    if isinstance(body, Mapping):
        return dict(body)
    return {k: parse_json(val) if k in ("tool_calls", "message") else val for k, val in attrs.items()
            if not k.startswith(GEN_AI_SYSTEM) and k != "event.name"}


def _system_instructions(value: Any) -> str | None:
    if value is None:
        return None
    parsed = parse_json(value)
    if isinstance(parsed, list):
        texts = [to_text(p.get("content")) if isinstance(p, Mapping) else to_text(p) for p in parsed]
        return "\n".join(t for t in texts if t) or None
    return to_text(parsed)


def read_tool(span: SpanRecord) -> v.ToolExec | None:
    attrs = span.attributes
    if kind(attrs) != v.TOOL and GEN_AI_TOOL_NAME not in attrs:
        return None
    from valiqor_trace.analyzer.reconstruct._tools import tool_arguments, tool_output

    arguments, args_call_id = tool_arguments(attrs.get(GEN_AI_TOOL_CALL_ARGUMENTS))
    output, output_call_id = tool_output(attrs.get(GEN_AI_TOOL_CALL_RESULT))
    name = attrs.get(GEN_AI_TOOL_NAME) or span.name.removeprefix("execute_tool ").strip()
    return v.ToolExec(name=str(name), call_id=_str(attrs.get(GEN_AI_TOOL_CALL_ID)) or args_call_id or output_call_id,
                      arguments=arguments, output=output)


def read_retrieval(span: SpanRecord) -> v.Retrieval | None:
    attrs = span.attributes
    if GEN_AI_RETRIEVAL_DOCUMENTS not in attrs and kind(attrs) != v.RETRIEVAL:
        return None
    listed = as_list(attrs.get(GEN_AI_RETRIEVAL_DOCUMENTS))
    docs = [document_text(d) for d in listed]
    return v.Retrieval(query=_str(attrs.get(GEN_AI_RETRIEVAL_QUERY_TEXT)), documents=[d for d in docs if d],
                       listed=len(listed) if GEN_AI_RETRIEVAL_DOCUMENTS in attrs else None)


def read_io(span: SpanRecord) -> tuple[str | None, str | None]:
    """Input and output text of an agent/workflow span that records messages.

    A framework's run inputs recorded as a message (OTel GenAI LangChain: ``{"question": ...}`` as JSON
    text) are unwrapped like any entry span's input."""
    attrs = span.attributes
    inputs, outputs = _attribute_messages(attrs)
    users = [m for m in inputs if role_of(m.role) == "user" and m.text]
    answers = [m for m in outputs if m.text]
    return (text_of(users[-1].text) if users else None), (text_of(answers[-1].text, answer=True) if answers else None)


def _str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
