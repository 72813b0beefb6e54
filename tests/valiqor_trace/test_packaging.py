"""The wheel installs exactly one top-level package, ``valiqor_trace`` (its three parts typed), and the console script.

tests/valiqor_trace/test_fresh_install.py installs that wheel into a fresh venv and uses it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT


@pytest.mark.slow
def test_wheel_installs_one_top_level_name_with_three_typed_parts(built_wheel: Path) -> None:
    names = zipfile.ZipFile(built_wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"valiqor_trace"}
    # PEP 561 markers: mypy/pyright read the annotations of everything a user imports
    parts = ("valiqor_trace", "valiqor_trace/instrumentors", "valiqor_trace/analyzer")
    assert {f"{part}/py.typed" for part in parts} <= set(names)
    # the judge's versioned prompts are package data: a wheel without them cannot judge
    prompts = sorted(p.name for p in (REPO_ROOT / "valiqor_trace" / "analyzer" / "judge" / "prompts").glob("*.md"))
    assert prompts and all(f"valiqor_trace/analyzer/judge/prompts/{name}" in names for name in prompts)
    # the web UI's templates and static files (vendored uPlot and its licence) are package data too
    ui = REPO_ROOT / "valiqor_trace" / "analyzer" / "server" / "ui"
    ui_files = [p.relative_to(REPO_ROOT).as_posix() for folder in ("templates", "static") for p in (ui / folder).iterdir()]
    assert "valiqor_trace/analyzer/server/ui/static/uPlot.LICENSE" in ui_files and set(ui_files) <= set(names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    declared = zipfile.ZipFile(built_wheel).read(entry_points).decode()
    assert "valiqor = valiqor_trace.cli:main" in declared
    # zero-code start (docs/zero-code.md): valiqor run's bootstrap, and what opentelemetry-instrument loads
    assert "valiqor_trace/_bootstrap/sitecustomize.py" in names
    assert "valiqor_openai = valiqor_trace.instrumentors.entry_points:OpenAIEntryPoint" in declared
    assert "valiqor = valiqor_trace.store:LocalStoreExporter" in declared
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)


def test_importing_valiqor_trace_does_not_import_the_analyzer() -> None:
    code = ("import sys, valiqor_trace; valiqor_trace.init(exporters='none', instrument=False); "
            "print(sorted(m for m in sys.modules if m.startswith('valiqor_trace.analyzer')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_broken_analyzer_import_is_raised_as_is_by_the_client_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import valiqor_trace

    # None in sys.modules makes the import fail, as a module missing from a broken install would
    monkeypatch.setitem(sys.modules, "valiqor_trace.analyzer.client", None)
    monkeypatch.delitem(vars(valiqor_trace), "ValiqorClient", raising=False)  # cached by an earlier access
    with pytest.raises(ModuleNotFoundError) as raised:
        valiqor_trace.ValiqorClient  # noqa: B018 - the lazy import is the behaviour under test
    assert raised.value.name == "valiqor_trace.analyzer.client"  # the real cause, not "install the analyzer"


def test_a_broken_analyzer_command_module_fails_the_cli_instead_of_dropping_its_commands(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from valiqor_trace.cli import build_cli

    monkeypatch.setitem(sys.modules, "valiqor_trace.analyzer.cli._fa", None)
    monkeypatch.delitem(sys.modules, "valiqor_trace.analyzer.cli", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"valiqor_trace\.analyzer\.cli\._fa"):
        build_cli()
