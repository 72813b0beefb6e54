"""An LLM app on the real OpenAI SDK (network faked with httpx2.MockTransport) and a webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import openai
import pytest
from opentelemetry import trace

import valiqor_trace

ANSWER = "Paris is the capital of France."
CUT = "The capital of France is the city of"


def _completion(content: str, finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-monitor", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "finish_reason": finish_reason, "logprobs": None}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21},
    }


def _model(request: httpx2.Request) -> httpx2.Response:
    question = json.loads(request.content)["messages"][-1]["content"]
    if "long" in question:  # the model runs out of tokens mid-answer
        return httpx2.Response(200, json=_completion(CUT, "length"))
    return httpx2.Response(200, json=_completion(ANSWER, "stop"))


class App:
    """``ask(question, kind)``: kind ``ok``, ``truncated`` (finish_reason=length) or ``tool_error``
    (a tool span that failed; the app recovers and still answers)."""

    def __init__(self) -> None:
        self.client = openai.OpenAI(api_key="sk-test-monitor-SECRET", base_url="http://model.test/v1",
                                    http_client=httpx2.Client(transport=httpx2.MockTransport(_model)), max_retries=0)
        self.trace_ids: dict[str, list[str]] = {"ok": [], "truncated": [], "tool_error": []}

    def ask(self, kind: str) -> str:
        handle = valiqor_trace.get_handle()
        tracer = trace.get_tracer("shop-app", tracer_provider=handle.tracer_provider if handle else None)
        with valiqor_trace.trace_workflow("answer_question") as root:
            question = "Give me a long answer: what is the capital of France?" if kind == "truncated" \
                else "What is the capital of France?"
            root.set_input(question)
            if kind == "tool_error":
                try:
                    with tracer.start_as_current_span("execute_tool geo_lookup") as tool:
                        tool.set_attribute("gen_ai.operation.name", "execute_tool")
                        tool.set_attribute("gen_ai.tool.name", "geo_lookup")
                        raise ConnectionError("geo service unavailable")
                except ConnectionError:
                    pass
            reply = self.client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
            answer = reply.choices[0].message.content
            root.set_output(answer)
            self.trace_ids[kind].append(root.trace_id)
            return answer


@pytest.fixture
def app() -> App:
    return App()


class WebhookReceiver:
    """A webhook endpoint on 127.0.0.1 recording the JSON bodies it receives."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.bodies.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.bodies)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    webhook = WebhookReceiver()
    webhook._thread.start()
    yield webhook
    webhook.server.shutdown()
    webhook.server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/alerts"
