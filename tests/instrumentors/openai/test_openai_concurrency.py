"""1,000 concurrent streamed calls under asyncio: every span ends, under its own parent, with its own text."""

from __future__ import annotations

import asyncio
import json

from tests.instrumentors.openai import fakes
from tests.instrumentors.openai.fakes import content, sdk_http

CALLS = 1000
CHUNKS = 20


def _echo_stream(request: sdk_http.Request) -> sdk_http.Response:
    """Streams 20 chunks that spell out the caller's own task name, so cross-talk would show."""
    task = json.loads(request.content)["messages"][-1]["content"]
    pieces = [f"{task}:{index} " for index in range(CHUNKS)]
    return sdk_http.Response(200, headers={"content-type": "text/event-stream"},
                             content=fakes.sse_body(fakes.text_chunks(pieces, usage=True, completion_id=task)))


async def test_a_thousand_concurrent_streams_keep_their_parents_and_their_text(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(_echo_stream)
    tracer = traced.provider.get_tracer("app")
    parents: dict[str, tuple[int, int]] = {}

    async def one_call(index: int) -> str:
        task = f"task-{index}"
        with tracer.start_as_current_span(task) as parent:
            context = parent.get_span_context()
            parents[task] = (context.trace_id, context.span_id)
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": task}], stream=True,
                stream_options={"include_usage": True})
            received = []
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    received.append(chunk.choices[0].delta.content)
                await asyncio.sleep(0)  # interleave the consumers chunk by chunk
            return "".join(received)

    texts = await asyncio.gather(*(one_call(index) for index in range(CALLS)))

    assert texts == ["".join(f"task-{index}:{chunk} " for chunk in range(CHUNKS)) for index in range(CALLS)]
    assert traced.counter.open == 0
    chat_spans = [span for span in traced.spans() if span.name == "chat gpt-4o-mini"]
    assert len(chat_spans) == CALLS
    for span in chat_spans:
        task = content(span, "gen_ai.input.messages")[0]["parts"][0]["content"]
        trace_id, parent_span_id = parents[task]
        assert span.parent.span_id == parent_span_id and span.context.trace_id == trace_id
        assert span.attributes["gen_ai.response.id"] == task
        output = content(span, "gen_ai.output.messages")[0]["parts"][0]["content"]
        assert output == "".join(f"{task}:{chunk} " for chunk in range(CHUNKS))
        assert span.attributes["valiqor.stream.end_reason"] == "exhausted"
        assert span.attributes["gen_ai.usage.output_tokens"] == CHUNKS
