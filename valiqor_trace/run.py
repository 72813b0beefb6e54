"""Run a Python program traced, without changing its code: ``python -m valiqor_trace.run [options] app.py [args]``.

The same as ``valiqor run python app.py``, in-process: ``init()`` first (the options become ``VALIQOR_*``
environment variables, which ``init()`` reads), then the program as ``__main__`` (``runpy``), then the spans
are flushed at exit. ``-m module`` runs a module, as ``python -m`` does. Python processes the program starts
are traced too (``PYTHONPATH`` carries the bootstrap ``valiqor run`` uses). docs/zero-code.md.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

BOOTSTRAP_DIR = str(Path(__file__).resolve().parent / "_bootstrap")  # holds only sitecustomize.py
_OPTION_ENV = {"project": "VALIQOR_PROJECT_NAME", "home": "VALIQOR_HOME", "store_path": "VALIQOR_STORE_PATH"}


def add_options(parser: argparse.ArgumentParser) -> None:
    """The settings a traced run takes on its command line; the rest come from ``VALIQOR_*`` / ``OTEL_*``."""
    parser.add_argument("--project", help="project name stamped on the spans (VALIQOR_PROJECT_NAME)")
    parser.add_argument("--home", help="data directory of the trace store (VALIQOR_HOME; default ./.valiqor)")
    parser.add_argument("--store-path", help="trace store file (VALIQOR_STORE_PATH; default $VALIQOR_HOME/traces.db)")
    parser.add_argument("--monitor", action="store_true",
                        help="analyze sampled traces in the background (VALIQOR_MONITOR; docs/monitoring.md)")


def apply_options(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Put the options into the environment (this process's ``init()`` and every child read them), and the
    bootstrap first on ``PYTHONPATH``."""
    for option, variable in _OPTION_ENV.items():
        value = getattr(args, option)
        if value:
            environ[variable] = os.path.abspath(value) if option != "project" else value
    if args.monitor:
        environ["VALIQOR_MONITOR"] = "true"
    paths = [path for path in environ.get("PYTHONPATH", "").split(os.pathsep) if path and path != BOOTSTRAP_DIR]
    environ["PYTHONPATH"] = os.pathsep.join([BOOTSTRAP_DIR, *paths])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m valiqor_trace.run",
                                     description="Run a Python program with valiqor_trace.init() applied first.")
    add_options(parser)
    parser.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE ...",
                        help="run a module as a script, as python -m does (the rest are its arguments)")
    parser.add_argument("program", nargs=argparse.REMAINDER, help="the script and its arguments")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    program = list(args.module or args.program)
    if program[:1] == ["--"]:
        program = program[1:]
    if not program:
        parser.error("name a script (app.py) or a module (-m module)")
    apply_options(args)
    import valiqor_trace

    valiqor_trace.init()  # flushes at exit (atexit), also when the program calls sys.exit()
    sys.argv = list(program)
    if args.module:
        runpy.run_module(program[0], run_name="__main__", alter_sys=True)
        return
    sys.path[0] = os.path.dirname(os.path.abspath(program[0]))  # what `python app.py` puts first
    runpy.run_path(program[0], run_name="__main__")


if __name__ == "__main__":
    main()
