"""LiteLLM's OpenTelemetry callback (``litellm.callbacks=["otel"]``), read field-exact.

Per request LiteLLM writes one span with the GenAI attributes (``litellm_request``, carrying
``litellm.call_id``), which the GenAI reader reads, and (content capture on, outside its
``gen_ai_latest_experimental`` mode) a child span with the provider's raw request and response:
every field as ``llm.{provider}.{field}``, each value Python repr text. Its GenAI attributes lose
some fields, which the raw span keeps:

- a tool call the model asked for is missing from ``gen_ai.output.messages`` (``"parts": []``); it is
  in the raw ``choices`` (with its call id) and, without an id, in ``gen_ai.completion.N.function_call``;
- earlier tool calls and tool results in the history are written OpenAI-style (``tool_calls``,
  ``tool_call_id``) next to ``parts`` (read by :mod:`._messages`).

So when the raw span's ``messages`` and ``choices`` parse as OpenAI chat messages, they are the call's
messages; else its ``gen_ai.completion`` function calls fill the missing requests. The raw span is then
no model call of its own. Repr text is parsed with :func:`ast.literal_eval` (literals only, never code);
a value it cannot read (a capped or redacted-away text, an object repr) leaves the GenAI attributes as
they were. A streamed call's raw span carries no fields: its GenAI attributes are all there is.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from valiqor_trace.attributes import LITELLM_CALL_ID, LITELLM_RAW_CHOICES, LITELLM_RAW_MESSAGES, LITELLM_RAW_PREFIX
from valiqor_trace.analyzer.reconstruct import _openllmetry
from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._messages import messages_of
from valiqor_trace.analyzer.reconstruct._tree import TraceTree


def merge_raw_requests(tree: TraceTree, views: Mapping[str, v.SpanView]) -> None:
    """Complete each LiteLLM request span's model call from its raw-request child (in place)."""
    added: list[v.ToolRequest] = []
    for view in views.values():
        call = view.llm
        if call is None or LITELLM_CALL_ID not in view.span.attributes:
            continue
        for child_span in tree.children.get(view.span_id, []):
            child = views.get(child_span.span_id)
            raw = _raw_messages(child.span.attributes) if child is not None and child.llm is None else None
            if raw is not None:
                call.input_messages, call.output_messages = raw
                break
        if not call.requests:
            added += _add_function_calls(view)
    if added:
        _ids_from_history(added, views)


def _raw_messages(attrs: Mapping[str, Any]) -> tuple[list[v.Message], list[v.Message]] | None:
    """The request's messages and the response's choices, when the raw span holds both as OpenAI chat."""
    for key, value in attrs.items():
        provider, _, field = key[len(LITELLM_RAW_PREFIX):].rpartition(".")
        if not key.startswith(LITELLM_RAW_PREFIX) or field != LITELLM_RAW_MESSAGES or not provider:
            continue
        choices = attrs.get(f"{LITELLM_RAW_PREFIX}{provider}.{LITELLM_RAW_CHOICES}")
        sent, answered = _literal(value), _literal(choices)
        if isinstance(sent, list) and isinstance(answered, list):
            inputs, outputs = messages_of(sent), messages_of(answered)
            if inputs and outputs and len(inputs) == len(sent) and len(outputs) == len(answered):
                return inputs, outputs
    return None


def _literal(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _add_function_calls(view: v.SpanView) -> list[v.ToolRequest]:
    """The tool calls LiteLLM left out of ``gen_ai.output.messages``, from ``gen_ai.completion.N`` (no ids)."""
    assert view.llm is not None
    legacy = _openllmetry.read_llm(view.span)
    requests = [request for message in (legacy.output_messages if legacy else []) for request in message.tool_calls]
    if requests and view.llm.output_messages:
        view.llm.output_messages[0].tool_calls.extend(requests)
    elif requests:
        view.llm.output_messages = [v.Message(role="assistant", tool_calls=requests)]
    return requests


def _ids_from_history(requests: list[v.ToolRequest], views: Mapping[str, v.SpanView]) -> None:
    """Give each id-less request the id a later call's history shows for it (same name and arguments), so
    that it is one call with its result, not two."""
    history = [call for view in views.values() if view.llm is not None
               for message in view.llm.input_messages if message.role == "assistant"
               for call in message.tool_calls if call.id]
    for request in requests:
        match = next((call for call in history if call.name == request.name and call.arguments == request.arguments),
                     None)
        if match is not None:
            request.id = match.id
            history.remove(match)
