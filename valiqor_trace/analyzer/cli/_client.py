"""The one ``ValiqorClient`` every command uses: remote with ``--base-url`` or ``VALIQOR_BASE_URL``, else local.

Keys never come from flags (other users see a command line in ``ps``): the server's from
``VALIQOR_API_KEY``, the judge's from ``VALIQOR_OPENAI_API_KEY`` / ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from valiqor_trace.analyzer.client import ValiqorClient


def add_server_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", metavar="URL",
                        help="a `valiqor serve` server to use (default: $VALIQOR_BASE_URL; unset: the local "
                             "stores); its key comes from $VALIQOR_API_KEY")


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", metavar="DIR",
                        help="directory of the local stores, traces.db and runs.db (default: $VALIQOR_HOME "
                             "or ./.valiqor)")


def cli_client(args: argparse.Namespace, **settings: Any) -> ValiqorClient:
    """The client the command's flags (``--base-url``, ``--data-dir``, ``--store``) and ``settings`` describe;
    what they leave unset comes from the environment and ``.valiqorrc``, as for ``ValiqorClient()``."""
    from valiqor_trace.analyzer.client import ValiqorClient

    values = {"base_url": getattr(args, "base_url", None), "home": getattr(args, "data_dir", None),
              "store_path": getattr(args, "store", None), **settings}
    return ValiqorClient(**{name: value for name, value in values.items() if value is not None})

