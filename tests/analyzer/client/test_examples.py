"""examples/ci_gate.py and examples/analyze_trace.py run as their docstrings say."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("VALIQOR_")}, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_ci_gate_passes_a_good_dataset_and_blocks_a_bad_one(tmp_path: Path) -> None:
    script = REPO_ROOT / "examples" / "ci_gate.py"
    assert _run(str(script), cwd=tmp_path).returncode == 0
    bad = tmp_path / "bad_gate.py"
    bad.write_text(script.read_text().replace("within 14 days to your original", "within 90 days to your original"))
    blocked = _run(str(bad), cwd=tmp_path)
    assert blocked.returncode == 1 and "gate CI YES" in blocked.stdout
    assert "Numeric or date mismatch" in blocked.stdout  # 90 days is in no source


def test_analyze_trace_reports_the_invented_number(tmp_path: Path) -> None:
    out = _run(str(REPO_ROOT / "examples" / "analyze_trace.py"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "context: ['Standard shipping takes 3 to 5 business days.']" in out.stdout
    assert "Numeric or date mismatch" in out.stdout and "$25" in out.stdout
