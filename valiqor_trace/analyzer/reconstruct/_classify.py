"""One span -> :class:`SpanView`: ask each convention reader, most specific first.

A span may carry several conventions at once (OpenLLMetry's LangChain spans
have ``traceloop.*`` and ``gen_ai.*`` keys; ours have ``valiqor.*`` and
``gen_ai.*``), so kind and content are looked up separately: the kind from the
first convention that declares one, each part of the content from the first
reader that finds it.
"""

from __future__ import annotations

from typing import Any

from valiqor_trace.attributes import ERROR_TYPE, GEN_AI_PREFIX
from valiqor_trace.analyzer.reconstruct import _genai, _openinference, _openllmetry, _valiqor
from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.store import SpanRecord

VALIQOR = "valiqor"
GENAI = "genai"
OPENINFERENCE = "openinference"
OPENLLMETRY = "openllmetry"


def convention_of(attributes: dict[str, Any]) -> str | None:
    if _valiqor.kind(attributes) is not None:
        return VALIQOR
    if _openinference.KIND in attributes:
        return OPENINFERENCE
    if _openllmetry.is_openllmetry(attributes):
        return OPENLLMETRY
    if _genai.is_genai(attributes) or any(key.startswith(GEN_AI_PREFIX) for key in attributes):
        return GENAI
    return None


def declared_kind(attributes: dict[str, Any]) -> str:
    """The kind a span's attributes declare (llm, tool, retrieval, ...; ``other`` when none does), without
    reading its content: cheap enough for every span of a large trace."""
    return (_valiqor.kind(attributes) or _openinference.kind(attributes) or _genai.kind(attributes)
            or _openllmetry.kind(attributes) or v.OTHER)


def view_of(span: SpanRecord) -> v.SpanView:
    """What ``span`` is and carries, whichever convention wrote it."""
    attrs = span.attributes
    kind = (_valiqor.kind(attrs) or _openinference.kind(attrs) or _genai.kind(attrs)
            or _openllmetry.kind(attrs))
    view = v.SpanView(span=span, kind=kind or v.OTHER, convention=convention_of(attrs))
    if view.kind == v.LLM or kind is None:  # a declared non-LLM kind (a prompt template) is not a model call
        view.llm = _read_llm(span, attrs)
        if view.llm is not None and (view.kind == v.LLM or view.llm.input_messages or view.llm.output_messages):
            view.kind = v.LLM
            return view
        view.llm = None
    if view.kind == v.TOOL:
        view.tool = _first(span, (_openinference.read_tool, _genai.read_tool, _openllmetry.read_tool))
        if view.tool is None:
            view.tool = v.ToolExec(name=span.name)
        return view
    if view.kind in (v.RETRIEVAL, v.OTHER, v.CHAIN):
        view.retrieval = _retrieval(span)
        if view.retrieval is not None:
            view.kind = v.RETRIEVAL
            return view
    for read_io in (_valiqor.read_io, _openinference.read_io, _openllmetry.read_io, _genai.read_io):
        given_input, given_output = read_io(span)
        view.input = view.input if view.input is not None else given_input
        view.output = view.output if view.output is not None else given_output
    return view


def _read_llm(span: SpanRecord, attrs: dict[str, Any]) -> v.LLMCall | None:
    readers = []
    if _openinference.KIND in attrs:
        readers.append(_openinference.read_llm)
    readers += [_genai.read_llm, _openllmetry.read_llm]
    fallback = None
    for reader in readers:
        call = reader(span)
        if call is None:
            continue
        if call.input_messages or call.output_messages:
            return call
        fallback = fallback or call
    return fallback


def _retrieval(span: SpanRecord) -> v.Retrieval | None:
    fallback = None
    for reader in (_valiqor.read_retrieval, _openinference.read_retrieval, _genai.read_retrieval,
                   _openllmetry.read_retrieval):
        found = reader(span)
        if found is not None and found.documents:
            return found
        fallback = fallback or found
    return fallback


def _first(span: SpanRecord, readers: tuple[Any, ...]) -> Any:
    for reader in readers:
        found = reader(span)
        if found is not None:
            return found
    return None


def error_of(span: SpanRecord) -> tuple[str | None, str | None]:
    """(error type, message) of a failed span, from its status, ``error.type`` and exception events."""
    error_type = span.attributes.get(ERROR_TYPE)
    message = span.status_message or None
    for event in span.events:
        if event.name == "exception":
            error_type = error_type or event.attributes.get("exception.type")
            message = message or event.attributes.get("exception.message")
    return (str(error_type) if error_type else None), (str(message) if message else None)
