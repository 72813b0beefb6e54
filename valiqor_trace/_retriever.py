"""Retrieval spans: the one attribute convention, and ``@valiqor_trace.retriever``.

Every retrieval span (LangChain retrievers, LlamaIndex retrievers, and functions
decorated here) is written the same way, so the analyzer reads one shape:

- span name ``retrieval {name}``; ``gen_ai.operation.name = "retrieval"``;
  ``valiqor.span.kind = "retrieval"``;
- ``valiqor.retrieval.query``: the query text (content);
- ``valiqor.retrieval.documents``: a JSON list of ``{"id", "content", "score", "metadata"}``
  (content), always valid JSON: when the list is longer than the content length
  cap, document texts are shortened and ``valiqor.retrieval.documents.truncated``
  is set;
- ``valiqor.retrieval.document_count``: how many documents came back (not content:
  kept when capture is off, so an empty retrieval is visible either way).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from valiqor_trace._content import ContentPolicy, get_content_policy, to_json
from valiqor_trace._guard import handle_internal_errors
from valiqor_trace._workflow import SpanScope
from valiqor_trace.attributes import (
    GEN_AI_OPERATION_NAME,
    RETRIEVAL_DOCUMENT_COUNT,
    RETRIEVAL_DOCUMENTS,
    RETRIEVAL_QUERY,
    SPAN_KIND,
    TRUNCATED_SUFFIX,
)

F = TypeVar("F", bound=Callable[..., Any])

RETRIEVAL = "retrieval"

_CONTENT_KEYS = ("page_content", "content", "text", "document", "chunk", "body")
_ID_KEYS = ("id", "doc_id", "document_id", "node_id", "id_", "_id", "chunk_id")
_SCORE_KEYS = ("score", "relevance_score", "similarity_score", "similarity", "_score")
_LIST_KEYS = ("documents", "docs", "results", "nodes", "source_nodes", "chunks", "matches")
_QUERY_PARAMETERS = ("query", "question", "q", "query_str", "search_query", "input", "text", "prompt")


def retrieval_attributes() -> dict[str, Any]:
    """The attributes every retrieval span starts with."""
    return {SPAN_KIND: RETRIEVAL, GEN_AI_OPERATION_NAME: RETRIEVAL}


def retrieval_span_name(name: str | None) -> str:
    return f"retrieval {name}" if name else RETRIEVAL


# --- documents -> records ---------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    get_content = getattr(value, "get_content", None)  # LlamaIndex nodes
    if callable(get_content):
        try:
            return str(get_content())
        except Exception:
            pass
    return to_json(value)


def _first(source: Any, keys: Iterable[str], *, mapping: bool) -> Any:
    for key in keys:
        value = source.get(key) if mapping else getattr(source, key, None)
        if value is not None and not callable(value):
            return value
    return None


def _from_mapping(doc: Mapping[str, Any]) -> dict[str, Any]:
    content = _first(doc, _CONTENT_KEYS, mapping=True)
    metadata = doc.get("metadata")
    if not isinstance(metadata, Mapping):
        taken = {*_CONTENT_KEYS, *_ID_KEYS, *_SCORE_KEYS, "metadata"}
        metadata = {key: value for key, value in doc.items() if key not in taken}
    score = _number(_first(doc, _SCORE_KEYS, mapping=True))
    if score is None:
        score = _number(_first(metadata, _SCORE_KEYS, mapping=True))
    return {"id": _first(doc, _ID_KEYS, mapping=True), "content": _text(content), "score": score,
            "metadata": dict(metadata)}


def _from_object(doc: Any) -> dict[str, Any]:
    node = getattr(doc, "node", None)  # LlamaIndex NodeWithScore: the score is on the wrapper
    if node is not None and hasattr(doc, "score"):
        record = _from_object(node)
        record["score"] = _number(doc.score) if _number(doc.score) is not None else record["score"]
        return record
    content = _first(doc, _CONTENT_KEYS, mapping=False)
    if content is None and callable(getattr(doc, "get_content", None)):
        content = doc
    metadata = getattr(doc, "metadata", None)
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    score = _number(getattr(doc, "score", None))
    if score is None:
        score = _number(_first(metadata, _SCORE_KEYS, mapping=True))
    return {"id": _first(doc, _ID_KEYS, mapping=False), "content": _text(content) if content is not None else str(doc),
            "score": score, "metadata": metadata}


def document_record(doc: Any) -> dict[str, Any]:
    """One retrieved item as ``{"id", "content", "score", "metadata"}``.

    Accepts strings, mappings (``page_content``/``content``/``text`` ...), LangChain
    ``Document``s, LlamaIndex nodes (with or without score), ``(document, score)``
    pairs, and any object with ``page_content``/``text``/``content``.
    """
    if isinstance(doc, str):
        return {"id": None, "content": doc, "score": None, "metadata": {}}
    if isinstance(doc, tuple) and len(doc) == 2 and _number(doc[1]) is not None:  # similarity_search_with_score
        record = document_record(doc[0])
        record["score"] = _number(doc[1])
        return record
    if isinstance(doc, Mapping):
        return _from_mapping(doc)
    return _from_object(doc)


def documents_of(result: Any) -> list[Any] | None:
    """The documents in a retriever's return value, or None when they cannot be read without consuming it.

    Lists, tuples and sets are documents; a mapping holding ``documents``/``nodes``/... is
    unwrapped; a single document is a list of one; iterators and generators are left
    alone (reading them would take the documents away from the app).
    """
    if result is None:
        return []
    if isinstance(result, (list, tuple, set, frozenset)):
        return list(result)
    if isinstance(result, Mapping):
        for key in _LIST_KEYS:
            value = result.get(key)
            if isinstance(value, (list, tuple)):
                return list(value)
        return [result]
    if isinstance(result, str) or hasattr(result, "page_content") or hasattr(result, "node"):
        return [result]
    for key in _LIST_KEYS:  # response objects (e.g. LlamaIndex Response.source_nodes)
        value = getattr(result, key, None)
        if isinstance(value, (list, tuple)):
            return list(value)
    if isinstance(result, Iterable):
        return None
    return [result]


def _fit(records: list[dict[str, Any]], policy: ContentPolicy) -> tuple[str, bool]:
    """The records as JSON no longer than the length cap, shortening document texts (never the JSON)."""
    text = json.dumps(records, default=str, ensure_ascii=False)
    if len(text) <= policy.max_length:
        return text, False
    overhead = len(json.dumps([{**r, "content": ""} for r in records], default=str, ensure_ascii=False))
    budget = max(policy.max_length - overhead, 0) // max(len(records), 1)
    marker = "...[truncated]"
    shortened = [{**r, "content": (r["content"][: max(budget - len(marker), 0)] + marker)
                  if isinstance(r["content"], str) and len(r["content"]) > budget else r["content"]}
                 for r in records]
    return json.dumps(shortened, default=str, ensure_ascii=False), True


def record_query(span: Any, query: Any) -> None:
    """Record the query (content policy applies) on a retrieval span."""
    if query is None:
        return
    text = getattr(query, "query_str", None)  # LlamaIndex QueryBundle
    text = get_content_policy().text(text if isinstance(text, str) else query)
    if text is not None:
        span.set_attribute(RETRIEVAL_QUERY, text)


def record_documents(span: Any, documents: list[Any] | None) -> None:
    """Record the count, and (content policy permitting) every document, on a retrieval span."""
    if documents is None:
        return
    span.set_attribute(RETRIEVAL_DOCUMENT_COUNT, len(documents))
    policy = get_content_policy()
    if not policy.capture:
        return
    records = [document_record(doc) for doc in documents]
    if policy.redact is not None:  # per text, so a redaction can never break the JSON around it
        for record in records:
            record["content"] = policy.text(record["content"]) if record["content"] is not None else None
            record["metadata"] = {key: policy.text(value) if isinstance(value, str) else value
                                  for key, value in record["metadata"].items()}
    text, truncated = _fit(records, policy)
    span.set_attribute(RETRIEVAL_DOCUMENTS, text)
    if truncated:
        span.set_attribute(RETRIEVAL_DOCUMENTS + TRUNCATED_SUFFIX, True)


# --- the decorator ----------------------------------------------------------------------------------------


def _query_argument(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                    query_arg: str | None) -> Any:
    try:
        bound = inspect.signature(func).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return args[0] if args else None
    if query_arg is not None:
        return bound.get(query_arg)
    for name in _QUERY_PARAMETERS:
        if name in bound:
            return bound[name]
    values = [value for name, value in bound.items() if name not in ("self", "cls")]
    return values[0] if values else None


class _RetrieverSpan:
    """Start/finish of one decorated call; our bookkeeping never reaches the user's code path."""

    def __init__(self, name: str, func: Callable[..., Any], query_arg: str | None) -> None:
        self.name = name
        self.func = func
        self.query_arg = query_arg

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> SpanScope:
        scope = SpanScope(retrieval_span_name(self.name), RETRIEVAL, {GEN_AI_OPERATION_NAME: RETRIEVAL}).__enter__()
        with handle_internal_errors("retriever query"):
            if get_content_policy().capture:
                record_query(scope.span, _query_argument(self.func, args, kwargs, self.query_arg))
        return scope

    def finish(self, scope: SpanScope, result: Any) -> None:
        with handle_internal_errors("retriever documents"):
            record_documents(scope.span, documents_of(result))
        scope.__exit__(None, None, None)


