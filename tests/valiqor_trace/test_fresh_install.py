"""The built wheel in a fresh venv, used from a user's project that has its own ``analyzer`` and
``instrumentors`` packages: client, CLI and monitor (both executors) work, and neither generic name is ours.

One venv per session: the wheel and its dependencies from the package index (pip's cache makes reruns
quick). Everything runs in subprocesses with the venv's interpreter and without this repository on the
path, so what is tested is the installed wheel, not the source tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TOOL_FAILED = {"input": "What is the weather in Paris?", "output": "It is sunny in Paris.",
               "tool_calls": [{"id": "call_1", "type": "function",
                               "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                              {"role": "tool", "tool_call_id": "call_1",
                               "content": "Error: weather service unavailable (HTTP 503)"}]}

# The user's app: `python app.py` puts the project directory first on sys.path, so its own `analyzer` and
# `instrumentors` are the ones a bare `import analyzer` finds; ours must not depend on those names.
DATASET_APP = """
import json, sys
import analyzer, instrumentors
import valiqor_trace
from valiqor_trace import ValiqorClient
from valiqor_trace.testing import JudgeServer

with JudgeServer(model="judge-model", api_key="sk-test") as judge:  # the judge's prompts come from the wheel
    client = ValiqorClient(project_name="shop", judge_base_url=judge.base_url, judge_model="judge-model",
                           openai_api_key="sk-test")
    result = client.failure_analysis.run(dataset=[json.loads(sys.argv[1])])
    client.close()
print(json.dumps({"user_packages": [analyzer.OWNER, instrumentors.OWNER], "valiqor_trace": valiqor_trace.__file__,
                  "primary": result.summary.primary_failure_name, "judge_requests": len(judge.requests),
                  "judge_problems": [problem for request in judge.requests for problem in request.problems]}))
"""

MONITOR_APP = """
import json, sys
import analyzer
import valiqor_trace
from valiqor_trace import MonitorConfig, ValiqorClient

@valiqor_trace.tool("get_weather")
def get_weather(city):
    raise ConnectionError("weather service unavailable (HTTP 503)")

handle = valiqor_trace.init(project_name="shop", exporters="none", instrument=False, monitor=MonitorConfig(
    sample_rate=1.0, max_per_minute=None, grace_period_s=0.0, executor=sys.argv[1]))
with valiqor_trace.trace_workflow("answer_question") as root:
    root.set_input("What is the weather in Paris?")
    try:
        get_weather("Paris")
    except ConnectionError:
        pass  # the app recovers and still answers
    root.set_output("It is sunny in Paris.")
flushed = handle.monitor.force_flush(60_000)
stats = handle.monitor.stats
handle.shutdown()
client = ValiqorClient(project_name="shop")
runs = client.failure_analysis.list_runs()
client.close()
print(json.dumps({"user_package": analyzer.OWNER, "flushed": flushed, "analyzed": stats.analyzed,
                  "failed": stats.failed, "runs": [[run.trace_id == root.trace_id, run.primary_failure] for run in runs]}))
"""


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if sys.platform == "win32" else "bin") / name


def _env(**extra: str) -> dict[str, str]:
    """This process's environment (VALIQOR_HOME of the test included) without anything that would put the
    repository, this venv or the user site on the child's path."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


def _run(argv: list[str | Path], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in argv], cwd=cwd, env=_env(**env), capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="session")
def fresh_venv(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv (no system site-packages) with only the wheel and its declared dependencies."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    created = _run([sys.executable, "-m", "venv", venv], cwd=venv.parent)
    assert created.returncode == 0, created.stderr
    installed = _run([_bin(venv, "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                      built_wheel], cwd=venv.parent)
    assert installed.returncode == 0, installed.stderr
    return venv


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A project with its own ``analyzer`` and ``instrumentors`` packages, as many apps have."""
    project = tmp_path / "project"
    for package in ("analyzer", "instrumentors"):
        (project / package).mkdir(parents=True)
        (project / package / "__init__.py").write_text('OWNER = "the user project"\n', encoding="utf-8")
    (project / "dataset_app.py").write_text(DATASET_APP, encoding="utf-8")
    (project / "monitor_app.py").write_text(MONITOR_APP, encoding="utf-8")
    (project / "items.jsonl").write_text(json.dumps(TOOL_FAILED) + "\n", encoding="utf-8")
    return project


def test_the_client_runs_a_dataset_fa_with_the_judge_next_to_the_users_own_packages(
        fresh_venv: Path, user_project: Path) -> None:
    ran = _run([_bin(fresh_venv, "python"), "dataset_app.py", json.dumps(TOOL_FAILED)], cwd=user_project)
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["user_packages"] == ["the user project"] * 2  # the app's own packages are the ones it imports
    assert Path(out["valiqor_trace"]).is_relative_to(fresh_venv)  # ours is the installed wheel
    # the weather lookup failed and the answer still says "sunny": the answer ignored the failed tool
    assert out["primary"] == "Failed tool ignored"
    assert out["judge_requests"] >= 1 and out["judge_problems"] == []  # the rubric and schema were complete


def test_the_cli_lists_and_runs_its_fa_commands_with_the_users_project_on_the_path(
        fresh_venv: Path, user_project: Path) -> None:
    # PYTHONPATH: the user's project importable from every process, as an editable install of it would make it
    valiqor = _bin(fresh_venv, "valiqor")
    listed = _run([valiqor, "--help"], cwd=user_project, PYTHONPATH=str(user_project))
    assert listed.returncode == 0, listed.stderr
    assert any(line.split()[:1] == ["fa"] for line in listed.stdout.splitlines())
    ran = _run([valiqor, "fa", "run", "--dataset", "items.jsonl"], cwd=user_project, PYTHONPATH=str(user_project))
    assert ran.returncode == 3, ran.stderr  # analyzed, and the CI gate blocks on the failed tool
    assert "primary Failed tool ignored" in ran.stdout


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_the_monitor_analyzes_a_trace_next_to_the_users_own_packages(
        fresh_venv: Path, user_project: Path, executor: str) -> None:
    ran = _run([_bin(fresh_venv, "python"), "monitor_app.py", executor], cwd=user_project)
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["user_package"] == "the user project"
    assert (out["flushed"], out["analyzed"], out["failed"]) == (True, 1, 0)
    assert out["runs"] == [[True, "tool_failure_ignored"]]  # the lookup failed, the answer says "sunny"


def test_the_generic_names_are_not_installed(fresh_venv: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"  # no user project here: only the venv can answer
    elsewhere.mkdir()
    for name in ("analyzer", "instrumentors"):
        ran = _run([_bin(fresh_venv, "python"), "-c", f"import {name}"], cwd=elsewhere)
        assert ran.returncode == 1
        assert f"ModuleNotFoundError: No module named '{name}'" in ran.stderr
    assert _run([_bin(fresh_venv, "python"), "-c", "import valiqor_trace"], cwd=elsewhere).returncode == 0
