"""End to end over real sockets: `valiqor serve` in its own process, an instrumented app exporting with the
real OTLP HTTP exporter, and a remote client in a third process whose result equals the embedded one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import valiqor_trace
from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.runs import FAResult
from tests.analyzer.server.conftest import AUTH, KEY, result_identity_free
from tests.helpers import REPO_ROOT, run_python
from valiqor_trace.testing.model_server import ModelServer, Reply

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server_process(tmp_path: Path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_", "OPENAI_"))}
    env["PYTHONPATH"] = str(REPO_ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "valiqor_trace.cli", "serve", "--port", str(port), "--data-dir",
         str(tmp_path / "server-data"), "--api-key", KEY],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"valiqor serve did not start:\n{process.communicate()[0]}")
        time.sleep(0.1)
    yield url
    process.terminate()
    output = process.communicate(timeout=30)[0]
    # uvicorn shuts down gracefully (lifespan: queued spans written, stores closed), then re-raises SIGTERM
    assert process.returncode in (0, -15) and "Traceback" not in output, output


def _run_instrumented_app(url: str, home: Path) -> str:
    """A small RAG app: retrieval, then a chat call whose answer contradicts the retrieved passage."""
    valiqor_trace.init(project_name="e2e-app", endpoint=url, headers=AUTH, home=str(home))
    with ModelServer([Reply("The Eiffel Tower is in Berlin, Germany.")]) as model:
        openai_client = model.client()

        @valiqor_trace.retriever("kb-search")
        def search(query: str) -> list[str]:
            return ["The Eiffel Tower is a wrought-iron tower in Paris, France."]

        with valiqor_trace.trace_workflow("answer-question") as scope:
            question = "Where is the Eiffel Tower?"
            passages = search(question)
            reply = openai_client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": "Answer from: " + " ".join(passages)},
                          {"role": "user", "content": question}])
            scope.set_output(reply.choices[0].message.content)
            trace_id = scope.trace_id
    valiqor_trace.shutdown()  # flushes both exporters: the local store and OTLP to the server
    assert trace_id
    return trace_id


def test_remote_fa_on_an_exported_trace_equals_embedded(server_process: str, tmp_path: Path) -> None:
    trace_id = _run_instrumented_app(server_process, tmp_path / "app-home")

    output = run_python(f"""
        from valiqor_trace import ValiqorClient
        client = ValiqorClient(base_url={server_process!r}, api_key={KEY!r})
        print(client.failure_analysis.run(trace_id={trace_id!r}).model_dump_json())
    """, cwd=tmp_path)
    remote_result = FAResult.model_validate_json(output.strip().splitlines()[-1])

    with ValiqorClient(home=str(tmp_path / "app-home")) as embedded:
        local_spans = embedded.traces.get(trace_id)
        embedded_result = embedded.failure_analysis.run(trace_id=trace_id)
    with ValiqorClient(base_url=server_process, api_key=KEY) as remote:
        assert remote.traces.get(trace_id) == local_spans  # the server stored exactly what the app recorded
        assert remote.failure_analysis.get_status(remote_result.run_id).status == "completed"

    assert len(local_spans) >= 3 and remote_result.trace_id == trace_id
    assert result_identity_free(remote_result) == result_identity_free(embedded_result)
    assert remote_result.failures(), "the contradicting answer should fail a hallucination check"
