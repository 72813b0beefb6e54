"""``valiqor demo`` and ``valiqor traces show|list`` as a person runs them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT
from valiqor_trace.cli import main


def _valiqor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run([sys.executable, "-m", "valiqor_trace.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_demo_traces_into_the_local_store_and_show_prints_the_tree(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # a wide terminal: one line per trace
    demo = _valiqor("demo", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    trace_id = re.findall(r"^trace ([0-9a-f]{32})", demo.stdout, re.M)[2]  # the LangChain policy RAG

    store = str(tmp_path / ".valiqor" / "traces.db")
    assert main(["traces", "show", f"tr_{trace_id}", "--store", store]) == 0
    tree = capsys.readouterr().out.splitlines()
    assert tree[0].startswith(f"trace {trace_id}  (")
    assert tree[1].startswith("policy-RAG  [workflow]")
    assert tree[2].startswith("└── chain RunnableSequence  [chain]")
    assert any("retrieval PolicyRetriever  [retrieval]" in line for line in tree)
    assert any("chat gpt-4o-mini  [llm]" in line for line in tree)

    assert main(["traces", "list", "--store", store]) == 0
    listing = capsys.readouterr().out
    assert trace_id in listing and "valiqor-demo / policy-RAG" in listing


def test_unknown_trace_and_missing_store_are_one_clear_line(tmp_path: Path, capsys) -> None:
    missing = str(tmp_path / "nope.db")
    assert main(["traces", "show", "0af7651916cd43dd8448eb211c80319c", "--store", missing]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no trace store at") and "Traceback" not in err

    assert _valiqor("demo", cwd=tmp_path).returncode == 0
    store = str(tmp_path / ".valiqor" / "traces.db")
    assert main(["traces", "show", "0af7651916cd43dd8448eb211c80319c", "--store", store]) == 1
    assert "is not in" in capsys.readouterr().err
