"""The context rule: what the model was given to ground its answer, from the best source the trace has.

1. Retrieved documents with text (retrieval spans), in retrieval order.
2. Else prompt template variables named like context (``gen_ai.prompt.variable.context``, ``...documents``,
   ``...sources``, ``...passages``) of the model calls, in call order: the OTel GenAI LangChain instrumentation
   records a retriever's documents by id and score only, and their text only as the variable the prompt
   template filled in.
3. Else, after a retrieval span that listed documents without their text, the messages
   that carried them: the system instructions and any user message other than the item's input, of the
   first model call after it. The trace has the text only as part of those messages, so each is one entry.

Every tier is de-duplicated by text (the first occurrence wins); the span ids say where each entry came from.
"""

from __future__ import annotations

from collections.abc import Sequence

from valiqor_trace.analyzer.reconstruct import _views as v


def context_of(views: Sequence[v.SpanView], llm_views: Sequence[v.SpanView],
               input_text: str) -> tuple[list[str], list[str]]:
    """(context texts, the span id of each) for the item whose input is ``input_text``."""
    found = _Collected()
    for view in views:
        if view.retrieval is not None:
            found.add(view.retrieval.documents, view.span_id)
    if found.texts:
        return found.texts, found.span_ids
    for view in llm_views:
        assert view.llm is not None  # llm_views are the views with an LLM call
        found.add(view.llm.context_variables, view.span_id)
    if found.texts:
        return found.texts, found.span_ids
    for view in views:
        if view.retrieval is not None and view.retrieval.listed:  # documents came back, their text is elsewhere
            call = _next_call(view, llm_views)
            if call is not None:
                found.add(_carrying_messages(call, input_text), call.span_id)
    return found.texts, found.span_ids


class _Collected:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.span_ids: list[str] = []
        self._seen: set[str] = set()

    def add(self, texts: Sequence[str], span_id: str) -> None:
        for text in texts:
            key = text.strip()
            if key and key not in self._seen:
                self._seen.add(key)
                self.texts.append(text)
                self.span_ids.append(span_id)


def _next_call(retrieval: v.SpanView, llm_views: Sequence[v.SpanView]) -> v.SpanView | None:
    """The first model call that started once the retrieval had ended (its results can only reach later calls)."""
    later = [view for view in llm_views if view.start >= retrieval.end]
    return min(later, key=lambda view: view.start) if later else None


def _carrying_messages(view: v.SpanView, input_text: str) -> list[str]:
    call = view.llm
    assert call is not None
    texts = [call.system_prompt] if call.system_prompt else \
        [m.text for m in call.input_messages if m.role == "system" and m.text]
    request = input_text.strip()
    texts += [m.text for m in call.input_messages if m.role == "user" and m.text and m.text.strip() != request]
    return [text for text in texts if text]
