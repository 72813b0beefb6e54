"""The Responses API: create (string or items), instructions, function calls, parse, and streamed events."""

from __future__ import annotations

import gc

import pydantic
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai import fakes
from tests.instrumentors.openai.fakes import content
from valiqor_trace.testing import _model_payloads as payloads
from valiqor_trace.testing.model_server import Reply, ToolCallSpec

pytestmark = fakes.needs_responses_api

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


def _response(reply: Reply, **overrides) -> dict:  # noqa: ANN003
    return {**payloads.response_object(reply, {"input": "x"}, "gpt-4o"), **overrides}


def test_string_input_with_instructions(traced) -> None:  # noqa: ANN001
    handler = fakes.json_handler(_response(Reply("Paris."), id="resp_1"))
    traced.instrumentor.uninstrument()
    baseline = fakes.client(handler).responses.create(model="gpt-4o", input="Capital of France?")
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    result = fakes.client(handler).responses.create(model="gpt-4o", input="Capital of France?",
                                                    instructions="Answer in one word.", temperature=0.0,
                                                    max_output_tokens=50)

    assert result.model_dump() == baseline.model_dump() and result.output_text == "Paris."
    span = traced.only_span()
    assert span.name == "chat gpt-4o"
    assert span.attributes["openai.api.type"] == "responses"
    assert span.attributes["gen_ai.request.max_tokens"] == 50
    assert span.attributes["gen_ai.request.temperature"] == 0.0
    assert content(span, "gen_ai.system_instructions") == [{"type": "text", "content": "Answer in one word."}]
    assert content(span, "gen_ai.input.messages") == [
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Paris."}], "finish_reason": "stop"}]
    assert span.attributes["gen_ai.response.id"] == "resp_1"
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert span.attributes["gen_ai.usage.input_tokens"] == 1
    assert span.attributes["gen_ai.usage.output_tokens"] == 1


def test_item_list_with_function_call_round_trip_and_tools(traced) -> None:  # noqa: ANN001
    reply = Reply.tool_call("get_weather", {"city": "Rome"}, call_id="call_rome")
    client = fakes.client(fakes.json_handler(_response(reply)))
    items = [
        {"role": "developer", "content": "Use tools."},
        {"role": "user", "content": [{"type": "input_text", "text": "Weather in Oslo, then Rome?"}]},
        {"type": "function_call", "call_id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"type": "function_call_output", "call_id": "call_oslo", "output": "3C, rain"},
    ]

    result = client.responses.create(model="gpt-4o", input=items, tools=[WEATHER], tool_choice="required",
                                     conversation="conv_42")

    assert result.output[0].arguments == '{"city": "Rome"}'
    span = traced.only_span()
    assert span.attributes["gen_ai.conversation.id"] == "conv_42"
    assert span.attributes["valiqor.request.tool_choice"] == "required"
    assert content(span, "gen_ai.tool.definitions") == [
        {"type": "function", "name": "get_weather", "description": "Weather for a city",
         "parameters": WEATHER["parameters"]}]
    assert content(span, "gen_ai.input.messages") == [
        {"role": "developer", "parts": [{"type": "text", "content": "Use tools."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Oslo, then Rome?"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_oslo", "name": "get_weather",
                                         "arguments": '{"city": "Oslo"}'}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_oslo", "response": "3C, rain"}]},
    ]
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "tool_call", "id": "call_rome", "name": "get_weather", "arguments": '{"city": "Rome"}'}]}]


def test_incomplete_and_failed_responses(traced) -> None:  # noqa: ANN001
    incomplete = _response(Reply("Once upon a", finish_reason="length"))
    failed = _response(Reply(None), status="failed", output=[],
                       error={"code": "server_error", "message": "The model crashed"})
    client = fakes.client(fakes.routing_handler(responses=fakes.json_handler(incomplete)))
    client.responses.create(model="gpt-4o", input="Tell a story")
    fakes.client(fakes.json_handler(failed)).responses.create(model="gpt-4o", input="Tell a story")

    cut, broken = traced.spans()
    assert tuple(cut.attributes["gen_ai.response.finish_reasons"]) == ("length",)
    assert cut.status.status_code is StatusCode.UNSET
    assert tuple(broken.attributes["gen_ai.response.finish_reasons"]) == ("error",)
    assert broken.status.status_code is StatusCode.ERROR
    assert broken.attributes["error.type"] == "server_error"
    assert "The model crashed" in broken.status.description


