"""``valiqor traces prune``: on demand, on both engines, with a dry run, and a clear error for a bad age."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.cli import main
from valiqor_trace.store import SpanRecord, SpanStore

NOW_S = time.time()
DATASET = [{"input": "What is the capital of France?", "output": "The capital of France is Berlin.",
            "context": ["Paris is the capital and largest city of France."]}]


def _seed(home: Path, database_url: str | None, *, at_s: float, trace: int, spans: int = 3, text: str = "") -> str:
    """A trace (``spans`` spans) and an FA run created at ``at_s``; returns the run's id."""
    at_ns = int(at_s * 1e9)
    store = SpanStore(database_url or home / "traces.db", clock=lambda: at_ns)
    store.write_spans([SpanRecord(trace_id=f"{trace:032x}", span_id=f"{n:016x}", name="chat gpt-4o", kind="CLIENT",
                                  start_time_unix_nano=at_ns, end_time_unix_nano=at_ns + 1, status_code="OK",
                                  attributes={"gen_ai.completion": text} if text else {})
                       for n in range(1, spans + 1)])
    store.close()
    with ValiqorClient(home=str(home), database_url=database_url, clock=lambda: at_s) as client:
        return client.failure_analysis.run(dataset=DATASET).run_id


def _flags(home: Path, database_url: str | None) -> list[str]:
    return ["--data-dir", str(home)] + (["--database-url", database_url] if database_url else [])


def test_prune_deletes_what_is_older_than_the_age_after_a_dry_run_says_what_would_go(
        tmp_path: Path, database_url: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    old_run = _seed(home, database_url, at_s=NOW_S - 3 * 86_400, trace=1)
    new_run = _seed(home, database_url, at_s=NOW_S - 3600, trace=2)

    assert main(["traces", "prune", "--older-than", "2d", "--dry-run", *_flags(home, database_url)]) == 0
    out = capsys.readouterr().out
    assert "trace store" in out and "would delete 1 traces, 3 spans, 0 logs" in out
    assert "would delete 1 runs, 1 run_inputs" in out

    assert main(["traces", "prune", "--older-than", "2d", "--traces-only", *_flags(home, database_url)]) == 0
    assert "deleted 1 traces, 3 spans" in capsys.readouterr().out
    with ValiqorClient(home=str(home), database_url=database_url) as client:
        assert {r.run_id for r in client.failure_analysis.list_runs()} == {old_run, new_run}  # runs untouched

    assert main(["traces", "prune", "--older-than", "90m", "--json", *_flags(home, database_url)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [store["rows"]["traces" if store["store"] == "trace store" else "runs"] for store in report["stores"]] \
        == [0, 1]  # the new trace (an hour old) stays; the old run goes
    with ValiqorClient(home=str(home), database_url=database_url) as client:
        assert [r.run_id for r in client.failure_analysis.list_runs()] == [new_run]
        assert [t.trace_id for t in client.traces.list()] == [f"{2:032x}"]


@pytest.mark.parametrize("age", ["30", "30x", "-1d", "0d", "d", "thirty days"])
def test_a_bad_age_is_refused_naming_the_flag_and_the_form(age: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["traces", "prune", f"--older-than={age}"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "argument --older-than" in error and repr(age) in error
    assert "d (days), h (hours) or m (minutes), e.g. 30d" in error


def test_vacuum_gives_the_space_of_a_store_made_before_auto_vacuum_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    sqlite3.connect(home / "traces.db").execute("CREATE TABLE made_by_an_older_release (x)").connection.close()
    for trace in range(1, 6):
        _seed(home, None, at_s=NOW_S - 40 * 86_400, trace=trace, spans=200, text="z" * 2000)
    before = os.path.getsize(home / "traces.db")
    assert main(["traces", "prune", "--older-than", "30d", "--vacuum", "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    assert "deleted 5 traces, 1000 spans" in out and "vacuumed" in out
    assert os.path.getsize(home / "traces.db") < before / 10


def test_the_store_the_flag_names_is_pruned_not_the_database_of_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.postgres import fresh_schema

    with fresh_schema() as url:
        home, other = tmp_path / "home", tmp_path / "other"
        _seed(home, url, at_s=NOW_S - 3 * 86_400, trace=1)  # old data in the environment's database
        _seed(other, None, at_s=NOW_S - 3 * 86_400, trace=2)  # and in the file the flag names
        monkeypatch.setenv("VALIQOR_DATABASE_URL", url)

        assert main(["traces", "prune", "--older-than", "2d", "--traces-only", "--store",
                     str(other / "traces.db")]) == 0
        assert f"trace store {other / 'traces.db'}: deleted 1 traces" in capsys.readouterr().out
        with ValiqorClient(home=str(home), database_url=url) as client:
            assert [t.trace_id for t in client.traces.list()] == [f"{1:032x}"]  # the database is untouched

        # a --store that is a database is where both stores are: its runs go too, not a local runs.db's
        monkeypatch.delenv("VALIQOR_DATABASE_URL")
        monkeypatch.chdir(tmp_path)
        assert main(["traces", "prune", "--older-than", "2d", "--store", url]) == 0
        out = capsys.readouterr().out
        assert "deleted 1 traces" in out and "run store postgresql://" in out and "deleted 1 runs" in out
