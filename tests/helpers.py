"""Test helpers: a real OTLP/HTTP receiver on 127.0.0.1, and running snippets in a fresh process."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

REPO_ROOT = Path(__file__).resolve().parent.parent


class OTLPReceiver:
    """An OTLP/HTTP trace receiver decoding real protobuf; optionally slow or failing.

    Attributes:
        requests: decoded ``ExportTraceServiceRequest`` messages, in arrival order.
        raw_bodies: the request bodies as received (decompressed), for byte-level searches.
    """

    def __init__(self, *, delay_s: float = 0.0, status: int = 200) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.raw_bodies: list[bytes] = []
        self.delay_s = delay_s
        self.status = status
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                if receiver.status == 200 and self.path == "/v1/traces":
                    message = ExportTraceServiceRequest()
                    message.ParseFromString(body)
                    with receiver._lock:
                        receiver.requests.append(message)
                        receiver.raw_bodies.append(body)
                self.send_response(receiver.status if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def spans(self) -> list:
        with self._lock:
            return [span for request in self.requests for resource in request.resource_spans
                    for scope in resource.scope_spans for span in scope.spans]


def run_python(code: str, *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Run ``code`` in a fresh interpreter (fresh global OTel state); return stdout, fail on error."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_"))}
    full_env["PYTHONPATH"] = str(REPO_ROOT)
    full_env.update(env or {})
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=full_env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr
