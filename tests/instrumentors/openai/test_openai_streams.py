"""Streamed chat completions: the span ends exactly once, with what the app actually received.

Every test counts open spans: a span left open is a trace that never exports.
"""

from __future__ import annotations

import asyncio
import gc

import pytest
from opentelemetry.trace import StatusCode

import openai
from tests.instrumentors.openai import fakes
from tests.instrumentors.openai.fakes import content

TWENTY = [f"w{index} " for index in range(20)]


def _stream(client, **options):  # noqa: ANN001, ANN003, ANN202
    return client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True, **options)


def _text(span) -> str:  # noqa: ANN001
    return "".join(part["content"] for part in content(span, "gen_ai.output.messages")[0]["parts"]
                   if part["type"] == "text")


def test_exhausted_stream_records_text_finish_reason_and_usage(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.sse_handler(fakes.text_chunks(TWENTY, usage=True)))

    received = [chunk for chunk in _stream(client, stream_options={"include_usage": True})]

    assert len(received) == 23  # role + 20 text + finish + usage
    assert traced.counter.open == 0
    span = traced.only_span()
    assert _text(span) == "".join(TWENTY)
    assert content(span, "gen_ai.output.messages")[0]["finish_reason"] == "stop"
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert span.attributes["gen_ai.usage.input_tokens"] == 5
    assert span.attributes["gen_ai.usage.output_tokens"] == 20
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-stream"
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["valiqor.stream.end_reason"] == "exhausted"
    assert span.attributes["valiqor.stream.chunk_count"] == 23
    assert span.attributes["gen_ai.response.time_to_first_chunk"] >= 0


def test_stream_chunks_are_identical_to_an_uninstrumented_stream(traced) -> None:  # noqa: ANN001
    handler = fakes.sse_handler(fakes.text_chunks(TWENTY, usage=True))
    traced.instrumentor.uninstrument()
    baseline = [chunk.model_dump() for chunk in _stream(fakes.client(handler))]
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    stream = _stream(fakes.client(handler))

    assert isinstance(stream, openai.Stream)  # a transparent proxy
    assert stream.response.status_code == 200 and stream.response.headers["x-request-id"] == "req_fixed"
    assert [chunk.model_dump() for chunk in stream] == baseline


def test_tool_call_deltas_are_assembled_across_chunks(traced) -> None:  # noqa: ANN001
    chunks = [
        fakes.chunk({"role": "assistant", "content": "Checking "}),
        fakes.chunk({"content": "both."}),
        fakes.chunk({"tool_calls": [{"index": 0, "id": "call_p", "type": "function",
                                     "function": {"name": "get_weather", "arguments": ""}}]}),
        fakes.chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        fakes.chunk({"tool_calls": [{"index": 1, "id": "call_r", "type": "function",
                                     "function": {"name": "get_", "arguments": '{"city"'}}]}),
        fakes.chunk({"tool_calls": [{"index": 1, "function": {"name": "weather", "arguments": ': "Rome"}'}}]}),
        fakes.chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]}),
        fakes.chunk({}, finish_reason="tool_calls"),
    ]
    client = fakes.client(fakes.sse_handler(chunks))

    for _ in _stream(client):
        pass

    output = content(traced.only_span(), "gen_ai.output.messages")
    assert output == [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "text", "content": "Checking both."},
        {"type": "tool_call", "id": "call_p", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "tool_call", "id": "call_r", "name": "get_weather", "arguments": '{"city": "Rome"}'},
    ]}]


def test_n_streamed_choices_are_kept_apart(traced) -> None:  # noqa: ANN001
    chunks = [fakes.chunk({"content": f"c{index % 2}-{index} "}, index=index % 2) for index in range(6)]
    chunks += [fakes.chunk({}, finish_reason="stop", index=0), fakes.chunk({}, finish_reason="length", index=1)]
    client = fakes.client(fakes.sse_handler(chunks))

    list(_stream(client, n=2))

    output = content(traced.only_span(), "gen_ai.output.messages")
    assert [message["parts"][0]["content"] for message in output] == ["c0-0 c0-2 c0-4 ", "c1-1 c1-3 c1-5 "]
    assert [message["finish_reason"] for message in output] == ["stop", "length"]


