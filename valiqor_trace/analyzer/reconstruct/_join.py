"""Tool calls: the model's requests joined with the tool executions.

- A tool span joins the request with the same call id; without ids on both
  sides (an id that matches nothing on the other side counts as none: two
  instrumentations that each make up an id for a provider that sends none,
  like Gemini's, disagree), the earliest unjoined request of the same name made before the tool
  started (equal arguments preferred) by a model call of the tool's own agent or
  of an agent around it: a request made inside a sub-agent is that sub-agent's
  to run, so an outer agent's tool never takes it.
- A request with no tool span is still executed when a later LLM call was sent
  its result (a ``tool`` message with its call id): the output is that message.
- A request with neither, made in the *last* model call of an agent span that ended
  without error and whose recorded output contains every argument value of the request, is
  that agent's answer: the framework consumed it as the agent's return value (smolagents'
  ``final_answer`` in a managed agent is never run as a tool). It is not a tool call, so it
  is left out; the answer is the agent span's output.
- Otherwise the request never ran: ``executed=False``, ``output=None``.
- A request seen only in the history sent to a model call (its own call was
  traced elsewhere) counts when its result was sent too, else it is left out.
- A tool span that no request matches is kept on its own (code agents run tools
  the model wrote as code, not as structured calls).

Order: execution order, i.e. tool span start, across nested agents. A request
with no span of its own sits right after the request made before it in the same
model call (the first of a call: right before the next); when none of a call's
requests has a span, they sit where the call ended, in the model's order.

Outputs are only ever what a span or a message recorded; nothing is made up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from valiqor_trace.analyzer.models import ToolCall
from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.analyzer.reconstruct._classify import error_of
from valiqor_trace.analyzer.reconstruct._tree import TraceTree


_LOOKAHEAD = 8  # parallel calls of one tool in one turn rarely exceed this
_UNKNOWN = "?"  # not a span id: marks "not looked up yet"


@dataclass
class _Request:
    request: v.ToolRequest
    llm: v.SpanView
    order: int
    joined: bool = False
    from_history: bool = False  # seen only in a later call's input (the request's own span is elsewhere)
    call: ToolCall | None = None  # the executed call its tool span became
    started: int | None = None  # when that tool span started
    owner: str | None = _UNKNOWN  # the agent span its model call ran in (looked up when first needed)


def join_tool_calls(views: Sequence[v.SpanView], tree: TraceTree | None = None) -> list[ToolCall]:
    """The executed and requested tool calls of ``views``, in execution order (see the module doc)."""
    requests = _requests(views)
    by_id = {r.request.id: r for r in requests if r.request.id}
    by_name: dict[str, list[_Request]] = {}
    for pending in requests:
        by_name.setdefault(pending.request.name, []).append(pending)
    results = _tool_results(views)
    scopes = _Scopes(tree, views) if tree is not None else None
    if scopes is not None and not scopes.agents:
        scopes = None  # no agent spans: nothing to scope
    tool_ids = {view.tool.call_id for view in views if view.tool is not None and view.tool.call_id}
    lone: list[tuple[tuple[int, int], ToolCall]] = []
    for view in views:
        if view.tool is None:
            continue
        request = _match(view, by_id, by_name, scopes, tool_ids)
        call = _executed(view, request, results)
        if request is None:
            lone.append(((view.start, len(requests)), call))
        else:
            request.call, request.started = call, view.start
    returns = _AgentReturns(views, scopes) if scopes is not None else None
    entries = lone + [(key, call) for key, call in _request_entries(requests, results, returns)]
    entries.sort(key=lambda entry: entry[0])
    return [call for _, call in entries]


def _request_entries(requests: list[_Request], results: dict[str, str],
                     returns: _AgentReturns | None) -> list[tuple[tuple[int, int], ToolCall]]:
    """Requested calls keyed for sorting: when their span started; one without a span (untraced, or never
    run) right after the request made before it in the same model call, else right before the next."""
    by_call: dict[tuple[str, bool], list[_Request]] = {}
    for pending in requests:  # already in request order
        by_call.setdefault((pending.llm.span_id, pending.from_history), []).append(pending)
    out: list[tuple[tuple[int, int], ToolCall]] = []
    for asked in by_call.values():
        started = [p.started for p in asked if p.started is not None]
        anchor = started[0] if started else asked[0].llm.end
        for pending in asked:
            anchor = pending.started if pending.started is not None else anchor
            call = pending.call or _unjoined(pending, results, returns)
            if call is not None:
                out.append(((anchor, pending.order), call))
    return out


def _unjoined(pending: _Request, results: dict[str, str], returns: _AgentReturns | None) -> ToolCall | None:
    request = pending.request
    result = results.get(request.id) if request.id else None
    if pending.from_history and result is None:
        return None  # an old request replayed as history: whether it ran is not this trace's to say
    if result is None and returns is not None and returns.returned_by(pending) is not None:
        return None  # the agent's answer, not a call that failed to run
    return ToolCall(id=request.id, name=request.name, arguments=request.arguments, output=result,
                    executed=result is not None)


class _AgentReturns:
    """Never-run requests that are an agent's answer (see the module doc)."""

    def __init__(self, views: Sequence[v.SpanView], scopes: _Scopes) -> None:
        self.views, self.scopes = views, scopes
        self._last: dict[str | None, str] | None = None  # agent span id -> its last model call's span id

    def returned_by(self, pending: _Request) -> v.SpanView | None:
        """The agent span whose return value ``pending`` was, or None."""
        agent_id = self.scopes.agent_of(pending.llm.span_id)
        agent = self.scopes.agents.get(agent_id) if agent_id else None
        if agent is None or agent.span.is_error or not agent.output or self.last_call(agent_id) != pending.llm.span_id:
            return None
        values = _argument_values(pending.request.arguments)
        answer = " ".join(agent.output.split())
        return agent if values and all(" ".join(value.split()) in answer for value in values) else None

    def last_call(self, agent_id: str | None) -> str | None:
        if self._last is None:  # built on the first never-run request only: most traces have none
            self._last = {}
            for view in sorted((x for x in self.views if x.llm is not None), key=lambda x: (x.end, x.start)):
                self._last[self.scopes.agent_of(view.span_id)] = view.span_id
        return self._last.get(agent_id)


