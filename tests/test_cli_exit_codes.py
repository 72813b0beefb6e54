"""`valiqor` exits with the codes docs/cli.md promises, and that table names every command."""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import REPO_ROOT
from valiqor_trace.cli import build_cli, main

TABLE = (REPO_ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
ROWS = re.findall(r"^\| (any command|`valiqor[a-z ]*`) \| ([^|]+) \|", TABLE, re.M)
CLEAN = {"input": "What is the boiling point of water?", "output": "Water boils at 100 °C at sea level.",
         "context": ["At sea level, water boils at 100 °C."]}
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
TOOL_FAILED = {"input": "What is the weather in Paris?", "output": "It is sunny in Paris.",
               "tool_calls": [TOOL_CALL, {"role": "tool", "tool_call_id": "call_1",
                                          "content": "Error: weather service unavailable (HTTP 503)"}]}


def _documented(command: str) -> set[int]:
    """The exit codes the table gives ``command`` (its own rows and the 'any command' rows)."""
    name = f"`valiqor {command}`" if command else "`valiqor`"
    codes: set[int] = set()
    for who, cell in ROWS:
        if who in ("any command", name):
            codes.update(int(code) for code in re.findall(r"\d+", cell.split("(")[0]))
    return codes


def _exit(argv: list[str]) -> int:
    """The exit code of ``valiqor ARGV`` run in this process (argparse's usage errors included)."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    command = " ".join(arg for arg in argv[:2] if not arg.startswith("-"))
    assert code in _documented(command), (argv, code)
    return code


def _leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[str]:
    commands = []
    for action in parser._actions:  # argparse offers no public walk of its sub-commands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands.extend(_leaf_commands(sub, (*prefix, name)) or [" ".join((*prefix, name))])
    return commands


def test_the_table_names_every_command() -> None:
    documented = {who.strip("`") for who, _ in ROWS} - {"any command"}
    assert {f"valiqor {command}" for command in _leaf_commands(build_cli().parser)} | {"valiqor"} == documented


def test_no_command_prints_the_help_and_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit([]) == 2 and "usage: valiqor" in capsys.readouterr().out
    for argv in (["fa", "run"], ["nope"], ["fa"], ["fa", "run", "--dataset", "d.json", "--trace-id", "x"]):
        assert _exit(argv) == 2, argv


def _write(path: Path, items: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(item) for item in items) + "\n", encoding="utf-8")
    return path


def test_fa_run_exits_3_only_when_the_ci_gate_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean, failing = _write(tmp_path / "clean.jsonl", [CLEAN]), _write(tmp_path / "failing.jsonl", [TOOL_FAILED])
    assert _exit(["fa", "run", "--dataset", str(clean)]) == 0
    assert _exit(["fa", "run", "--dataset", str(failing)]) == 3  # an OpenAI-layout tool error blocks the gate
    assert "Tool error" in capsys.readouterr().out
    assert _exit(["fa", "run", "--dataset", str(failing), "--no-gate"]) == 0
    csv_file = tmp_path / "failing.csv"
    with csv_file.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("input", "output", "tool_calls"), (
            TOOL_FAILED["input"], TOOL_FAILED["output"], json.dumps(TOOL_FAILED["tool_calls"]))])
    assert _exit(["fa", "run", "--dataset", str(csv_file)]) == 3


def test_fa_run_errors_exit_1_with_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_call = {**TOOL_CALL, "function": {"name": "get_weather", "arguments": 5}}
    bad = _write(tmp_path / "bad.jsonl", [CLEAN, {**TOOL_FAILED, "tool_calls": [bad_call]}])
    assert _exit(["fa", "run", "--dataset", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: dataset has 1 problem(s) in 2 item(s); nothing was run")
    assert "  items[1].tool_calls[0].function.arguments: must be an object or JSON text, got int" in err
    assert _exit(["fa", "run", "--dataset", str(tmp_path / "missing.json")]) == 1
    assert _exit(["fa", "run", "--trace-id", "0af7651916cd43dd8448eb211c80319c"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_fa_read_commands_exit_0_or_1_for_an_unknown_run(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit(["fa", "run", "--dataset", str(_write(tmp_path / "d.jsonl", [CLEAN])), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    for argv in (["fa", "status", "--run-id", run_id], ["fa", "result", "--run-id", run_id], ["fa", "list"],
                 ["fa", "taxonomy"]):
        assert _exit(argv) == 0, argv
    assert run_id in capsys.readouterr().out
    for argv in (["fa", "status", "--run-id", "run_nope"], ["fa", "result", "--run-id", "run_nope"]):
        assert _exit(argv) == 1, argv
    assert capsys.readouterr().err.count("error: ") == 2


def test_traces_commands_exit_1_when_there_is_nothing_to_read(tmp_path: Path) -> None:
    missing, store = str(tmp_path / "missing.db"), str(tmp_path / "traces.db")
    assert _exit(["traces", "list", "--store", missing]) == 1
    assert _exit(["traces", "show", "0af7651916cd43dd8448eb211c80319c", "--store", missing]) == 1
    assert _exit(["traces", "reconstruct", "0af7651916cd43dd8448eb211c80319c", "--store", store,
                  "--timeout", "0"]) == 1
    assert _exit(["traces", "import", str(tmp_path / "none.jsonl"), "--store", store]) == 1
    assert _exit(["traces", "list", "--store", store]) == 0


def _serve(*args: str, data_dir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VALIQOR_", "OTEL_"))}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.Popen([sys.executable, "-m", "valiqor_trace.cli", "serve", "--data-dir", str(data_dir), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_serve_on_a_taken_port_exits_1_with_one_line_and_no_banner(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = _serve("--port", str(port), data_dir=tmp_path / "data")
        out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and process.returncode in _documented("serve")
    assert err.splitlines() == [
        f"valiqor serve: cannot listen on 127.0.0.1:{port}: address already in use (pick another --port)"]
    assert out == ""
    assert not (tmp_path / "data").exists()  # nothing started, nothing written


@pytest.mark.slow
@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 0), (signal.SIGTERM, -signal.SIGTERM)])
def test_serve_stopped_by_a_signal_exits_as_documented(tmp_path: Path, stop: signal.Signals, code: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = _serve("--port", str(port), data_dir=tmp_path / "data")
    deadline = time.monotonic() + 30
    while True:  # wait until it answers (the deadline only bounds a broken start)
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"valiqor serve did not start: {process.communicate()}")
        time.sleep(0.1)
    process.send_signal(stop)
    _, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert (128 - code if code < 0 else code) in _documented("serve") and "Traceback" not in err