def test_break_after_3_of_20_inside_with_ends_the_span_at_exit(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.sse_handler(fakes.text_chunks(TWENTY)))

    with _stream(client) as stream:
        for index, _ in enumerate(stream):
            if index == 3:
                break
    assert traced.counter.open == 0  # ended at exit, not later by garbage collection

    span = traced.only_span()
    assert _text(span) == "w0 w1 w2 "  # role chunk + 3 text chunks
    assert span.attributes["valiqor.stream.end_reason"] == "closed"
    assert span.attributes["valiqor.stream.chunk_count"] == 4
    assert "gen_ai.response.finish_reasons" not in span.attributes  # the model never said why it stopped
    assert span.status.status_code is StatusCode.UNSET
    assert stream.response.is_closed  # and the SDK's own close still happened


def test_break_then_close_ends_once(traced) -> None:  # noqa: ANN001
    stream = _stream(fakes.client(fakes.sse_handler(fakes.text_chunks(TWENTY))))
    for index, _ in enumerate(stream):
        if index == 3:
            break
    assert traced.counter.open == 1

    stream.close()
    stream.close()  # twice: still one end

    assert traced.counter.open == 0
    assert traced.only_span().attributes["valiqor.stream.end_reason"] == "closed"


def test_abandoned_stream_ends_when_garbage_collected(traced) -> None:  # noqa: ANN001
    stream = _stream(fakes.client(fakes.sse_handler(fakes.text_chunks(TWENTY))))
    next(stream), next(stream), next(stream)
    assert traced.counter.open == 1

    del stream
    gc.collect()

    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.attributes["valiqor.stream.end_reason"] == "abandoned"
    assert _text(span) == "w0 w1 "


def test_loop_left_early_and_resumed_sees_every_chunk_like_the_sdk(traced) -> None:  # noqa: ANN001
    handler = fakes.sse_handler(fakes.text_chunks(TWENTY))
    traced.instrumentor.uninstrument()
    plain = _stream(fakes.client(handler))
    expected = [chunk.model_dump() for chunk in _first(plain, 4)] + [chunk.model_dump() for chunk in plain]
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    stream = _stream(fakes.client(handler))
    received = [chunk.model_dump() for chunk in _first(stream, 4)]
    assert traced.counter.open == 1  # leaving a loop is not the end of the stream: the SDK's resumes
    received += [chunk.model_dump() for chunk in stream]

    assert received == expected and len(received) == 22  # role + 20 text + finish
    span = traced.only_span()
    assert _text(span) == "".join(TWENTY)
    assert span.attributes["valiqor.stream.end_reason"] == "exhausted"
    assert span.attributes["valiqor.stream.chunk_count"] == 22


def _first(stream, count: int) -> list:  # noqa: ANN001
    taken = []
    for chunk in stream:
        taken.append(chunk)
        if len(taken) == count:
            break
    return taken


def test_consumer_raising_inside_with_records_what_was_received(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.sse_handler(fakes.text_chunks(TWENTY)))

    class AppError(Exception):
        pass

    error = AppError("consumer failed")
    with pytest.raises(AppError) as raised:
        with _stream(client) as stream:
            for index, _ in enumerate(stream):
                if index == 5:
                    raise error
    assert raised.value is error  # the app's own exception, untouched
    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.attributes["valiqor.stream.end_reason"] == "consumer_error"
    assert _text(span) == "w0 w1 w2 w3 w4 "
    assert span.status.status_code is StatusCode.UNSET  # the model call itself did not fail


def test_consumer_raising_without_with_ends_on_collection(traced) -> None:  # noqa: ANN001
    def consume() -> None:
        for index, _ in enumerate(_stream(fakes.client(fakes.sse_handler(fakes.text_chunks(TWENTY))))):
            if index == 2:
                raise ValueError("bad chunk")

    with pytest.raises(ValueError):
        consume()
    gc.collect()

    assert traced.counter.open == 0
    assert traced.only_span().attributes["valiqor.stream.end_reason"] == "abandoned"


def test_error_event_mid_stream_marks_the_span_error(traced) -> None:  # noqa: ANN001
    events = fakes.text_chunks(["partial "])[:-1] + [{"error": {"message": "upstream overloaded",
                                                                 "type": "server_error"}}]
    client = fakes.client(fakes.sse_handler(events))

    with pytest.raises(openai.APIError, match="upstream overloaded"):
        for _ in _stream(client):
            pass

    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "APIError"
    assert span.attributes["valiqor.stream.end_reason"] == "error"
    assert _text(span) == "partial "
    assert [event.name for event in span.events] == ["exception"]


