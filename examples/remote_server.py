"""One place for every service's traces: `valiqor serve`, an app exporting to it, and the client's switch.

Run it:

    python examples/remote_server.py            # starts a local `valiqor serve`, no key, no network needed

What it does, as a team would:

1. starts ``valiqor serve --port P --api-key KEY`` (in production: one server, started once);
2. runs a small instrumented RAG app whose only change is
   ``valiqor_trace.init(endpoint="http://127.0.0.1:P", headers={"Authorization": "Bearer KEY"})``:
   its spans go to the server with the standard OTLP/HTTP exporter (a scripted local model answers);
3. analyzes the trace on the server. The switch from embedded to shared is one argument::

       ValiqorClient()                                          # embedded: this process, local stores
       ValiqorClient(base_url="http://127.0.0.1:P", api_key=KEY)  # remote: the server's stores and workers

   (or set ``VALIQOR_BASE_URL`` and ``VALIQOR_API_KEY`` and keep ``ValiqorClient()``).
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import tempfile
import time

import httpx

import valiqor_trace
from valiqor_trace import ValiqorClient
from valiqor_trace.testing import ModelServer, Reply


def start_server(data_dir: str, key: str) -> tuple[subprocess.Popen, str]:
    """``valiqor serve`` on a free local port; returns the process and its URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "valiqor_trace.cli", "serve", "--port", str(port),
                                "--data-dir", data_dir, f"--api-key={key}"])  # a key may start with "-"
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60  # a cold start on a busy machine imports a lot before it listens
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"valiqor serve did not start within 60 s (exit code {process.poll()})")


def run_app(url: str, key: str) -> str:
    """The instrumented app: one line of setup, then ordinary code. Returns the trace id."""
    valiqor_trace.init(project_name="support-bot", endpoint=url, headers={"Authorization": f"Bearer {key}"},
                       exporters=["otlp"])
    with ModelServer([Reply("Refunds take 90 days and need a manager's approval.")]) as model:
        openai_client = model.client()

        @valiqor_trace.retriever("policy-search")
        def search(query: str) -> list[str]:
            return ["Refunds are issued within 14 days to the original payment method."]

        with valiqor_trace.trace_workflow("answer") as scope:
            question = "How long do refunds take?"
            context = search(question)
            reply = openai_client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": "Answer only from: " + " ".join(context)},
                          {"role": "user", "content": question}])
            scope.set_output(reply.choices[0].message.content)
            trace_id = scope.trace_id
    valiqor_trace.shutdown()  # flush: the spans are on the server now
    return trace_id


def main() -> None:
    key = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="valiqor-server-") as data_dir:
        server, url = start_server(data_dir, key)
        try:
            trace_id = run_app(url, key)
            print(f"server: {url}   trace: {trace_id}")
            with ValiqorClient(base_url=url, api_key=key) as client:  # the one-argument switch
                result = client.failure_analysis.run(trace_id=trace_id)
                print(f"{result.summary.total_failures_detected} failure(s), "
                      f"primary: {result.summary.primary_failure_name}, gate CI: {result.summary.should_gate_ci}")
                for tag in result.failures():
                    print(f"  {tag.bucket_name} / {tag.subcategory_name}: severity {tag.severity}, "
                          f"confidence {tag.confidence}")
                print(f"runs on the server: {client.failure_analysis.count_runs()}")
        finally:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    main()
