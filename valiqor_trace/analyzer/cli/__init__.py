"""The analyzer's ``valiqor`` commands; each sub-module exposes ``register(cli)``.

``format_result`` (an FA run as a terminal report; ``result_report`` the same as a rich renderable, coloured on
a terminal) is here for the core CLI's ``valiqor demo``; ``cli_client`` and its flags (``--base-url``,
``--data-dir``) for its ``valiqor traces show|list``, so every command uses one client: a server's when one is named.
"""

from __future__ import annotations

from valiqor_trace.analyzer.cli import _fa, _serve, _traces
from valiqor_trace.analyzer.cli._client import add_data_dir_argument, add_server_argument, cli_client
from valiqor_trace.analyzer.cli._report import format_result, result_report

__all__ = ["add_data_dir_argument", "add_server_argument", "cli_client", "format_result", "register", "result_report"]


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    # Imported, not looked up by name: every command module ships in this package, so a missing one is
    # an import error at once, never a command that silently disappears. (`serve`'s optional extra,
    # starlette/uvicorn, is imported only when the command runs, with the install hint.)
    for module in (_traces, _fa, _serve):
        module.register(cli)
