"""A scripted OpenAI-compatible *judge* server on 127.0.0.1, for tests, benchmarks and trying a setup offline.

It checks what a judge request must carry (the model, ``temperature: 0``, the verdict JSON
schema, a rubric naming every subcategory the schema lists, the key when one is required)
and answers with verdicts: by default ``pass`` for every rubric entry, or what
:attr:`JudgeServer.decisions` says; or, from a queue, a scripted failure::

    with JudgeServer(model="judge-model", api_key="sk-test") as server:
        server.enqueue(JudgeStep.status(429, headers={"Retry-After": "1"}), JudgeStep.malformed())
        client = ValiqorClient(judge_base_url=server.base_url, judge_model="judge-model", openai_api_key="sk-test")
        ...
        server.requests[0].rubric      # the subcategory ids the request asked about

The Authorization header is checked, never recorded.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["JudgeServer", "RecordedJudgeRequest", "JudgeStep"]

_RUBRIC_ID = re.compile(r"^- id `([a-z_]+)`", re.MULTILINE)
_OUTPUT = re.compile(r"### OUTPUT \(the answer under review\)\n(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class JudgeStep:
    """One scripted answer: verdicts (``kind="ok"``), a raw text, an HTTP error, or no answer in time."""

    kind: str = "ok"  # ok | text | status | hang
    text: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    @classmethod
    def malformed(cls) -> JudgeStep:
        return cls(kind="text", text='Sure! Here are my verdicts: {"verdicts": [{"subcategory_id": ')

    @classmethod
    def text_reply(cls, text: str) -> JudgeStep:
        return cls(kind="text", text=text)

    @classmethod
    def error(cls, status: int, headers: dict[str, str] | None = None) -> JudgeStep:
        return cls(kind="status", status=status, headers=dict(headers or {}))

    @classmethod
    def hang(cls, seconds: float) -> JudgeStep:
        """Answer only after ``seconds`` (longer than the client's timeout: a timeout)."""
        return cls(kind="hang", delay_s=seconds)


@dataclass
class RecordedJudgeRequest:
    """What one request carried (never the Authorization header)."""

    body: dict[str, Any]
    rubric: list[str]
    schema_ids: list[str]
    problems: list[str]
    authorization_sent: bool = False  # whether an Authorization header came (its value is never kept)


class JudgeServer:
    """The server; see the module docstring.

    Args:
        model: the model a request must name.
        api_key: the bearer key a request must carry (``None``: none needed, like a local vLLM/Ollama).
        delay_s: how long each successful answer takes (the benchmark uses 0.2 s).
        supports_schema: False: reject ``response_format`` with HTTP 400, like servers without structured output.
        usage: report token usage (False: like servers that omit it).
    """

    def __init__(self, *, model: str = "judge-model", api_key: str | None = None, delay_s: float = 0.0,
                 supports_schema: bool = True, usage: bool = True) -> None:
        self.model = model
        self.api_key = api_key
        self.delay_s = delay_s
        self.supports_schema = supports_schema
        self.usage = usage
        self.decisions: dict[str, tuple[str, float]] = {}  # subcategory -> (decision, confidence)
        self.requests: list[RecordedJudgeRequest] = []
        self._queue: list[JudgeStep] = []
        self._in_flight = 0
        self.max_in_flight = 0  # the most requests it was answering at once
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def enqueue(self, *steps: JudgeStep) -> None:
        """Answer the next requests with these steps, in order (then verdicts again)."""
        with self._lock:
            self._queue.extend(steps)

    def start(self) -> JudgeServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="judge-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> JudgeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- answering -------------------------------------------------------------------

    def _next_step(self) -> JudgeStep:
        with self._lock:
            return self._queue.pop(0) if self._queue else JudgeStep()

    def answer(self, body: dict[str, Any], authorization: str | None) -> tuple[int, dict[str, str], dict[str, Any]]:
        """(status, headers, JSON body) for one request."""
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return 401, {}, _error("Incorrect API key provided.", "invalid_api_key")
        if "response_format" in body and not self.supports_schema:
            return 400, {}, _error("response_format json_schema is not supported by this server", "bad_request")
        recorded = self._record(body, authorization is not None)
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return self._scripted(body, recorded)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _scripted(self, body: dict[str, Any], recorded: RecordedJudgeRequest) -> tuple[int, dict[str, str],
                                                                                      dict[str, Any]]:
        step = self._next_step()
        if step.kind == "status":
            return step.status, step.headers, _error(f"scripted HTTP {step.status}", "scripted")
        time.sleep(step.delay_s if step.kind == "hang" else self.delay_s)
        if step.kind == "text":
            return 200, {}, self._completion(step.text, body)
        if recorded.problems:
            return 400, {}, _error("; ".join(recorded.problems), "invalid_request")
        return 200, {}, self._completion(json.dumps({"verdicts": self._verdicts(recorded.rubric, body)}), body)

    def _record(self, body: dict[str, Any], authorization_sent: bool) -> RecordedJudgeRequest:
        messages = body.get("messages") or []
        user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
        rubric = _RUBRIC_ID.findall(user)
        schema_ids: list[str] = []
        problems = []
        if body.get("model") != self.model:
            problems.append(f"model must be {self.model!r}, got {body.get('model')!r}")
        if body.get("temperature") != 0:
            problems.append(f"temperature must be 0, got {body.get('temperature')!r}")
        if "response_format" in body:
            try:
                verdict = body["response_format"]["json_schema"]["schema"]["properties"]["verdicts"]["items"]
                schema_ids = list(verdict["properties"]["subcategory_id"]["enum"])
            except (KeyError, TypeError):
                problems.append("response_format is not the verdict json_schema")
            if schema_ids and sorted(schema_ids) != sorted(rubric):
                problems.append(f"the rubric {rubric} does not cover the schema's subcategories {schema_ids}")
        elif self.supports_schema:
            problems.append("response_format json_schema missing")
        recorded = RecordedJudgeRequest(body=body, rubric=rubric, schema_ids=schema_ids, problems=problems,
                                        authorization_sent=authorization_sent)
        with self._lock:
            self.requests.append(recorded)
        return recorded

    def _verdicts(self, rubric: list[str], body: dict[str, Any]) -> list[dict[str, Any]]:
        user = next((m.get("content", "") for m in body["messages"] if m.get("role") == "user"), "")
        found = _OUTPUT.search(user)
        sentence = (found.group(1).strip().split(". ")[0] if found else "")[:200]
        verdicts = []
        for sub in rubric:
            decision, confidence = self.decisions.get(sub, ("pass", 0.9))
            evidence = [{"source": "output", "index": None, "quote": sentence}] if decision != "pass" and sentence \
                else []
            verdicts.append({"subcategory_id": sub, "decision": decision, "confidence": confidence,
                             "rationale": f"scripted {decision} for {sub}", "evidence": evidence})
        return verdicts

    def _completion(self, content: str, body: dict[str, Any]) -> dict[str, Any]:
        prompt_tokens = len(json.dumps(body.get("messages", []))) // 4
        completion_tokens = max(1, len(content) // 4)
        reply: dict[str, Any] = {
            "id": "chatcmpl-judge", "object": "chat.completion", "created": int(time.time()), "model": self.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
        }
        if self.usage:
            reply["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens}
        return reply


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "code": code}}


def _handler(server: JudgeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms per answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/stats"):  # for a server in another process (benchmarks)
                with server._lock:
                    stats = {"requests": len(server.requests), "max_in_flight": server.max_in_flight}
                self._send(200, {}, stats)
            else:
                self._send(404, {}, _error(f"no route {self.path}", "not_found"))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not self.path.endswith("/chat/completions"):
                self._send(404, {}, _error(f"no route {self.path}", "not_found"))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, {}, _error("body is not JSON", "invalid_request"))
                return
            self._send(*server.answer(body, self.headers.get("Authorization")))

        def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

    return Handler


def main() -> None:
    """``python -m valiqor_trace.testing.judge_server [--model M] [--delay S]``: serve until stdin closes; print the base URL."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible judge server on 127.0.0.1.")
    parser.add_argument("--model", default="judge-model")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args()
    with JudgeServer(model=args.model, delay_s=args.delay) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # the parent closes our stdin to stop us


if __name__ == "__main__":
    main()
