"""Embeddings and legacy completions, against the real local model server."""

from __future__ import annotations

import json

import pytest

from tests.instrumentors.openai.fakes import content
from valiqor_trace.testing.model_server import Reply


def test_embeddings_span_records_input_text_never_vectors(traced, model_server) -> None:  # noqa: ANN001
    client = model_server.client()

    result = client.embeddings.create(model="text-embedding-3-small", input=["refund policy", "shipping times"])

    assert len(result.data) == 2 and len(result.data[0].embedding) == 8
    span = traced.only_span()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes["gen_ai.operation.name"] == "embeddings"
    assert span.attributes["valiqor.span.kind"] == "embedding"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 8
    assert span.attributes["gen_ai.usage.input_tokens"] == 4
    assert json.loads(span.attributes["valiqor.input"]) == ["refund policy", "shipping times"]
    assert str(result.data[0].embedding[0])[:8] not in str(dict(span.attributes))


async def test_async_embeddings_with_dimensions_and_float_format(traced, model_server) -> None:  # noqa: ANN001
    client = model_server.async_client()

    result = await client.embeddings.create(model="text-embedding-3-small", input="refund", dimensions=4,
                                            encoding_format="float")

    assert len(result.data[0].embedding) == 4
    span = traced.only_span()
    assert span.attributes["valiqor.input"] == "refund"
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 4
    assert tuple(span.attributes["gen_ai.request.encoding_formats"]) == ("float",)


def test_legacy_completion_plain_and_streamed(traced, model_server) -> None:  # noqa: ANN001
    model_server.enqueue(Reply("Hello world"), Reply("one two three", finish_reason="length"))
    client = model_server.client()

    plain = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello", max_tokens=5)
    streamed = "".join(chunk.choices[0].text for chunk in client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Count", stream=True))

    assert plain.choices[0].text == "Hello world" and streamed == "one two three"
    assert traced.counter.open == 0
    first, second = traced.spans()
    assert first.name == "text_completion gpt-3.5-turbo-instruct"
    assert first.attributes["gen_ai.operation.name"] == "text_completion"
    assert first.attributes["gen_ai.request.max_tokens"] == 5
    assert content(first, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}]
    assert content(first, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Hello world"}], "finish_reason": "stop"}]
    assert content(second, "gen_ai.output.messages")[0]["parts"][0]["content"] == "one two three"
    assert tuple(second.attributes["gen_ai.response.finish_reasons"]) == ("length",)


EMBEDDING = {"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2},
             "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 0.125]}]}
COMPLETION = {"id": "cmpl-fixed", "object": "text_completion", "created": 1700000000, "model": "gpt-3.5-turbo-instruct",
              "choices": [{"index": 0, "text": "Hi!", "finish_reason": "stop", "logprobs": None}],
              "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}}


@pytest.mark.parametrize("call", ["embeddings", "completions"])
def test_results_are_identical_to_an_uninstrumented_client(traced, call) -> None:  # noqa: ANN001
    from tests.instrumentors.openai import fakes

    handler = fakes.json_handler(EMBEDDING if call == "embeddings" else COMPLETION)

    def make(client):  # noqa: ANN001, ANN202
        if call == "embeddings":
            return client.embeddings.create(model="text-embedding-3-small", input="hi", encoding_format="float")
        return client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")

    traced.instrumentor.uninstrument()
    baseline = make(fakes.client(handler))
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    result = make(fakes.client(handler))

    assert type(result) is type(baseline) and result.model_dump() == baseline.model_dump()
    assert len(traced.spans()) == 1
