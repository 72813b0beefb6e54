"""A scripted OpenAI-compatible model server on 127.0.0.1, for tests, examples and ``valiqor demo``.

It speaks enough of the OpenAI HTTP API for the real ``openai`` SDK (or any
OpenAI-compatible client) to talk to it: chat completions (plain, SSE-streamed,
tool calls, ``n`` choices, usage chunks), the Responses API (plain and streamed
events, function calls), embeddings (float or base64), and legacy completions.
What it answers comes from a script of :class:`Reply` objects, so a test decides
exactly what the "model" says - including deliberately wrong answers - and how
it fails: HTTP errors, slow responses, slow or cut streams::

    from valiqor_trace.testing.model_server import ModelServer, Reply

    with ModelServer([Reply("Paris."), Reply.error(429, "slow down")]) as server:
        client = server.client()              # openai.OpenAI(base_url=server.base_url, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])   # -> "Paris."
        client.chat.completions.create(...)   # -> openai.RateLimitError
        server.requests[0].body["messages"]   # what the client sent

Reply selection, per request: the first queued reply (``script`` / :meth:`enqueue`)
whose ``match`` fits the last user text is consumed; else the first fitting
``rules`` entry (never consumed); else ``default`` (an echo of the user text).
Authorization headers are never recorded.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from valiqor_trace.testing import _model_payloads as payloads

__all__ = ["ModelServer", "RecordedRequest", "Reply", "ToolCallSpec", "demo_rules"]


@dataclass(frozen=True)
class ToolCallSpec:
    """A tool call the scripted model makes; ``arguments`` is sent verbatim (it may be invalid JSON)."""

    name: str
    arguments: str = "{}"
    id: str = field(default_factory=lambda: payloads.new_id("call"))


@dataclass(frozen=True)
class Reply:
    """One scripted answer, and how to deliver it.

    Attributes:
        text: the assistant's text (None: no text, e.g. a pure tool call).
        tool_calls: tool calls the model makes.
        finish_reason: default ``tool_calls`` when there are tool calls, else ``stop``.
        refusal: a refusal message (chat completions).
        status: HTTP status; anything but 200 sends an OpenAI-style error body.
        error_message, error_type, error_code: the error body's fields.
        delay_s: wait before sending the response headers (for client timeouts).
        chunk_delay_s: wait between streamed chunks.
        cut_after: close the connection after this many chunks, without finishing the stream.
        chunks: split the text into this many chunks (default: one chunk per word).
        usage: ``(input_tokens, output_tokens)``; default: words counted.
        model: the model name reported back (default: the requested one).
        match: use this reply only when the last user text contains this substring (case-insensitive).
        note: why the reply exists (e.g. "deliberately wrong: contradicts the refund policy").
    """

    text: str | None = None
    tool_calls: tuple[ToolCallSpec, ...] = ()
    finish_reason: str | None = None
    refusal: str | None = None
    status: int = 200
    error_message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    cut_after: int | None = None
    chunks: int | None = None
    usage: tuple[int, int] | None = None
    model: str | None = None
    match: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            problems.append(f"status={self.status!r} must be an HTTP status code (e.g. 200, 429, 500)")
        for name in ("delay_s", "chunk_delay_s"):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)!r} must be >= 0 seconds")
        if self.cut_after is not None and self.cut_after < 0:
            problems.append(f"cut_after={self.cut_after!r} must be >= 0 chunks")
        if self.chunks is not None and self.chunks < 1:
            problems.append(f"chunks={self.chunks!r} must be >= 1")
        if self.usage is not None and not (len(self.usage) == 2 and all(isinstance(n, int) for n in self.usage)):
            problems.append(f"usage={self.usage!r} must be (input_tokens, output_tokens)")
        if problems:
            raise ValueError(f"Reply: {'; '.join(problems)}")

    @classmethod
    def tool_call(cls, name: str, arguments: str | dict[str, Any] = "{}", *, call_id: str | None = None,
                  text: str | None = None, **options: Any) -> Reply:
        """A reply that calls one tool (``arguments`` as a dict is sent as JSON, a string verbatim)."""
        encoded = arguments if isinstance(arguments, str) else json.dumps(arguments)
        spec = ToolCallSpec(name, encoded, call_id) if call_id else ToolCallSpec(name, encoded)
        return cls(text=text, tool_calls=(spec,), **options)

    @classmethod
    def error(cls, status: int, message: str | None = None, **options: Any) -> Reply:
        return cls(status=status, error_message=message, **options)

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")

    def matches(self, user_text: str) -> bool:
        return self.match is None or self.match.lower() in user_text.lower()


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received (headers without credentials)."""

    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


_SECRET_HEADERS = {"authorization", "api-key", "openai-api-key", "x-api-key"}


