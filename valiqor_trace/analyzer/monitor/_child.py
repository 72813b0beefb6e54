"""The analysis process of ``MonitorConfig(executor="process")``: FA runs here, off the app's GIL.

Started by :class:`~valiqor_trace.analyzer.monitor._process.ProcessFA` as
``python -m valiqor_trace.analyzer.monitor._child``.
Protocol, one JSON document per line: the first line on stdin is the setup
(``run_store_path``, ``project_name``, ``options``); then each request line is
``{"spec": {...}, "items": [...]}`` and gets one answer line on stdout,
``{"ok": true, "result": <FAResult without pass tags and inputs>}`` or ``{"ok": false, "error": "..."}``. The process
ends at end of input, so it never outlives the app.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from valiqor_trace.analyzer.fa.engine import AnalysisOptions, validate_options
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.runs import RunJob, RunSpec, RunStore, launch


def build_options(spec: dict[str, Any]) -> AnalysisOptions:
    """The FA options of a monitoring run from their JSON form (see ``_process.options_spec``)."""
    judge = None
    if spec["judge"]:
        from valiqor_trace.analyzer.client import ValiqorClient

        judge = ValiqorClient(project_name=spec["project_name"])._judge(None)
    options = AnalysisOptions.model_validate({**spec["options"], "judge": judge})
    validate_options(options)
    return options


def analyze_request(request: dict[str, Any], options: AnalysisOptions, store: RunStore) -> dict[str, Any]:
    spec = request["spec"]
    run_spec = RunSpec(project_name=spec["project_name"], input_type="trace", options=options,
                       trace_id=spec.get("trace_id"), source=spec.get("source", "monitor"), run_id=spec["run_id"],
                       recorded_options=spec.get("recorded_options", {}))
    items = [FAItem.model_validate(item) for item in request["items"]]
    try:
        result = launch(RunJob(run_spec, items, store), background=False).result()
    except Exception as exc:  # noqa: BLE001 - the run failed (stored as failed): tell the parent, keep serving
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    # The parent only needs the verdict and what alerts (the full run is in the store): leaving out the
    # pass tags and the inputs keeps its share of the work, JSON and validation, small.
    brief = result.model_copy(update={"failure_tags": [t for t in result.failure_tags if t.decision != "pass"],
                                      "inputs": []})
    return {"ok": True, "result": brief.model_dump(mode="json")}


def serve(stdin: TextIO, stdout: TextIO) -> None:
    setup = json.loads(stdin.readline())
    options = build_options(setup["options"])
    store = RunStore(setup["run_store_path"])
    stdout.write(json.dumps({"ready": True}) + "\n")
    stdout.flush()
    for line in stdin:
        if not line.strip():
            continue
        answer = analyze_request(json.loads(line), options, store)
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()
    store.close()


if __name__ == "__main__":
    protocol = sys.stdout
    sys.stdout = sys.stderr  # a stray print() anywhere must not corrupt the protocol
    serve(sys.stdin, protocol)
