"""A traced generator holds none of the items it yielded: a long stream does not grow the app's memory.

With output capture on, the span records what the content policy records of the whole list of
items (the JSON list, redacted, cut at ``max_content_length``), from text kept only up to that cap.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import pytest

import valiqor_trace
from valiqor_trace._content import ContentPolicy
from valiqor_trace.testing import capture_spans

ITEMS = 300
PAYLOAD = 10_000  # characters per item: 3 MB over the stream, far beyond a 2,000-character cap


class Chunk:
    """A large yielded item that can be watched with a weak reference."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.payload = "x" * PAYLOAD

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "payload": self.payload}


def _chunks(n: int) -> Any:
    for index in range(n):
        yield Chunk(index)


def _assert_earlier_items_are_gone(refs: list[weakref.ref]) -> None:
    alive = [ref().index for ref in refs[:-1] if ref() is not None]
    assert alive == [], f"{len(alive)} yielded items still held by the tracing wrapper"


@pytest.mark.parametrize("capture_output", [False, True])
def test_a_generator_holds_no_yielded_item(capture_output: bool) -> None:
    with capture_spans(instrument=False, max_content_length=2000) as spans:
        stream = valiqor_trace.trace_function("stream", capture_output=capture_output)(_chunks)
        refs: list[weakref.ref] = []
        for chunk in stream(ITEMS):
            refs.append(weakref.ref(chunk))
            _assert_earlier_items_are_gone(refs)  # mid-iteration, while the stream is still open
    [span] = spans.get_finished_spans()
    assert len(refs) == ITEMS
    assert ("valiqor.output" in span.attributes) is capture_output


async def test_an_async_generator_holds_no_yielded_item() -> None:
    async def chunks(n: int) -> Any:
        for index in range(n):
            yield Chunk(index)

    for capture_output in (False, True):
        with capture_spans(instrument=False, max_content_length=2000):
            stream = valiqor_trace.trace_function("stream", capture_output=capture_output)(chunks)
            refs: list[weakref.ref] = []
            async for chunk in stream(ITEMS):
                refs.append(weakref.ref(chunk))
                _assert_earlier_items_are_gone(refs)
            assert len(refs) == ITEMS


def test_a_long_stream_records_the_capped_list_the_policy_would_record() -> None:
    with capture_spans(instrument=False, max_content_length=2000) as spans:
        stream = valiqor_trace.trace_function("stream")(_chunks)
        assert sum(1 for _ in stream(ITEMS)) == ITEMS
    [span] = spans.get_finished_spans()
    whole = [Chunk(index).to_dict() for index in range(ITEMS)]
    recorded = span.attributes["valiqor.output"]
    assert recorded == ContentPolicy(max_length=2000).text(whole)
    assert recorded.startswith('[{"index": 0, "payload": "xxx')
    assert recorded.endswith(f"...[truncated {len(json.dumps(whole)) - 2000} chars]")


async def test_a_short_async_stream_records_every_item_redacted() -> None:
    async def words() -> Any:
        for word in ("public", "secret", "public"):
            yield word

    with capture_spans(instrument=False, redact=lambda text: text.replace("secret", "[hidden]")) as spans:
        stream = valiqor_trace.trace_function("words")(words)
        assert [word async for word in stream()] == ["public", "secret", "public"]  # the app gets its items
    [span] = spans.get_finished_spans()
    assert json.loads(span.attributes["valiqor.output"]) == ["public", "[hidden]", "public"]


def test_with_capture_content_off_nothing_is_recorded() -> None:
    with capture_spans(instrument=False, capture_content=False) as spans:
        stream = valiqor_trace.trace_function("stream")(_chunks)
        assert sum(1 for _ in stream(3)) == 3
    [span] = spans.get_finished_spans()
    assert "valiqor.output" not in span.attributes


def test_what_a_stream_capture_holds_stays_under_the_cap_plus_one_item() -> None:
    from valiqor_trace._content import StreamCapture

    capture = StreamCapture(ContentPolicy(max_length=2000))
    for index in range(5000):
        capture.add(Chunk(index))
        assert capture.held_chars <= 2000 + PAYLOAD + 100
    assert capture.text().endswith(" chars]")
