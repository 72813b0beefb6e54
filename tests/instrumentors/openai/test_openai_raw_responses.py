"""``with_raw_response`` / ``with_streaming_response``: the app keeps its raw objects, byte for byte."""

from __future__ import annotations

import gc

import pytest
from openai._legacy_response import LegacyAPIResponse
from openai._response import APIResponse, AsyncAPIResponse

import openai
from tests.instrumentors.openai import fakes
from tests.instrumentors.openai.fakes import content

TEN = [f"t{index} " for index in range(10)]


def _raw_call(client, **options):  # noqa: ANN001, ANN003, ANN202
    return client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                                            **options)


def test_raw_response_is_the_sdk_object_byte_for_byte(traced) -> None:  # noqa: ANN001
    handler = fakes.json_handler(fakes.chat_completion())
    traced.instrumentor.uninstrument()
    baseline = _raw_call(fakes.client(handler))
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    raw = _raw_call(fakes.client(handler))

    assert type(raw) is LegacyAPIResponse  # not even a proxy
    assert raw.content == baseline.content
    assert raw.headers == baseline.headers and raw.status_code == baseline.status_code == 200
    assert raw.parse().model_dump() == baseline.parse().model_dump()
    span = traced.only_span()  # ended at once, from the body
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-fixed"
    assert content(span, "gen_ai.output.messages")[0]["parts"][0]["content"] == "Paris is the capital of France."
    assert span.attributes["gen_ai.usage.input_tokens"] == 12


def test_raw_response_of_parse_does_not_run_the_post_parser_for_us(traced) -> None:  # noqa: ANN001
    # finish_reason "length" makes parse() raise LengthFinishReasonError: only when the app asks for it.
    client = fakes.client(fakes.json_handler(fakes.chat_completion('{"ci', finish_reason="length")))
    import pydantic

    class City(pydantic.BaseModel):
        city: str

    helpers = fakes.chat_helpers(client)
    if not hasattr(helpers, "with_raw_response"):
        pytest.skip(f"openai {openai.__version__}: beta.chat.completions has no with_raw_response")
    raw = helpers.with_raw_response.parse(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, response_format=City)

    assert raw.status_code == 200
    span = traced.only_span()
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("length",)
    try:
        raw.parse()
    except openai.LengthFinishReasonError:
        pass
    else:  # pragma: no cover - the SDK's contract
        raise AssertionError("the SDK should refuse to parse a cut-off structured output")


def test_raw_response_with_stream_true(traced) -> None:  # noqa: ANN001
    handler = fakes.sse_handler(fakes.text_chunks(TEN))
    traced.instrumentor.uninstrument()
    baseline = _raw_call(fakes.client(handler), stream=True)
    baseline_chunks = [chunk.model_dump() for chunk in baseline.parse()]
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    raw = _raw_call(fakes.client(handler), stream=True)
    assert isinstance(raw, LegacyAPIResponse) and raw.headers == baseline.headers
    stream = raw.parse()

    assert raw.parse() is stream  # the same stream on every parse(), as the SDK's cache promises
    assert [chunk.model_dump() for chunk in stream] == baseline_chunks
    assert traced.counter.open == 0
    assert content(traced.only_span(), "gen_ai.output.messages")[0]["parts"][0]["content"] == "".join(TEN)


def test_streaming_response_not_parsed_is_identical_and_ends_on_exit(traced) -> None:  # noqa: ANN001
    handler = fakes.sse_handler(fakes.text_chunks(TEN))
    traced.instrumentor.uninstrument()
    with fakes.client(handler).chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True) as baseline:
        baseline_lines = list(baseline.iter_lines())
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    with fakes.client(handler).chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True) as response:
        assert isinstance(response, APIResponse)
        lines = list(response.iter_lines())

    assert lines == baseline_lines  # the raw SSE bytes, untouched
    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.attributes["valiqor.stream.end_reason"] == "closed"
    assert "gen_ai.output.messages" not in span.attributes  # the body went to the app, not through us


def test_streaming_response_parsed_into_a_stream(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.sse_handler(fakes.text_chunks(TEN)))

    with client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True) as response:
        text = "".join(chunk.choices[0].delta.content or "" for chunk in response.parse())

    assert text == "".join(TEN)
    assert traced.counter.open == 0
    span = traced.only_span()
    assert content(span, "gen_ai.output.messages")[0]["parts"][0]["content"] == text
    assert span.attributes["valiqor.stream.end_reason"] == "exhausted"


def test_streaming_response_without_stream_read_as_json(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(fakes.chat_completion()))

    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini",
                                                                messages=fakes.USER_MESSAGES) as response:
        body = response.json()

    assert body["id"] == "chatcmpl-fixed"
    assert traced.only_span().attributes["gen_ai.usage.output_tokens"] == 7  # recorded from the body it read


def test_streaming_response_abandoned_unread(traced, model_server) -> None:  # noqa: ANN001
    client = model_server.client()  # a real socket: the body stays unread until the app reads it
    manager = client.chat.completions.with_streaming_response.create(model="gpt-4o-mini",
                                                                     messages=fakes.USER_MESSAGES)
    response = manager.__enter__()
    assert traced.counter.open == 1

    del response, manager
    gc.collect()

    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.attributes["valiqor.stream.end_reason"] == "abandoned"
    assert "gen_ai.output.messages" not in span.attributes


async def test_async_streaming_response_parse_and_raw(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(fakes.sse_handler(fakes.text_chunks(TEN)))

    async with client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True) as response:
        assert isinstance(response, AsyncAPIResponse)
        stream = await response.parse()
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini",
                                                                 messages=fakes.USER_MESSAGES, stream=True)
    async_stream = raw.parse()
    assert isinstance(async_stream, openai.AsyncStream)
    text_again = "".join([chunk.choices[0].delta.content or "" async for chunk in async_stream])

    assert text == text_again == "".join(TEN)
    assert traced.counter.open == 0
    assert [content(span, "gen_ai.output.messages")[0]["parts"][0]["content"] for span in traced.spans()] == [
        text, text]
