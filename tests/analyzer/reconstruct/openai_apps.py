"""The scripted apps over the ``openai`` SDK (used by ``peer_apps.py`` in a subprocess)."""

from __future__ import annotations

import json
from typing import Any

import openai
from peer_apps import DOCUMENTS, MODEL, TOOL_SCHEMA, multiply, summarize_calls

SYSTEM = "You are a terse assistant."


def run_openai_app(app: str, question: str, fake: Any, hooks: Any, http: Any) -> dict[str, Any]:
    client = openai.OpenAI(api_key="sk-test-not-a-real-key", base_url="http://fake-openai.test/v1",
                           http_client=http.Client(transport=http.MockTransport(fake)))
    first_call = len(fake.calls)
    result: dict[str, Any] = {"question": question, "documents": [], "tool_calls": [], "system_prompt": SYSTEM}
    if app == "chat":
        response = client.chat.completions.create(
            model=MODEL, messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}])
        result["answer"] = response.choices[0].message.content
    elif app == "stream":
        stream = client.chat.completions.create(
            model=MODEL, messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
            stream=True, stream_options={"include_usage": True})
        result["answer"] = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    elif app == "rag":
        with hooks.workflow("rag-answer", question, result):
            with hooks.retriever(question, DOCUMENTS):
                documents = hooks.retriever_function(_search)(question)
            result["documents"] = documents
            system = f"{SYSTEM}\nContext:\n" + "\n".join(dict.fromkeys(documents))
            result["system_prompt"] = system
            response = client.chat.completions.create(
                model=MODEL, messages=[{"role": "system", "content": system}, {"role": "user", "content": question}])
            result["answer"] = response.choices[0].message.content
    elif app == "tools":
        with hooks.workflow("tool-agent", question, result):
            result["answer"] = _tool_loop(client, question, hooks, result)
    else:
        raise ValueError(app)
    return {**result, **summarize_calls(fake.calls[first_call:])}


def _search(query: str) -> list[str]:
    """The app's retriever: the fixed documents, in rank order."""
    return list(DOCUMENTS)


def _tool_loop(client: Any, question: str, hooks: Any, result: dict[str, Any]) -> str:
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]
    response = client.chat.completions.create(model=MODEL, messages=messages, tools=[TOOL_SCHEMA])
    message = response.choices[0].message
    messages.append(message.model_dump(exclude_none=True))
    for call in message.tool_calls or []:
        arguments = json.loads(call.function.arguments)
        outcome: dict[str, Any] = {}
        with hooks.tool(call.function.name, call.id, arguments, outcome):
            outcome["output"] = hooks.tool_function(multiply)(**arguments)
        result["tool_calls"].append({"id": call.id, "name": call.function.name, "arguments": arguments,
                                     "output": outcome["output"]})
        messages.append({"role": "tool", "tool_call_id": call.id, "content": outcome["output"]})
    response = client.chat.completions.create(model=MODEL, messages=messages, tools=[TOOL_SCHEMA])
    return response.choices[0].message.content
