"""``@valiqor_trace.tool``: an app-run tool loop over the real openai SDK yields tool spans the analyzer joins
with the model's requests; what the tool returns or raises reaches the app unchanged."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import valiqor_trace
from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.store._exporter import span_record
from valiqor_trace.testing import capture_spans
from valiqor_trace.testing.model_server import ModelServer, Reply

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


class WeatherDown(ConnectionError):
    pass


@valiqor_trace.tool("get_weather", description="Current weather for a city")
def get_weather(city: str) -> dict[str, Any]:
    if city == "Oslo":
        raise WeatherDown(f"weather service unavailable for {city}")
    return {"city": city, "temperature_c": 18}


def _tool_loop(client: Any, question: str) -> str:
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    for _ in range(3):
        message = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                 tools=[WEATHER]).choices[0].message
        if not message.tool_calls:
            return message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            try:
                result = json.dumps(get_weather(**json.loads(call.function.arguments)))
            except WeatherDown as exc:  # the app tells the model what went wrong
                result = json.dumps({"error": str(exc)})
            messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    return ""


def _trace(script: list[Reply], question: str, **init: Any) -> tuple[str, list[Any]]:
    with capture_spans(instrument=["openai"], **init) as exporter, ModelServer(script) as server:
        with valiqor_trace.trace_workflow("weather") as wf:
            wf.set_input(question)
            answer = _tool_loop(server.client(), question)
            wf.set_output(answer)
        return answer, [span_record(span) for span in exporter.get_finished_spans()]


def test_tool_spans_join_the_models_requests_with_their_real_results() -> None:
    script = [Reply.tool_call("get_weather", {"city": "Paris"}), Reply("It is 18 °C in Paris.")]
    answer, records = _trace(script, "Weather in Paris?")
    assert answer == "It is 18 °C in Paris."
    [span] = [r for r in records if r.name == "execute_tool get_weather"]
    assert span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert span.attributes["gen_ai.tool.description"] == "Current weather for a city"
    assert json.loads(span.attributes["gen_ai.tool.call.arguments"]) == {"city": "Paris"}
    assert json.loads(span.attributes["gen_ai.tool.call.result"]) == {"city": "Paris", "temperature_c": 18}
    item = reconstruct_item(records)
    [call] = item.tool_calls
    assert (call.name, call.arguments, call.span_id, call.executed) == ("get_weather", {"city": "Paris"},
                                                                         span.span_id, True)
    assert json.loads(call.output) == {"city": "Paris", "temperature_c": 18}


def test_a_tool_that_raises_is_a_tool_error_on_its_span_and_the_app_sees_its_own_exception() -> None:
    with capture_spans(instrument=False) as exporter:
        with pytest.raises(WeatherDown, match="unavailable for Oslo") as raised:
            get_weather("Oslo")
        [span] = exporter.get_finished_spans()
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "WeatherDown"
    assert span.events[0].attributes["exception.message"] == str(raised.value)

    script = [Reply.tool_call("get_weather", {"city": "Oslo"}), Reply("It is sunny in Oslo.")]
    _, records = _trace(script, "Weather in Oslo?")
    [tool_span] = [r for r in records if r.name == "execute_tool get_weather"]
    analysis = engine.analyze_item(reconstruct_item(records), 0, engine.AnalysisOptions())
    tags = {t.subcategory_id: t for t in analysis.tags}
    assert tags["tool_error"].decision == "fail"
    assert tool_span.span_id in {e.span_id for e in tags["tool_error"].evidence_items}


def test_async_tools_and_capture_off() -> None:
    @valiqor_trace.tool
    async def lookup_order(order_id: str) -> str:
        await asyncio.sleep(0)
        return f"order {order_id}: shipped"

    with capture_spans(instrument=False, capture_content=False) as exporter:
        assert asyncio.run(lookup_order("A-17")) == "order A-17: shipped"
        [span] = exporter.get_finished_spans()
    assert span.name == "execute_tool lookup_order"
    assert "gen_ai.tool.call.arguments" not in span.attributes and "gen_ai.tool.call.result" not in span.attributes


def test_bad_decorator_arguments_name_the_fix() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        valiqor_trace.tool("")
    with pytest.raises(ValueError, match="decorates a function"):
        valiqor_trace.tool("search")(42)  # type: ignore[arg-type]
