"""The ``valiqor`` command line.

Commands live in small modules that each expose ``register(cli)``; the
analyzer's commands (``fa``, ``serve``, ``traces import``) register the same
way. They ship in this package: a module that fails to import is a bug, and
``valiqor`` fails loudly rather than run without those commands.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "valiqor_trace.cli._traces",
    "valiqor_trace.cli._demo",
    "valiqor_trace.cli._run",
    "valiqor_trace.analyzer.cli",
)


class Cli:
    """Argument parser plus named command groups that several modules can add to."""

    def __init__(self) -> None:
        self.parser = argparse.ArgumentParser(
            prog="valiqor", description="Tracing and failure analysis for LLM applications.")
        self.parser.add_argument("-v", "--verbose", action="store_true", help="log what valiqor-trace does")
        self._commands = self.parser.add_subparsers(dest="command", metavar="COMMAND")
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def command(self, name: str, help: str) -> argparse.ArgumentParser:  # noqa: A002 - argparse's word
        return self._commands.add_parser(name, help=help, description=help)

    def group(self, name: str, help: str) -> argparse._SubParsersAction:  # noqa: A002
        """The sub-command set of ``valiqor NAME ...``, created on first use."""
        if name not in self._groups:
            parser = self.command(name, help)
            self._groups[name] = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)
        return self._groups[name]


def build_cli() -> Cli:
    cli = Cli()
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(cli)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    cli = build_cli()
    args = cli.parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    handler = getattr(args, "func", None)
    if handler is None:
        cli.parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the CLI speaks to a person: one clear line, not a traceback
        from valiqor_trace.cli._output import error_line

        error_line(exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
