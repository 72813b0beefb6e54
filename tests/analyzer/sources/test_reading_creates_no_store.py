"""Looking a trace up from a directory without a store leaves no store behind, and says where it looked;
writing (init(), import, serve) still creates the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import valiqor_trace
from valiqor_trace.errors import NotFoundError
from tests.helpers import REPO_ROOT
from valiqor_trace.cli import main
from valiqor_trace.store import SpanStore

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def empty_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory with no store, and no VALIQOR_HOME: the default store is ./.valiqor/traces.db."""
    monkeypatch.delenv("VALIQOR_HOME")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _store(directory: Path) -> Path:
    return directory / ".valiqor" / "traces.db"


def test_cli_look_ups_create_no_store(empty_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = str(_store(empty_dir))
    for argv in (["traces", "show", TRACE_ID], ["traces", "list"]):
        assert main(argv) == 1
        assert f"error: no trace store at {expected}" in capsys.readouterr().err
    assert main(["traces", "reconstruct", TRACE_ID, "--timeout", "0"]) == 1
    assert not (empty_dir / ".valiqor").exists()
    err = capsys.readouterr().err
    assert f"trace {TRACE_ID} not found; looked in: local store {expected} (no store there)" in err
    assert main(["fa", "run", "--trace-id", TRACE_ID]) == 1
    assert f"local store {expected} (no store there)" in capsys.readouterr().err
    assert not (empty_dir / ".valiqor").exists()


def test_the_command_as_a_person_runs_it_creates_no_store(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    shown = subprocess.run([sys.executable, "-m", "valiqor_trace.cli", "traces", "show", TRACE_ID], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 1 and f"no trace store at {_store(tmp_path)}" in shown.stderr
    assert not (tmp_path / ".valiqor").exists()


def test_client_look_ups_create_no_store(empty_dir: Path) -> None:
    expected = str(_store(empty_dir))
    with valiqor_trace.ValiqorClient() as client:
        for look_up in (lambda: client.traces.get(TRACE_ID), lambda: client.traces.reconstruct(TRACE_ID, timeout_s=0),
                        lambda: client.failure_analysis.run(trace_id=TRACE_ID)):
            with pytest.raises(NotFoundError) as caught:
                look_up()
            assert not _store(empty_dir).exists()
            assert f"looked in: local store {expected} (no store there)" in str(caught.value)
        assert client.traces.list() == []
    assert not (empty_dir / ".valiqor").exists()


def test_writing_still_creates_the_store(empty_dir: Path, records) -> None:  # noqa: ANN001 - SpanRecord list
    export = empty_dir / "export.json"
    export.write_text(json.dumps([span.model_dump() for span in records]))
    with valiqor_trace.ValiqorClient() as client:
        with pytest.raises(NotFoundError):
            client.traces.get(records[0].trace_id)
        client.traces.import_file(export)  # the same client, its store now created: the look-up finds it
        assert len(client.traces.get(records[0].trace_id)) == len(records)
    assert SpanStore(_store(empty_dir), create=False).count_spans() == len(records)


def test_cli_import_creates_the_store(empty_dir: Path, records) -> None:  # noqa: ANN001 - SpanRecord list
    export = empty_dir / "export.json"
    export.write_text(json.dumps([span.model_dump() for span in records]))
    assert main(["traces", "import", str(export)]) == 0
    assert main(["traces", "show", records[0].trace_id]) == 0
    assert _store(empty_dir).exists()


def test_init_creates_the_store(empty_dir: Path) -> None:
    handle = valiqor_trace.init(instrument=False)
    with valiqor_trace.trace_workflow("w") as workflow:
        pass
    handle.shutdown()
    assert [span.name for span in SpanStore(_store(empty_dir), create=False).get_trace(workflow.trace_id)] == ["w"]


def test_opening_a_missing_store_for_reading_raises_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no trace store at .*nowhere"):
        SpanStore(tmp_path / "nowhere" / "traces.db", create=False)
    assert not (tmp_path / "nowhere").exists()
