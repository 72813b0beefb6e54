"""Zero-code start (docs/zero-code.md): an app that never calls init() is traced by ``valiqor run``,
``python -m valiqor_trace.run`` and ``opentelemetry-instrument``, each in a fresh process, with the real
openai SDK against the scripted model server on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, OTLPReceiver
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.store import SpanStore
from valiqor_trace.testing.model_server import ModelServer, Reply

pytest.importorskip("openai")

BIN = Path(sys.executable).parent  # the console scripts of the interpreter running the tests
ANSWER = "Paris is the capital of France."
APP = """\
import os, sys
import openai

client = openai.OpenAI(base_url=os.environ["MODEL_URL"], api_key="test-key", max_retries=0)
reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": sys.argv[1]}])
print("answer:", reply.choices[0].message.content)
sys.exit(int(os.environ.get("APP_EXIT_CODE", "0")))  # the spans must still be flushed
"""


def _ours() -> set[str]:
    return {ep.name for ep in entry_points(group="opentelemetry_instrumentor") if ep.value.startswith("valiqor_trace.")}


def _theirs() -> set[str]:
    return {ep.name for ep in entry_points(group="opentelemetry_instrumentor")
            if not ep.value.startswith("valiqor_trace.")}


needs_entry_points = pytest.mark.skipif(
    not _ours(), reason="valiqor-trace's opentelemetry_instrumentor entry points are not installed in this "
                        "interpreter (they come with `pip install -e .`; a PYTHONPATH checkout has none)")


@pytest.fixture
def model_url() -> Iterator[str]:
    with ModelServer(default=Reply(ANSWER)) as server:
        yield server.base_url


def _run(command: list[str], tmp_path: Path, model_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_"))}
    clean.update(PYTHONPATH=str(REPO_ROOT), MODEL_URL=model_url, **env)
    return subprocess.run(command, cwd=tmp_path, env=clean, capture_output=True, text=True, timeout=120)


def _only_trace(store_path: Path) -> tuple[object, object]:
    store = SpanStore(str(store_path))
    try:
        traces = store.list_traces()
        assert len(traces) == 1, traces
        spans = store.get_trace(traces[0].trace_id)
    finally:
        store.close()
    return traces[0], reconstruct_item(spans)


def test_valiqor_run_traces_an_unchanged_app_into_the_local_store(tmp_path: Path, model_url: str) -> None:
    result = _run([str(BIN / "valiqor"), "run", "--project", "zero", "--home", "data", "--",
                   sys.executable, "app.py", "What is the capital of France?"], tmp_path, model_url, APP_EXIT_CODE="3")
    assert result.returncode == 3, result.stderr  # the app's exit code, passed on
    assert f"answer: {ANSWER}" in result.stdout
    summary, item = _only_trace(tmp_path / "data" / "traces.db")
    assert summary.project_name == "zero"
    assert (item.input, item.output) == ("What is the capital of France?", ANSWER)


def test_python_m_valiqor_trace_run_does_the_same_in_process(tmp_path: Path, model_url: str) -> None:
    result = _run([sys.executable, "-m", "valiqor_trace.run", "--store-path", "spans.db", "app.py", "Capital?"],
                  tmp_path, model_url)
    assert result.returncode == 0, result.stderr
    summary, item = _only_trace(tmp_path / "spans.db")
    assert summary.project_name == "default"
    assert (item.input, item.output) == ("Capital?", ANSWER)


def _instrument_env(**env: str) -> dict[str, str]:
    """opentelemetry-instrument as a user runs it, with only our instrumentors (the dev install also has
    OpenInference's and OpenLLMetry's, which would record the same call again) and no metrics or logs."""
    return {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": ",".join(sorted(_theirs())), "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none", **env}


@needs_entry_points
def test_opentelemetry_instrument_finds_our_instrumentors_and_our_store_exporter(tmp_path: Path,
                                                                                  model_url: str) -> None:
    assert _ours() == {"valiqor_openai", "valiqor_langchain", "valiqor_llama_index"}
    result = _run([str(BIN / "opentelemetry-instrument"), sys.executable, "app.py", "Capital?"], tmp_path, model_url,
                  **_instrument_env(OTEL_TRACES_EXPORTER="valiqor", VALIQOR_STORE_PATH=str(tmp_path / "otel.db"),
                                    OTEL_SERVICE_NAME="checkout"))
    assert result.returncode == 0, result.stderr
    summary, item = _only_trace(tmp_path / "otel.db")
    assert summary.project_name == "checkout"
    assert (item.input, item.output) == ("Capital?", ANSWER)


@needs_entry_points
def test_with_opentelemetry_instrument_the_otel_variables_choose_the_exporter(tmp_path: Path, model_url: str) -> None:
    with OTLPReceiver() as receiver:
        result = _run([str(BIN / "opentelemetry-instrument"), sys.executable, "app.py", "Capital?"], tmp_path,
                      model_url, **_instrument_env(OTEL_TRACES_EXPORTER="otlp",
                                                   OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                                                   OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint))
        spans = receiver.spans()
    assert result.returncode == 0, result.stderr
    assert [span.name for span in spans] == ["chat gpt-4o-mini"]
    assert not (tmp_path / ".valiqor").exists()  # no local store unless asked for


@needs_entry_points
def test_init_in_the_app_under_opentelemetry_instrument_records_each_call_once(tmp_path: Path,
                                                                                model_url: str) -> None:
    (tmp_path / "main.py").write_text("import valiqor_trace\nvaliqor_trace.init(exporters='none')\n"
                                      "import runpy\nrunpy.run_path('app.py', run_name='__main__')\n", encoding="utf-8")
    with OTLPReceiver() as receiver:
        result = _run([str(BIN / "opentelemetry-instrument"), sys.executable, "main.py", "Capital?"], tmp_path,
                      model_url, **_instrument_env(OTEL_TRACES_EXPORTER="otlp",
                                                   OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                                                   OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint))
        spans = receiver.spans()
    assert result.returncode == 0, result.stderr
    assert [span.name for span in spans] == ["chat gpt-4o-mini"]


def test_the_valiqor_exporter_writes_where_the_environment_says(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """The ``valiqor`` exporter entry point is the store exporter configured from the environment."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from valiqor_trace.store import LocalStoreExporter

    monkeypatch.setenv("VALIQOR_STORE_PATH", str(tmp_path / "env.db"))
    exporter = LocalStoreExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("work") as span:
        span.set_attribute("x", 1)
    provider.shutdown()
    store = SpanStore(str(tmp_path / "env.db"))
    try:
        [summary] = store.list_traces()
        [record] = store.get_trace(summary.trace_id)
    finally:
        store.close()
    assert summary.project_name == "default" and record.name == "work" and record.attributes == {"x": 1}


def test_valiqor_run_names_a_command_it_cannot_find(capsys) -> None:  # noqa: ANN001
    from valiqor_trace.cli import main

    assert main(["run", "--", "no-such-command-valiqor-test"]) == 1
    assert "command not found: no-such-command-valiqor-test" in capsys.readouterr().err
