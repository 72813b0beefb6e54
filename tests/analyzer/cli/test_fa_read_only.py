"""`valiqor fa list|status|result` read: with no runs yet they create nothing and say which command creates runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valiqor_trace.cli import main

ITEM = {"input": "What is the boiling point of water?", "output": "Water boils at 100 °C at sea level.",
        "context": ["At sea level, water boils at 100 °C."]}


def test_reading_before_any_run_creates_nothing_and_points_at_fa_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("VALIQOR_HOME")  # the default home: ./.valiqor in the working directory
    monkeypatch.chdir(tmp_path)
    assert main(["fa", "list"]) == 0 and main(["fa", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no runs yet") and "`valiqor fa run --dataset FILE`" in out
    assert json.loads(out.splitlines()[-1]) == []
    for command in ("status", "result"):
        assert main(["fa", command, "--run-id", "run_0123"]) == 1
        err = capsys.readouterr().err
        assert "no run 'run_0123'" in err and "no run store at" in err and "`valiqor fa run" in err
    assert list(tmp_path.iterdir()) == []  # no .valiqor, no runs.db

    dataset = tmp_path / "items.jsonl"
    dataset.write_text(json.dumps(ITEM) + "\n", encoding="utf-8")
    assert main(["fa", "run", "--dataset", str(dataset), "--json"]) == 0  # the command that creates runs
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert (tmp_path / ".valiqor" / "runs.db").is_file()
    assert main(["fa", "list"]) == 0 and run_id in capsys.readouterr().out  # never cut, whatever the width
