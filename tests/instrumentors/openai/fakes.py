"""OpenAI API fakes for the real SDK: ``MockTransport`` handlers with fixed, comparable bodies.

The handlers run on whichever HTTP library the installed SDK is built on: openai
3.x uses ``httpx2``, openai 1.x and 2.x use ``httpx`` (CI runs this suite on all
three). Tests build requests, responses and transports through :data:`sdk_http`.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import openai
import openai._base_client


def sdk_http_module() -> ModuleType:
    """The module the installed SDK sends requests with (``httpx2`` or ``httpx``).

    Read from the SDK itself rather than guessed from what is importable: a venv
    may hold both libraries, and a client given the other one's ``Client`` fails.
    """
    for name in ("httpx2", "httpx"):
        module = vars(openai._base_client).get(name)
        if isinstance(module, ModuleType):
            return module
    raise RuntimeError(f"openai {openai.__version__}: openai._base_client imports neither httpx2 nor httpx; "
                       "teach tests/instrumentors/openai/fakes.py:sdk_http_module its HTTP library")


sdk_http = sdk_http_module()
OPENAI_VERSION = tuple(int(part) for part in openai.__version__.split(".")[:2])

# What the installed SDK has, for tests of features older SDKs lack (CI runs 1.40, the floor).
RESPONSES_API = importlib.util.find_spec("openai.resources.responses") is not None
needs_responses_api = pytest.mark.skipif(not RESPONSES_API,
                                         reason=f"openai {openai.__version__} has no Responses API")


def chat_helpers(client: Any) -> Any:
    """Where this SDK keeps chat ``parse()`` / ``stream()``: ``chat.completions``, or ``beta.chat.completions``
    on older SDKs (e.g. 1.40); the instrumentor wraps both places."""
    completions = client.chat.completions
    return completions if hasattr(completions, "parse") else client.beta.chat.completions

API_KEY = "sk-test-SECRET-never-recorded"
MODEL = "gpt-4o-mini"


def chat_completion(content: str | None = "Paris is the capital of France.", *, tool_calls: list[dict] | None = None,
                    finish_reason: str = "stop", choices: int = 1, model: str = MODEL) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-fixed", "object": "chat.completion", "created": 1700000000, "model": f"{model}-2024-07-18",
        "system_fingerprint": "fp_fixed", "service_tier": "default",
        "choices": [{"index": index, "message": message, "finish_reason": finish_reason, "logprobs": None}
                    for index in range(choices)],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19,
                  "prompt_tokens_details": {"cached_tokens": 4}, "completion_tokens_details": {"reasoning_tokens": 0}},
    }


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chunk(delta: dict[str, Any] | None, *, finish_reason: str | None = None, index: int = 0,
          usage: dict[str, int] | None = None, model: str = MODEL, completion_id: str = "chatcmpl-stream") -> dict:
    choices = [] if delta is None else [{"index": index, "delta": delta, "finish_reason": finish_reason}]
    payload: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": 1700000000,
                               "model": model, "choices": choices}
    if usage is not None:
        payload["usage"] = usage
    return payload


def text_chunks(pieces: list[str], *, finish_reason: str = "stop", usage: bool = False,
                completion_id: str = "chatcmpl-stream") -> list[dict[str, Any]]:
    """A streamed chat reply: a role chunk, one chunk per piece, a finish chunk, optionally a usage chunk."""
    chunks = [chunk({"role": "assistant", "content": ""}, completion_id=completion_id)]
    chunks += [chunk({"content": piece}, completion_id=completion_id) for piece in pieces]
    chunks.append(chunk({}, finish_reason=finish_reason, completion_id=completion_id))
    if usage:
        chunks.append(chunk(None, usage={"prompt_tokens": 5, "completion_tokens": len(pieces),
                                         "total_tokens": 5 + len(pieces)}, completion_id=completion_id))
    return chunks


def sse_body(events: list[dict[str, Any]], *, done: bool = True, named: bool = False) -> bytes:
    lines = []
    for event in events:
        prefix = f"event: {event['type']}\n" if named else ""
        lines.append(f"{prefix}data: {json.dumps(event)}\n\n")
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


Handler = Callable[[sdk_http.Request], sdk_http.Response]


def json_handler(payload: dict[str, Any], status: int = 200) -> Handler:
    body = json.dumps(payload).encode()

    def handler(request: sdk_http.Request) -> sdk_http.Response:
        return sdk_http.Response(status, headers={"content-type": "application/json", "x-request-id": "req_fixed"},
                               content=body)

    return handler


def sse_handler(events: list[dict[str, Any]], *, done: bool = True, named: bool = False) -> Handler:
    body = sse_body(events, done=done, named=named)

    def handler(request: sdk_http.Request) -> sdk_http.Response:
        return sdk_http.Response(200, headers={"content-type": "text/event-stream", "x-request-id": "req_fixed"},
                               content=body)

    return handler


def routing_handler(**routes: Handler) -> Handler:
    """Dispatch on the path's last segment(s): ``chat_completions=..., responses=..., embeddings=...``."""

    def handler(request: sdk_http.Request) -> sdk_http.Response:
        path = request.url.path
        for name, route in routes.items():
            if path.endswith("/" + name.replace("_", "/")):
                return route(request)
        return sdk_http.Response(404, json={"error": {"message": f"no route {path}"}})

    return handler


def client(handler: Handler, **options: Any) -> openai.OpenAI:
    options.setdefault("base_url", "http://mock.test:8443/v1")
    return openai.OpenAI(api_key=API_KEY, max_retries=0,
                         http_client=sdk_http.Client(transport=sdk_http.MockTransport(handler)), **options)


def async_client(handler: Handler, **options: Any) -> openai.AsyncOpenAI:
    options.setdefault("base_url", "http://mock.test:8443/v1")
    return openai.AsyncOpenAI(api_key=API_KEY, max_retries=0,
                              http_client=sdk_http.AsyncClient(transport=sdk_http.MockTransport(handler)), **options)


def request_json(request: sdk_http.Request) -> dict[str, Any]:
    return json.loads(request.content)


USER_MESSAGES = [
    {"role": "system", "content": "You are a geography tutor."},
    {"role": "user", "content": "What is the capital of France?"},
]


def content(span: Any, key: str) -> Any:
    """A JSON content attribute of a finished span, decoded."""
    return json.loads(span.attributes[key])