async def test_async_stream_exhausted_and_identical(traced) -> None:  # noqa: ANN001
    handler = fakes.sse_handler(fakes.text_chunks(TWENTY, usage=True))
    traced.instrumentor.uninstrument()
    baseline = [chunk.model_dump() async for chunk in await fakes.async_client(handler).chat.completions.create(
        model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True)]
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    stream = await fakes.async_client(handler).chat.completions.create(
        model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True, stream_options={"include_usage": True})

    assert isinstance(stream, openai.AsyncStream)
    assert [chunk.model_dump() async for chunk in stream] == baseline
    assert traced.counter.open == 0
    span = traced.only_span()
    assert _text(span) == "".join(TWENTY)
    assert span.attributes["gen_ai.usage.output_tokens"] == 20


async def test_async_break_in_async_with_and_close(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(fakes.sse_handler(fakes.text_chunks(TWENTY)))

    async with await client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                                    stream=True) as stream:
        async for chunk in stream:
            if chunk.choices[0].delta.content == "w2 ":
                break
    assert traced.counter.open == 0
    other = await client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True)
    await other.__anext__()
    await other.close()

    assert traced.counter.open == 0
    first, second = traced.spans()
    assert _text(first) == "w0 w1 w2 " and first.attributes["valiqor.stream.end_reason"] == "closed"
    assert second.attributes["valiqor.stream.end_reason"] == "closed"


async def test_async_abandoned_and_consumer_error(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(fakes.sse_handler(fakes.text_chunks(TWENTY)))
    abandoned = await client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True)
    await abandoned.__anext__()
    del abandoned
    gc.collect()

    with pytest.raises(RuntimeError):
        async with await client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                                        stream=True) as stream:
            async for _ in stream:
                raise RuntimeError("consumer failed")

    assert traced.counter.open == 0
    reasons = [span.attributes["valiqor.stream.end_reason"] for span in traced.spans()]
    assert reasons == ["abandoned", "consumer_error"]


async def test_async_loop_left_early_resumes_then_ends_when_abandoned(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(fakes.sse_handler(fakes.text_chunks(TWENTY)))
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True)

    async for chunk in stream:
        if chunk.choices[0].delta.content == "w0 ":
            break
    async for chunk in stream:  # resumes where the first loop left, as the SDK's stream does
        if chunk.choices[0].delta.content == "w2 ":
            break
    assert traced.counter.open == 1
    del stream, chunk
    gc.collect()
    for _ in range(3):  # the event loop closes the loops' async generators (as it does the SDK's own)
        await asyncio.sleep(0)

    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.attributes["valiqor.stream.end_reason"] == "abandoned"
    assert _text(span) == "w0 w1 w2 "


def test_stream_helper_records_the_final_completion(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.sse_handler(fakes.text_chunks(["Paris ", "is ", "nice."], usage=True)))

    with fakes.chat_helpers(client).stream(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                           stream_options={"include_usage": True}) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()

    assert "".join(deltas) == final.choices[0].message.content == "Paris is nice."
    span = traced.only_span()
    assert _text(span) == "Paris is nice."
    assert span.attributes["gen_ai.usage.output_tokens"] == 3


def test_stream_helper_left_early_ends_the_span_at_exit(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.sse_handler(fakes.text_chunks(TWENTY)))

    with fakes.chat_helpers(client).stream(model="gpt-4o-mini", messages=fakes.USER_MESSAGES) as stream:
        for event in stream:
            if event.type == "content.delta" and event.delta == "w1 ":
                break
    kept_alive = stream  # the helper object is still referenced: only close() can have ended the span

    assert traced.counter.open == 0
    assert _text(traced.only_span()) == "w0 w1 "
    assert kept_alive is not None


async def test_async_stream_helper(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(fakes.sse_handler(fakes.text_chunks(["Hi ", "there"])))

    async with fakes.chat_helpers(client).stream(model="gpt-4o-mini", messages=fakes.USER_MESSAGES) as stream:
        final = await stream.get_final_completion()

    assert final.choices[0].message.content == "Hi there"
    assert traced.counter.open == 0
    assert _text(traced.only_span()) == "Hi there"