def _argument_values(arguments: object) -> list[str]:
    """The non-empty scalar values of a request's arguments (the text itself when they are not an object)."""
    if isinstance(arguments, dict):
        values = [str(value) for value in arguments.values() if isinstance(value, (str, int, float))]
    elif isinstance(arguments, (str, int, float)):
        values = [str(arguments)]
    else:
        values = []
    return [value for value in values if value.strip()]


class _Scopes:
    """The agent each span runs in: the nearest enclosing AGENT span, looked up once per span."""

    def __init__(self, tree: TraceTree, views: Sequence[v.SpanView]) -> None:
        self.tree = tree
        self.agents = {view.span_id: view for view in views if view.kind == v.AGENT}
        self._nearest: dict[str, str | None] = {}
        self._enclosing: dict[str, frozenset[str]] = {}

    def agent_of(self, span_id: str) -> str | None:
        """The nearest agent span above ``span_id`` (not itself), or None."""
        path: list[str] = []
        current, found = span_id, None
        # Iterative with memo: traces can be thousands of spans deep, and siblings share their ancestors.
        while current not in self._nearest:
            path.append(current)
            parent = self.tree.by_id[current].parent_span_id if current in self.tree.by_id else None
            if parent is None or self.tree.depth.get(current, 0) == 0:  # a root (or a broken cycle's)
                break
            if parent in self.agents:
                found = parent
                break
            current = parent
        else:
            found = self._nearest[current]
        for step in path:
            self._nearest[step] = found
        return found

    def within(self, requests: list[_Request], tool: v.SpanView) -> list[_Request]:
        """``requests`` minus those made inside an agent that ``tool`` is not inside."""
        around = self._agents_around(tool.span_id)
        kept = []
        for pending in requests:
            if pending.owner is _UNKNOWN:
                pending.owner = self.agent_of(pending.llm.span_id)
            if pending.owner is None or pending.owner in around:
                kept.append(pending)
        return kept

    def _agents_around(self, span_id: str) -> frozenset[str]:
        """Every agent span above ``span_id`` (memoized per nearest agent: its tools share the answer)."""
        nearest = self.agent_of(span_id)
        if nearest is None:
            return frozenset()
        if nearest not in self._enclosing:
            chain: list[str] = []
            agent: str | None = nearest
            while agent is not None and agent not in chain:
                chain.append(agent)
                agent = self.agent_of(agent)
            self._enclosing[nearest] = frozenset(chain)
        return self._enclosing[nearest]


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


def _match(view: v.SpanView, by_id: dict[str, _Request], by_name: dict[str, list[_Request]],
           scopes: _Scopes | None, tool_ids: set[str]) -> _Request | None:
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
    tool_id = tool.call_id if tool.call_id in by_id else None  # one no request has is no id to keep apart
    candidates = [r for r in queue[:_LOOKAHEAD] if not r.joined and r.llm.start <= view.start
                  and (r.request.id is None or r.request.id not in tool_ids or tool_id is None)]
    if candidates and scopes is not None:
        candidates = scopes.within(candidates, view)
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
