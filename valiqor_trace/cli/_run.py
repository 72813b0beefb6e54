"""``valiqor run [options] [--] command [args]``: run a program with tracing on, without changing its code."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

from valiqor_trace.run import add_options, apply_options


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    run = cli.command("run", "run a Python program with tracing on (valiqor_trace.init() applied first; "
                             "no code change): valiqor run python app.py")
    add_options(run)
    run.add_argument("command", nargs=argparse.REMAINDER,
                     help="the command: python app.py, or any Python entry point (uvicorn, pytest, ...)")
    run.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise ValueError("name the command to run, e.g. valiqor run python app.py")
    executable = shutil.which(command[0])
    if executable is None:
        raise ValueError(f"command not found: {command[0]}")
    # The bootstrap on PYTHONPATH starts init() in the program's interpreter (as opentelemetry-instrument does):
    # that works for `python app.py` and for console scripts alike, which an in-process runpy could not.
    apply_options(args)
    if os.name == "nt":  # no exec that keeps the console: wait for the child and pass its exit code on
        return subprocess.call([executable, *command[1:]])
    os.execv(executable, [executable, *command[1:]])
    return 0  # not reached: exec replaces this process