class ModelServer:
    """The scripted server; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(self, script: Iterable[Reply] = (), *, rules: Iterable[Reply] = (), default: Reply | None = None,
                 embedding_dimensions: int = 8) -> None:
        self._queue: list[Reply] = _replies("script", script)
        self.rules: list[Reply] = _replies("rules", rules)
        self.default = default
        self.embedding_dimensions = embedding_dimensions
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> ModelServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval makes stop() return in milliseconds instead of half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="valiqor-model-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("ModelServer is not running: call start() or use it in a `with` block")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the ``base_url`` for an OpenAI client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def client(self, **options: Any) -> Any:
        """An ``openai.OpenAI`` client for this server (``max_retries=0`` so each reply is used once)."""
        import openai

        options.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=self.base_url, api_key="scripted-model-server", **options)

    def async_client(self, **options: Any) -> Any:
        import openai

        options.setdefault("max_retries", 0)
        return openai.AsyncOpenAI(base_url=self.base_url, api_key="scripted-model-server", **options)

    # --- script ---

    def enqueue(self, *replies: Reply) -> None:
        """Add replies to the end of the script."""
        checked = _replies("enqueue", replies)
        with self._lock:
            self._queue.extend(checked)

    @property
    def pending(self) -> int:
        """Script replies not used yet."""
        with self._lock:
            return len(self._queue)

    def next_reply(self, body: dict[str, Any]) -> Reply:
        user_text = payloads.last_user_text(body)
        with self._lock:
            for index, reply in enumerate(self._queue):
                if reply.matches(user_text):
                    return self._queue.pop(index)
        for rule in self.rules:
            if rule.matches(user_text):
                return rule
        return self.default or Reply(text=f"You said: {user_text}" if user_text else "Hello from the model server.")

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _replies(where: str, replies: Iterable[Reply]) -> list[Reply]:
    replies = list(replies)
    for index, reply in enumerate(replies):
        if not isinstance(reply, Reply):
            hint = f"; wrap it, e.g. Reply({reply!r})" if isinstance(reply, str) else ""
            raise TypeError(f"ModelServer {where}[{index}] is a {type(reply).__name__}, not a Reply{hint}")
    return replies


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default (5) resets connections when many clients start at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stopped waiting (a timeout test, a cancelled call) is expected, not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _handler_for(server: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        model_server = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real API
    model_server: ModelServer

    def log_message(self, *args: object) -> None:  # quiet: tests and demos print their own output
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "scripted-model", "object": "model",
                                                              "created": 0, "owned_by": "valiqor"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "request body is not JSON", "type": "invalid_request_error"}})
            return
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() not in _SECRET_HEADERS}
        self.model_server.record(RecordedRequest("POST", self.path, body, headers))
        route = self.path.split("?", 1)[0].rstrip("/")
        if route.endswith("/embeddings"):
            self._send_json(200, payloads.embeddings(body, body.get("model") or "scripted-embedding",
                                                     self.model_server.embedding_dimensions))
            return
        handlers = {"/chat/completions": self._chat, "/responses": self._responses, "/completions": self._completions}
        for suffix, handle in handlers.items():
            if route.endswith(suffix):
                reply = self.model_server.next_reply(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._send_json(reply.status, payloads.error_body(reply))
                else:
                    handle(reply, body, reply.model or body.get("model") or "scripted-model")
                return
        self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})

    def _chat(self, reply: Reply, body: dict[str, Any], model: str) -> None:
        if body.get("stream"):
            self._send_sse([(None, chunk) for chunk in payloads.chat_chunks(reply, body, model)], reply)
        else:
            self._send_json(200, payloads.chat_completion(reply, body, model))

    def _responses(self, reply: Reply, body: dict[str, Any], model: str) -> None:
        if body.get("stream"):
            self._send_sse([(event["type"], event) for event in payloads.response_events(reply, body, model)],
                           reply, done_marker=False)
        else:
            self._send_json(200, payloads.response_object(reply, body, model))

    def _completions(self, reply: Reply, body: dict[str, Any], model: str) -> None:
        if body.get("stream"):
            self._send_sse([(None, chunk) for chunk in payloads.text_completion_chunks(reply, body, model)], reply)
        else:
            self._send_json(200, payloads.text_completion(reply, body, model))

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", payloads.new_id("req"))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, events: list[tuple[str | None, dict[str, Any]]], reply: Reply, *,
                  done_marker: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", payloads.new_id("req"))
        self.end_headers()
        try:
            for index, (name, event) in enumerate(events):
                if reply.cut_after is not None and index >= reply.cut_after:
                    self._cut()
                    return
                prefix = f"event: {name}\n" if name else ""
                self._write_chunk(f"{prefix}data: {json.dumps(event)}\n\n".encode())
                if reply.chunk_delay_s:
                    time.sleep(reply.chunk_delay_s)
            if done_marker:
                self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client went away mid-stream: nothing to do
            self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection mid-body, as a crashed upstream or a proxy timeout would."""
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def demo_rules() -> list[Reply]:
    """Canned replies for a small support-bot demo, some deliberately wrong so that analysis finds them."""
    return [
        Reply(match="refund", text="Refunds are issued within 14 days to the original payment method.",
              note="correct: matches the refund policy"),
        Reply(match="shipping", text="Express shipping takes 5 business days and costs nothing.",
              note="deliberately wrong: contradicts the shipping policy (express takes 1 day)"),
        Reply(match="weather", tool_calls=(ToolCallSpec("get_weather", '{"city": "Paris"'),),
              note="deliberately wrong: the tool arguments are invalid JSON"),
        Reply(match="password", text="I'm sorry, but I can't help with that.",
              note="deliberately wrong: refuses a harmless question"),
    ]
