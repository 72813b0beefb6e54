"""Test helpers: a real OTLP/HTTP receiver on 127.0.0.1, our server app served on 127.0.0.1, and running snippets
in a fresh process."""

from __future__ import annotations

import gzip
import os
import socket
import sqlite3
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


class LiveServer:
    """An ASGI app served by uvicorn on 127.0.0.1 (a free port) in a thread, as ``valiqor serve`` runs it.

    Tests reach it with a plain ``httpx.Client``: no other library's in-process test client sits between our
    client and our server. ``lifespan=True`` runs the app's start-up and shutdown like a real server does.
    """

    def __init__(self, application: object, *, lifespan: bool = False) -> None:
        import uvicorn

        self.app = application
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(application, log_level="warning", lifespan="on" if lifespan else "off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> LiveServer:  # noqa: PYI034 - Self needs Python 3.11
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()

    def client(self, headers: dict[str, str] | None = None):  # noqa: ANN201 - httpx imported lazily
        """A plain ``httpx.Client`` on this server."""
        import httpx

        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def store_file_at(path: Path, component: str, migrations: tuple) -> "sqlite3.Connection":
    """A SQLite store file with only ``migrations`` run (the schema an older release left), and an
    autocommit connection to fill it with that release's rows."""
    from valiqor_trace.internal import apply_migrations, open_database

    db = open_database(str(path))
    apply_migrations(db, component, migrations)
    return db.raw
