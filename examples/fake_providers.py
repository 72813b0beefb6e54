"""Local stand-ins for model providers' HTTP APIs, so the provider examples run offline with the real SDKs.

:class:`ScriptedServer` listens on 127.0.0.1 (a free port) and answers each request with the next scripted
reply, whatever the path; the SDK under test is pointed at it with its own base-URL option. The builders
below write each provider's wire format (JSON bodies, server-sent events) for a plain answer, a streamed
answer and a tool call. Not part of the package: a helper of the examples and their tests.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    body: bytes
    content_type: str = "application/json"
    status: int = 200


def json_reply(value: Any) -> Reply:
    return Reply(json.dumps(value).encode())


def sse_reply(events: list[tuple[str | None, Any]]) -> Reply:
    """Server-sent events: ``(event name or None, data)`` pairs."""
    lines = []
    for name, data in events:
        if name:
            lines.append(f"event: {name}")
        lines.append(f"data: {json.dumps(data)}")
        lines.append("")
    return Reply(("\n".join(lines) + "\n").encode(), "text/event-stream")


class ScriptedServer:
    """Answers request N with ``script[N]``; records each request's path and JSON body in ``requests``."""

    def __init__(self, script: list[Reply]) -> None:
        self.script = list(script)
        self.requests: list[tuple[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                reply = server._next(self.path, body)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _next(self, path: str, body: Any) -> Reply:
        with self._lock:
            self.requests.append((path, body))
            if not self.script:
                return Reply(b'{"error": {"type": "script_over", "message": "no more scripted replies"}}', status=500)
            return self.script.pop(0)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# -- Anthropic Messages API -----------------------------------------------------------------------------------

def anthropic_message(model: str, content: list[dict[str, Any]], stop_reason: str = "end_turn") -> Reply:
    return json_reply({"id": f"msg_{abs(hash(json.dumps(content))) % 10**8:08d}", "type": "message",
                       "role": "assistant", "model": model, "content": content, "stop_reason": stop_reason,
                       "stop_sequence": None, "usage": {"input_tokens": 20, "output_tokens": 12}})


def anthropic_text(model: str, text: str) -> Reply:
    return anthropic_message(model, [{"type": "text", "text": text}])


def anthropic_tool_use(model: str, name: str, arguments: dict[str, Any], call_id: str = "toolu_01") -> Reply:
    return anthropic_message(model, [{"type": "tool_use", "id": call_id, "name": name, "input": arguments}],
                             stop_reason="tool_use")


def anthropic_stream(model: str, text: str, chunks: int = 4) -> Reply:
    size = max(1, -(-len(text) // chunks))
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    events: list[tuple[str | None, Any]] = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_stream01", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 18, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": piece}}) for piece in pieces]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 14}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse_reply(events)


# -- Google Gemini API (generateContent / streamGenerateContent?alt=sse) -----------------------------------------

def _gemini_response(model: str, parts: list[dict[str, Any]], finish: str | None = "STOP") -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": model,
            "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 12, "totalTokenCount": 32}}


def gemini_text(model: str, text: str) -> Reply:
    return json_reply(_gemini_response(model, [{"text": text}]))


def gemini_function_call(model: str, name: str, arguments: dict[str, Any]) -> Reply:
    return json_reply(_gemini_response(model, [{"functionCall": {"name": name, "args": arguments}}]))


def gemini_stream(model: str, text: str, chunks: int = 4) -> Reply:
    size = max(1, -(-len(text) // chunks))
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    return sse_reply([(None, _gemini_response(model, [{"text": piece}], "STOP" if i == len(pieces) - 1 else None))
                      for i, piece in enumerate(pieces)])


# -- Amazon Bedrock Runtime (Converse / ConverseStream, AWS event-stream framing) -------------------------------

def _converse(content: list[dict[str, Any]], stop_reason: str) -> Reply:
    return json_reply({"output": {"message": {"role": "assistant", "content": content}}, "stopReason": stop_reason,
                       "usage": {"inputTokens": 20, "outputTokens": 12, "totalTokens": 32},
                       "metrics": {"latencyMs": 5}})


def bedrock_text(text: str) -> Reply:
    return _converse([{"text": text}], "end_turn")


def bedrock_tool_use(name: str, arguments: dict[str, Any], call_id: str = "tooluse_01") -> Reply:
    return _converse([{"toolUse": {"toolUseId": call_id, "name": name, "input": arguments}}], "tool_use")


def _event_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream message: prelude (lengths + CRC), string headers, JSON payload, message CRC."""
    import struct
    import zlib

    headers = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"),
                        (":message-type", "event")):
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def bedrock_stream(text: str, chunks: int = 4) -> Reply:
    size = max(1, -(-len(text) // chunks))
    events = [_event_message("messageStart", {"role": "assistant"})]
    events += [_event_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text[i:i + size]}})
               for i in range(0, len(text), size)]
    events += [_event_message("contentBlockStop", {"contentBlockIndex": 0}),
               _event_message("messageStop", {"stopReason": "end_turn"}),
               _event_message("metadata", {"usage": {"inputTokens": 18, "outputTokens": 14, "totalTokens": 32},
                                           "metrics": {"latencyMs": 5}})]
    return Reply(b"".join(events), "application/vnd.amazon.eventstream")
