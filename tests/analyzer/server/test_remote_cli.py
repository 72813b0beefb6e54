"""With VALIQOR_BASE_URL set, every command uses the server: `traces import/list/show` as well as `fa`, and a
trace's run is filed under the trace's project there too. A real server on 127.0.0.1, plain httpx to look."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.analyzer.server.conftest import KEY
from tests.analyzer.traces_for_runs import truncated_answer_trace, write_otlp_file
from tests.helpers import LiveServer
from valiqor_trace.cli import main


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """One line per span and per row: these tests read values off a line (80 columns would wrap them)."""
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def on_server(live: LiveServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LiveServer:
    monkeypatch.setenv("VALIQOR_BASE_URL", live.url)
    monkeypatch.setenv("VALIQOR_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return live


def _out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_traces_import_list_show_and_fa_go_to_the_server(on_server: LiveServer, http: httpx.Client, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    trace_id, spans = truncated_answer_trace("shop")
    export = write_otlp_file(tmp_path / "export.binpb", spans)
    imported = _out(capsys, ["traces", "import", str(export)])
    assert f"{len(spans)} spans ({len(spans)} new)" in imported and f"server: {on_server.url}" in imported
    assert len(http.get(f"/api/v1/traces/{trace_id}").json()) == len(spans)  # in the server's store

    assert [t["trace_id"] for t in json.loads(_out(capsys, ["traces", "list", "--json"]))] == [trace_id]
    listing = _out(capsys, ["traces", "list"])
    assert trace_id in listing and "shop / answer_question" in listing
    tree = _out(capsys, ["traces", "show", trace_id])
    assert tree.startswith(f"trace {trace_id}  ({len(spans)} spans, server {on_server.url})")
    assert "chat gpt-4o-mini  [llm]" in tree

    run = json.loads(_out(capsys, ["fa", "run", "--trace-id", trace_id, "--json", "--no-gate"]))
    assert run["project_name"] == "shop" and run["source"] == "trace"  # the server read the trace's project
    listed = json.loads(_out(capsys, ["fa", "list", "--trace-id", trace_id, "--source", "trace", "--json"]))
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    assert http.get("/api/v1/fa/runs", params={"project_name": "shop"}).json()[0]["run_id"] == run["run_id"]
    assert http.get("/api/v1/fa/runs/count", params={"source": "dataset"}).json() == {"count": 0}

    marked = [line for line in _out(capsys, ["traces", "show", trace_id, "--run-id", run["run_id"]]).splitlines()
              if "◆ evidence: truncated_output" in line]
    assert any("chat gpt-4o-mini" in line for line in marked)
    assert not (tmp_path / ".valiqor").exists()  # nothing was read or written locally


def test_the_server_rejects_bad_filters_and_documents_them(on_server: LiveServer, http: httpx.Client,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    answer = http.get("/api/v1/fa/runs", params={"since": "last tuesday"})
    assert answer.status_code == 400 and "since must be a time back from now" in answer.json()["error"]["message"]
    assert http.get("/api/v1/fa/runs", params={"source": "api"}).status_code == 400
    assert http.get("/api/v1/traces", params={"include_verdicts": "maybe"}).status_code == 400
    document = http.get("/openapi.json").json()["paths"]
    run_params = {p["name"] for p in document["/api/v1/fa/runs"]["get"]["parameters"]}
    assert {"project_name", "trace_id", "source", "since"} <= run_params
    assert "include_verdicts" in {p["name"] for p in document["/api/v1/traces"]["get"]["parameters"]}
    assert main(["fa", "list", "--since", "last tuesday"]) == 1
    assert "since must be a time back from now" in capsys.readouterr().err
    assert main(["fa", "run", "--trace-id", "ab" * 16, "--source", "jaeger://localhost:16686"]) == 1
    assert "add_source is not available with base_url" in capsys.readouterr().err
