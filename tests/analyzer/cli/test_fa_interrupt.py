"""Ctrl-C during ``valiqor fa run``: the run is cancelled, and what was analyzed is kept, stored and printed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from valiqor_trace.analyzer.client import ValiqorClient
from tests.analyzer.client.run_helpers import items
from tests.helpers import REPO_ROOT
from valiqor_trace.cli import main

LOCAL_ONLY = ("OPENAI_API_KEY", "VALIQOR_OPENAI_API_KEY", "VALIQOR_JUDGE_BASE_URL", "VALIQOR_BASE_URL")
TOTAL = 20_000  # seconds of work (~1,000 items/s): far longer than it takes to see the run start


def _stored_progress(home: Path, deadline_s: float = 120) -> tuple[str, int]:
    """Poll the run store (as another process would) until the CLI's run has analyzed an item."""
    client = ValiqorClient(home=str(home))
    try:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            runs = client.failure_analysis.list_runs(project_name="big")
            if runs:
                status = client.failure_analysis.get_status(runs[0].run_id)
                assert status.status == "running", status
                if status.current_item > 0:
                    return status.run_id, status.current_item
            time.sleep(0.05)
    finally:
        client.close()
    raise AssertionError(f"the run showed no progress within {deadline_s}s")


def test_ctrl_c_cancels_the_run_and_keeps_what_was_analyzed(tmp_path: Path, monkeypatch, capsys) -> None:
    dataset = tmp_path / "big.json"
    dataset.write_text(json.dumps(items(TOTAL)), encoding="utf-8")
    for name in LOCAL_ONLY:  # the embedded engine, no judge: here and in the CLI's process
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VALIQOR_HOME", str(tmp_path))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cli = subprocess.Popen([sys.executable, "-m", "valiqor_trace.cli", "fa", "run", "--dataset", str(dataset),
                            "--project-name", "big"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        run_id, seen = _stored_progress(tmp_path)
        cli.send_signal(signal.SIGINT)
        out, err = cli.communicate(timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 130, err
    assert f"run {run_id}  [cancelled, partial]" in out, err  # the partial result is printed
    assert f"interrupted: run {run_id} cancelled after" in err
    assert f"read it with `valiqor fa result --run-id {run_id}`" in err
    assert "Traceback" not in err

    assert main(["fa", "result", "--run-id", run_id, "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    analyzed = stored["summary"]["total_items"]
    assert stored["status"] == "cancelled" and stored["partial"] and seen <= analyzed < TOTAL
    assert len(stored["inputs"]) == analyzed
    assert f"cancelled after {analyzed} of {TOTAL} items" in err
    assert main(["fa", "status", "--run-id", run_id]) == 0
    assert f"{run_id}  cancelled  {100 * analyzed / TOTAL:.0f}%  {analyzed}/{TOTAL} items" in capsys.readouterr().out
