"""Streams over a real socket: the scripted model server's SSE, slow and cut streams, concurrent clients."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import StatusCode

import openai
from tests.instrumentors.openai.fakes import OPENAI_VERSION, content, sdk_http
from valiqor_trace.testing.model_server import Reply, ToolCallSpec

# What a read error inside a stream reaches the app as: openai 3.x wraps it in APIConnectionError,
# openai 1.x and 2.x let httpx's own error through. Either way the app must get the SDK's object.
CUT_STREAM_ERROR = openai.APIConnectionError if OPENAI_VERSION >= (3, 0) else sdk_http.RemoteProtocolError


def test_sse_stream_with_text_tool_call_and_usage(traced, model_server) -> None:  # noqa: ANN001
    model_server.enqueue(Reply("Let me check.", tool_calls=(ToolCallSpec("get_weather", '{"city": "Paris"}',
                                                                         "call_7"),)))
    stream = model_server.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}], stream=True,
        stream_options={"include_usage": True})

    arguments = "".join(chunk.choices[0].delta.tool_calls[0].function.arguments or ""
                        for chunk in stream if chunk.choices and chunk.choices[0].delta.tool_calls)

    assert arguments == '{"city": "Paris"}'
    span = traced.only_span()
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "text", "content": "Let me check."},
        {"type": "tool_call", "id": "call_7", "name": "get_weather", "arguments": '{"city": "Paris"}'}]}]
    assert span.attributes["gen_ai.usage.input_tokens"] == 3
    assert span.attributes["server.address"] == "127.0.0.1"


def test_stream_cut_by_the_server_after_3_of_20_chunks(traced, model_server) -> None:  # noqa: ANN001
    text = " ".join(f"w{index}" for index in range(19))  # role chunk + 19 words = 20 chunks before finish
    model_server.enqueue(Reply(text, cut_after=3))
    stream = model_server.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Count"}], stream=True)

    received = []
    with pytest.raises(CUT_STREAM_ERROR) as raised:
        for chunk in stream:
            received.append(chunk)

    assert len(received) == 3
    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["valiqor.stream.end_reason"] == "error"
    assert content(span, "gen_ai.output.messages")[0]["parts"][0]["content"] == "w0 w1 "


def test_slow_stream_closed_early(traced, model_server) -> None:  # noqa: ANN001
    model_server.enqueue(Reply("a b c d e f g h", chunk_delay_s=0.01))
    client = model_server.client()

    with client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "go"}],
                                        stream=True) as stream:
        for index, _ in enumerate(stream):
            if index == 3:
                break

    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.attributes["valiqor.stream.end_reason"] == "closed"
    assert content(span, "gen_ai.output.messages")[0]["parts"][0]["content"] == "a b c "


async def test_concurrent_async_streams_over_the_socket(traced, model_server) -> None:  # noqa: ANN001
    client = model_server.async_client()
    tracer = traced.provider.get_tracer("app")

    async def ask(index: int) -> tuple[int, str]:
        with tracer.start_as_current_span(f"job-{index}") as parent:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"job {index} please"}], stream=True)
            text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
            return parent.get_span_context().span_id, text

    results = await asyncio.gather(*(ask(index) for index in range(40)))

    assert [text for _, text in results] == [f"You said: job {index} please" for index in range(40)]
    assert traced.counter.open == 0
    chats = {span.parent.span_id: span for span in traced.spans() if span.name.startswith("chat")}
    for parent_id, text in results:
        assert content(chats[parent_id], "gen_ai.output.messages")[0]["parts"][0]["content"] == text
