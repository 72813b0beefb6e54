"""examples/remote_server.py runs as documented: server, exporting app, remote analysis."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, run_python


@pytest.mark.slow
def test_remote_server_example_finds_the_contradiction(tmp_path: Path) -> None:
    output = run_python(f"import runpy; runpy.run_path({str(REPO_ROOT / 'examples' / 'remote_server.py')!r}, "
                        "run_name='__main__')", cwd=tmp_path, timeout=120)
    assert "trace: " in output and "runs on the server: 1" in output
    assert "Hallucination" in output and "Traceback" not in output
