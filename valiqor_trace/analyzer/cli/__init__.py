"""The analyzer's ``valiqor`` commands; each sub-module exposes ``register(cli)``.

``format_result`` (an FA run as a terminal report) is here for the core CLI's ``valiqor demo``.
"""

from __future__ import annotations

import importlib
import logging

from valiqor_trace.analyzer.cli._report import format_result

__all__ = ["format_result", "register"]

_SUBMODULES = ("valiqor_trace.analyzer.cli._traces", "valiqor_trace.analyzer.cli._fa", "valiqor_trace.analyzer.cli._serve")


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    for name in _SUBMODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside an existing module must be seen
                raise
            logging.getLogger("valiqor_trace").debug("CLI module %s not present", name)
            continue
        module.register(cli)
