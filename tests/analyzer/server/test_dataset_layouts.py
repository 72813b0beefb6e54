"""The run endpoint validates datasets with the same validator as run(dataset=...): same layouts, same errors."""

from __future__ import annotations

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
ITEM = {"input": "What is the weather in Paris?", "output": "It is sunny in Paris.",
        "tool_calls": [CALL, {"role": "tool", "tool_call_id": "call_1",
                              "content": "Error: weather service unavailable (HTTP 503)"}]}


def test_openai_tool_calls_and_their_tool_message_are_analyzed(http) -> None:
    response = http.post("/api/v1/fa/runs", json={"dataset": [ITEM], "wait_s": 60})
    assert response.status_code == 200, response.text
    tags = [tag for tag in response.json()["failure_tags"] if tag["subcategory_id"] == "tool_error"]
    assert [(tag["decision"], tag["evidence_items"][0]["text"]) for tag in tags] == [
        ("fail", "Error: weather service unavailable (HTTP 503)")]


def test_a_bad_tool_call_is_refused_with_its_path(http) -> None:
    bad = {**ITEM, "tool_calls": [{**CALL, "function": {"name": "get_weather", "arguments": 5}, "result": "x"}]}
    response = http.post("/api/v1/fa/runs", json={"dataset": [ITEM, bad], "wait_s": 0})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "DatasetError" and error["problems"] == [
        "items[1].tool_calls[0].function.arguments: must be an object or JSON text, got int; write them as an "
        "object ({\"city\": \"Paris\"}) or as JSON text ('{\"city\": \"Paris\"}')"]
