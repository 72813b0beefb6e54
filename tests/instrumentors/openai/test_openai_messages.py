"""Message and tool shapes -> convention JSON; the direct JSON path matches the general one byte for byte."""

from __future__ import annotations

import json

import pytest

from valiqor_trace.instrumentors import _genai as genai
from valiqor_trace.instrumentors.openai._messages import (
    chat_input_message,
    chat_input_messages_json,
    text_message_json,
    tool_definitions,
)
from valiqor_trace._content import to_json

TRICKY = ['plain', 'quotes " and \\ backslash', "new\nline\ttab", "ünïcødé ✓ 日本", "", "\u2028 \x00 control"]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("finish_reason", [None, "stop"])
def test_direct_json_is_byte_identical_to_the_general_path(text: str, finish_reason: str | None) -> None:
    general = to_json(genai.message("user", [genai.text_part(text)], finish_reason))
    assert text_message_json("user", text, finish_reason) == general
    assert json.loads(general)["parts"][0]["content"] == text


def test_messages_json_mixes_fast_and_general_paths() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "user", "content": "Thanks", "name": "ana"},
    ]

    recorded = json.loads(chat_input_messages_json(messages))

    assert recorded == [json.loads(to_json(chat_input_message(message))) for message in messages]
    assert recorded[2] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1",
                                                      "response": "42"}]}
    assert recorded[3]["name"] == "ana"


def test_tool_definitions_for_every_tool_shape() -> None:
    chat_tools = [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"},
                                                    "strict": True}},
                  {"type": "custom", "custom": {"name": "grammar_tool", "description": "free text"}}]
    responses_tools = [{"type": "function", "name": "g", "parameters": {}}, {"type": "web_search"}]
    legacy_functions = [{"name": "old", "description": "pre-tools API", "parameters": {}}]

    assert tool_definitions(chat_tools, legacy_functions) == [
        {"type": "function", "name": "f", "description": "d", "parameters": {"type": "object"}, "strict": True},
        {"type": "custom", "name": "grammar_tool", "description": "free text"},
        {"type": "function", "name": "old", "description": "pre-tools API", "parameters": {}},
    ]
    assert tool_definitions(responses_tools) == [{"type": "function", "name": "g", "parameters": {}},
                                                 {"type": "web_search", "name": "web_search"}]
    assert tool_definitions(None) is None
    assert tool_definitions(iter(chat_tools)) is None  # never consume what the SDK still has to read
