"""trace_workflow, trace_function, session and current_trace_id, as a user meets them."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading

import pytest
from opentelemetry.trace import StatusCode

import valiqor_trace
from valiqor_trace.testing import capture_spans


def _by_name(spans) -> dict:
    return {s.name: s for s in spans}


def test_workflow_trace_id_matches_current_trace_id_and_nesting() -> None:
    with capture_spans(instrument=False) as spans:
        assert valiqor_trace.current_trace_id() is None
        with valiqor_trace.trace_workflow("outer") as wf:
            inside = valiqor_trace.current_trace_id()
            with valiqor_trace.trace_workflow("inner") as inner:
                pass
    assert inside == wf.trace_id == inner.trace_id and len(wf.trace_id) == 32
    named = _by_name(spans.get_finished_spans())
    assert named["inner"].parent.span_id == named["outer"].context.span_id


def test_workflow_as_decorator_records_input_and_output() -> None:
    with capture_spans(instrument=False) as spans:
        @valiqor_trace.trace_workflow("handle-request")
        def handle(question: str, *, user: str) -> str:
            return f"{user}: {question.upper()}"

        assert handle("hi", user="ann") == "ann: HI"
    [span] = spans.get_finished_spans()
    assert json.loads(span.attributes["valiqor.input"]) == {"question": "hi", "user": "ann"}
    assert span.attributes["valiqor.output"] == "ann: HI"
    assert span.attributes["valiqor.span.kind"] == "workflow"


def test_exceptions_pass_through_unchanged_and_mark_the_span() -> None:
    error = KeyError("missing")

    with capture_spans(instrument=False) as spans:
        @valiqor_trace.trace_function
        def lookup() -> None:
            raise error

        with pytest.raises(KeyError) as caught, valiqor_trace.trace_workflow("w"):
            lookup()
    assert caught.value is error
    named = _by_name(spans.get_finished_spans())
    for name in ("lookup", "w"):
        assert named[name].status.status_code is StatusCode.ERROR
        assert named[name].attributes["error.type"] == "KeyError"
    assert [e.name for e in named["lookup"].events] == ["exception"]


async def test_async_function_and_async_generator() -> None:
    with capture_spans(instrument=False) as spans:
        @valiqor_trace.trace_function("fetch")
        async def fetch(n: int) -> list[int]:
            await asyncio.sleep(0)
            return list(range(n))

        @valiqor_trace.trace_function("tokens")
        async def tokens():
            for token in ("a", "b", "c"):
                yield token
                await asyncio.sleep(0)

        with valiqor_trace.trace_workflow("w") as wf:
            assert await fetch(3) == [0, 1, 2]
            assert [t async for t in tokens()] == ["a", "b", "c"]
            assert valiqor_trace.current_span_id() == wf.span_id  # the generator did not leak its context
    named = _by_name(spans.get_finished_spans())
    assert json.loads(named["tokens"].attributes["valiqor.output"]) == ["a", "b", "c"]
    assert named["fetch"].parent.span_id == named["tokens"].parent.span_id == named["w"].context.span_id


def test_generator_closed_early_ends_its_span_once_without_error() -> None:
    with capture_spans(instrument=False) as spans:
        @valiqor_trace.trace_function
        def numbers():
            yield from range(100)

        with valiqor_trace.trace_workflow("w"):
            for n in numbers():
                if n == 2:
                    break
    named = _by_name(spans.get_finished_spans())
    assert set(named) == {"numbers", "w"} and len(spans.get_finished_spans()) == 2
    assert json.loads(named["numbers"].attributes["valiqor.output"]) == [0, 1, 2]
    assert named["numbers"].status.status_code is StatusCode.UNSET


def test_methods_are_named_by_class() -> None:
    with capture_spans(instrument=False) as spans:
        class Agent:
            @valiqor_trace.trace_function
            def plan(self, goal: str) -> str:
                return goal

        Agent().plan("x")
    [span] = spans.get_finished_spans()
    assert span.name == "Agent.plan"
    assert json.loads(span.attributes["valiqor.input"]) == {"goal": "x"}  # self is left out


def test_session_stamps_spans_and_nests() -> None:
    with capture_spans(instrument=False, project_name="shop") as spans:
        with valiqor_trace.session(session_id="s-1", user_id="u-1", metadata={"plan": "pro", "tier": 2}):
            with valiqor_trace.trace_workflow("a"):
                with valiqor_trace.session(metadata={"plan": "trial"}), valiqor_trace.trace_workflow("b"):
                    pass
        with valiqor_trace.trace_workflow("outside"):
            pass
    named = _by_name(spans.get_finished_spans())
    assert named["a"].attributes["session.id"] == "s-1" and named["a"].attributes["user.id"] == "u-1"
    assert named["a"].attributes["valiqor.metadata.plan"] == "pro"
    assert named["a"].attributes["valiqor.metadata.tier"] == 2
    assert named["b"].attributes["session.id"] == "s-1"
    assert named["b"].attributes["valiqor.metadata.plan"] == "trial"
    assert "session.id" not in named["outside"].attributes
    assert all(s.attributes["valiqor.project_name"] == "shop" for s in named.values())


async def test_sessions_do_not_leak_between_concurrent_tasks_and_threads() -> None:
    with capture_spans(instrument=False) as spans:
        async def request(i: int) -> None:
            with valiqor_trace.session(session_id=f"task-{i}"):
                await asyncio.sleep(0.001 * (i % 3))
                with valiqor_trace.trace_workflow(f"task-{i}"):
                    await asyncio.sleep(0)

        await asyncio.gather(*(request(i) for i in range(30)))

        def worker(i: int) -> None:
            with valiqor_trace.session(session_id=f"thread-{i}"), valiqor_trace.trace_workflow(f"thread-{i}"):
                pass

        threads = [threading.Thread(target=contextvars.copy_context().run, args=(worker, i)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finished = spans.get_finished_spans()
    assert len(finished) == 40
    assert all(s.attributes["session.id"] == s.name for s in finished)