class Answer(pydantic.BaseModel):
    city: str


def test_parse_with_text_format(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(_response(Reply('{"city": "Paris"}'))))

    parsed = client.responses.parse(model="gpt-4o", input="Capital of France?", text_format=Answer)

    assert parsed.output_parsed == Answer(city="Paris")
    span = traced.only_span()
    assert span.attributes["gen_ai.output.type"] == "json"
    assert content(span, "valiqor.request.response_format")["name"] == "Answer"


def _events(reply: Reply) -> list[dict]:
    return payloads.response_events(reply, {"input": "x"}, "gpt-4o")


def test_streamed_events_are_assembled(traced) -> None:  # noqa: ANN001
    reply = Reply("It is sunny.", tool_calls=(ToolCallSpec("get_weather", '{"city": "Paris"}', "call_1"),))
    client = fakes.client(fakes.sse_handler(_events(reply), done=False, named=True))

    events = [event.type for event in client.responses.create(model="gpt-4o", input="Weather?", stream=True)]

    assert events[0] == "response.created" and events[-1] == "response.completed"
    assert traced.counter.open == 0
    span = traced.only_span()
    assert span.attributes["valiqor.stream.end_reason"] == "exhausted"
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "text", "content": "It is sunny."},
        {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'}]}]
    assert span.attributes["gen_ai.usage.output_tokens"] > 0


def test_stream_cut_before_completion_keeps_the_partial_output(traced) -> None:  # noqa: ANN001
    reply = Reply("one two three four five six", tool_calls=(ToolCallSpec("lookup", '{"q": "abc"}', "call_9"),))
    events = _events(reply)
    cut_at = next(index for index, event in enumerate(events)
                  if event["type"] == "response.function_call_arguments.delta") + 1
    client = fakes.client(fakes.sse_handler(events[:cut_at], done=False, named=True))

    stream = client.responses.create(model="gpt-4o", input="Go", stream=True)
    list(stream)

    span = traced.only_span()
    assert "gen_ai.response.finish_reasons" not in span.attributes
    assert span.attributes["gen_ai.response.id"].startswith("resp_")
    parts = content(span, "gen_ai.output.messages")[0]["parts"]
    assert parts[0] == {"type": "text", "content": "one two three four five six"}
    assert parts[1] == {"type": "tool_call", "id": "call_9", "name": "lookup", "arguments": '{"q"'}  # 1 of 3 deltas


def test_responses_stream_helper_left_early_and_abandoned(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.sse_handler(_events(Reply("a b c d e f")), done=False, named=True))

    with client.responses.stream(model="gpt-4o", input="Go") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                break
    assert traced.counter.open == 0

    abandoned = client.responses.create(model="gpt-4o", input="Go", stream=True)
    next(abandoned)
    del abandoned
    gc.collect()

    assert traced.counter.open == 0
    assert [span.attributes["valiqor.stream.end_reason"] for span in traced.spans()] == ["closed", "abandoned"]


async def test_async_responses_create_and_stream(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(fakes.routing_handler(responses=lambda request: (
        fakes.sse_handler(_events(Reply("streamed")), done=False, named=True)(request)
        if fakes.request_json(request).get("stream") else fakes.json_handler(_response(Reply("plain")))(request))))

    plain = await client.responses.create(model="gpt-4o", input="a")
    async with client.responses.stream(model="gpt-4o", input="b") as stream:
        final = await stream.get_final_response()

    assert plain.output_text == "plain" and final.output_text == "streamed"
    assert traced.counter.open == 0
    texts = [content(span, "gen_ai.output.messages")[0]["parts"][0]["content"] for span in traced.spans()]
    assert texts == ["plain", "streamed"]


@pytest.mark.parametrize("instructions", [None, "Be brief."])
def test_system_instructions_only_when_given(traced, instructions) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(_response(Reply("ok"))))
    options = {"instructions": instructions} if instructions else {}

    client.responses.create(model="gpt-4o", input="hi", **options)

    assert ("gen_ai.system_instructions" in traced.only_span().attributes) is bool(instructions)
