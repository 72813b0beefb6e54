"""Tool calls: the model's requests joined with the tool executions.

- A tool span joins the request with the same call id; without ids on both
  sides, the earliest unjoined request of the same name made before the tool
  started (equal arguments preferred).
- A request with no tool span is still executed when a later LLM call was sent
  its result (a ``tool`` message with its call id): the output is that message.
- Otherwise the request never ran: ``executed=False``, ``output=None``.
- A request seen only in the history sent to a model call (its own call was
  traced elsewhere) counts when its result was sent too, else it is left out.
- A tool span that no request matches is kept on its own (code agents run tools
  the model wrote as code, not as structured calls).

Outputs are only ever what a span or a message recorded; nothing is made up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analyzer.models import ToolCall
from analyzer.reconstruct import _views as v
from analyzer.reconstruct._classify import error_of


_LOOKAHEAD = 8  # parallel calls of one tool in one turn rarely exceed this


@dataclass
class _Request:
    request: v.ToolRequest
    llm: v.SpanView
    order: int
    joined: bool = False
    from_history: bool = False  # seen only in a later call's input (the request's own span is elsewhere)


def join_tool_calls(views: Sequence[v.SpanView]) -> list[ToolCall]:
    requests = _requests(views)
    by_id = {r.request.id: r for r in requests if r.request.id}
    by_name: dict[str, list[_Request]] = {}
    for pending in requests:
        by_name.setdefault(pending.request.name, []).append(pending)
    results = _tool_results(views)
    entries: list[tuple[tuple[int, int], ToolCall]] = []
    for view in views:
        if view.tool is None:
            continue
        match = _match(view, requests, by_id, by_name)
        # Joined calls keep the model's order of requests; lone tool spans sit where they started.
        key = (match.llm.end, match.order) if match else (view.start, len(requests))
        entries.append((key, _executed(view, match, results)))
    for pending in requests:
        if pending.joined:
            continue
        request = pending.request
        result = results.get(request.id) if request.id else None
        if pending.from_history and result is None:
            continue  # an old request replayed as history: whether it ran is not this trace's to say
        entries.append(((pending.llm.end, pending.order), ToolCall(id=request.id, name=request.name, arguments=request.arguments,
                                                       output=result, executed=result is not None)))
    entries.sort(key=lambda entry: entry[0])
    return [call for _, call in entries]


def _requests(views: Sequence[v.SpanView]) -> list[_Request]:
    out: list[_Request] = []
    seen_ids: set[str] = set()
    for view in sorted((x for x in views if x.llm is not None), key=lambda x: (x.end, x.start)):
        assert view.llm is not None
        for request in view.llm.requests:
            if request.id and request.id in seen_ids:
                continue  # the same request recorded twice (nested LLM spans)
            if request.id:
                seen_ids.add(request.id)
            out.append(_Request(request=request, llm=view, order=len(out)))
    # Requests that only appear in the history sent to a later call: their output span is in another
    # trace (apps that trace model calls only, one trace per call), but their results may be here.
    for view in (x for x in views if x.llm is not None):
        assert view.llm is not None
        for message in view.llm.input_messages:
            for request in message.tool_calls:
                if request.id and request.id not in seen_ids:
                    seen_ids.add(request.id)
                    out.append(_Request(request=request, llm=view, order=len(out), from_history=True))
    return out


def _tool_results(views: Sequence[v.SpanView]) -> dict[str, str]:
    """Tool results that LLM calls were sent, by call id (first recorded wins)."""
    results: dict[str, str] = {}
    for view in views:
        if view.llm is None:
            continue
        for message in view.llm.input_messages:
            if message.role == "tool" and message.tool_call_id and message.text is not None:
                results.setdefault(message.tool_call_id, message.text)
    return results


def _match(view: v.SpanView, requests: list[_Request], by_id: dict[str, _Request],
           by_name: dict[str, list[_Request]]) -> _Request | None:
    tool = view.tool
    assert tool is not None  # called for tool views only
    if tool.call_id:
        found = by_id.get(tool.call_id)
        if found is not None and not found.joined:
            found.joined = True
            return found
    queue = by_name.get(tool.name)
    if not queue:
        return None
    while queue and queue[0].joined:  # drop requests joined by id since
        queue.pop(0)
    # The earliest few unjoined requests made before the tool started; equal arguments win.
    candidates = [r for r in queue[:_LOOKAHEAD] if not r.joined and r.llm.start <= view.start
                  and (r.request.id is None or tool.call_id is None)]
    if not candidates:
        return None
    chosen = next((r for r in candidates if r.request.arguments == tool.arguments), candidates[0])
    chosen.joined = True
    return chosen


def _executed(view: v.SpanView, pending: _Request | None, results: dict[str, str]) -> ToolCall:
    tool = view.tool
    assert tool is not None
    call_id = (pending.request.id if pending else None) or tool.call_id
    output = tool.output
    if output is None and call_id:
        output = results.get(call_id)  # recorded in the next LLM call's messages
    error = None
    if view.span.is_error:
        error_type, message = error_of(view.span)
        error = message or error_type or "error"
    return ToolCall(id=call_id, name=pending.request.name if pending else tool.name,
                    arguments=pending.request.arguments if pending else tool.arguments,
                    output=output, error=error, span_id=view.span_id, executed=True)
