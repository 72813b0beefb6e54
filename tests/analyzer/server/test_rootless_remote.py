"""Remote mode: a trace analyzed without its root span says so over HTTP, as embedded mode does."""

from __future__ import annotations

import json
from pathlib import Path

import valiqor_trace
from valiqor_trace.analyzer.client import ValiqorClient
from tests.analyzer.server.conftest import KEY, LiveServer
from valiqor_trace.store import row_record, span_row
from valiqor_trace.testing import capture_spans


def _rootless_file(tmp_path: Path) -> tuple[Path, str]:
    with capture_spans(instrument=False) as exporter:
        with valiqor_trace.trace_workflow("gateway"):  # the root, left out of the file below
            with valiqor_trace.trace_workflow("answer") as workflow:
                workflow.set_input("Where is Ada?")
                workflow.set_output("London.")
    spans = [row_record(span_row(s)).model_dump() for s in exporter.get_finished_spans() if s.name != "gateway"]
    path = tmp_path / "rootless.json"
    path.write_text(json.dumps(spans))
    return path, spans[0]["trace_id"]


def test_root_missing_reaches_the_remote_client(live: LiveServer, tmp_path: Path) -> None:
    path, trace_id = _rootless_file(tmp_path)
    with ValiqorClient(base_url=live.url, api_key=KEY) as remote:
        remote.traces.import_file(path)
        assert remote.traces.reconstruct(trace_id).metadata["root_missing"] is True
        result = remote.failure_analysis.run(trace_id=trace_id)
        assert result.status == "completed" and result.inputs[0].root_missing
        assert remote.failure_analysis.get_result(result.run_id).inputs[0].root_missing
        assert remote.failure_analysis.get_run_inputs(result.run_id)[0].root_missing