@overload
def retriever(name: F, /) -> F: ...
@overload
def retriever(name: str | None = None, /, *, query_arg: str | None = None) -> Callable[[F], F]: ...


def retriever(name: Any = None, /, *, query_arg: str | None = None) -> Any:
    """Decorator: a ``retrieval {name}`` span around a hand-written retrieval function.

    Records the query (the argument named ``query``/``question``/``q``/..., the first
    argument, or the one named by ``query_arg``) and the returned documents, whether
    strings, dicts, LangChain ``Document``s, LlamaIndex nodes, ``(doc, score)`` pairs,
    or objects with ``page_content``/``text``/``content``. Works on plain and ``async``
    functions; what the function returns or raises reaches the caller unchanged.

    Example:
        @valiqor_trace.retriever("kb-search")
        def search(query: str, k: int = 4) -> list[dict]:
            ...
    """
    if callable(name):
        return _decorate(name, None, query_arg)
    if name is not None and not isinstance(name, str):
        raise ValueError("retriever(name) takes a string name, e.g. @valiqor_trace.retriever('kb-search')")

    def decorator(func: F) -> F:
        return _decorate(func, name, query_arg)
    return decorator


def _decorate(func: F, name: str | None, query_arg: str | None) -> F:
    if not callable(func):
        raise ValueError(f"retriever() decorates a function; got {type(func).__name__}")
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise ValueError(f"retriever() cannot record documents a generator yields ({func.__qualname__}); "
                         "return a list, or use trace_function for a generator")
    if query_arg is not None and query_arg not in inspect.signature(func).parameters:
        raise ValueError(f"retriever(query_arg={query_arg!r}): {func.__qualname__} has no such parameter")
    func_name: str = getattr(func, "__name__", "retriever")  # typed apart: `name or getattr(...)` infers str | None
    spans = _RetrieverSpan(name or func_name, func, query_arg)

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            scope = spans.start(args, kwargs)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                scope.__exit__(type(exc), exc, exc.__traceback__)
                raise
            spans.finish(scope, result)
            return result
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scope = spans.start(args, kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            scope.__exit__(type(exc), exc, exc.__traceback__)
            raise
        spans.finish(scope, result)
        return result
    return wrapper  # type: ignore[return-value]
