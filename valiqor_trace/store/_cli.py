"""The ``--store`` option of every command that reads or writes the trace store (``valiqor traces ...``).

Shared by the core's commands and the analyzer's (through :mod:`valiqor_trace.internal`), so every
command finds the same store: ``--store``, else the one ``init()`` writes.
"""

from __future__ import annotations

import argparse
import os

from valiqor_trace._settings import resolve_settings
from valiqor_trace.store._span_store import SpanStore


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="trace store: a SQLite file or a postgresql:// URL (default: "
                        "$VALIQOR_DATABASE_URL, $VALIQOR_STORE_PATH or ./.valiqor/traces.db)")


def store_path(args: argparse.Namespace) -> str:
    """The store the command names (``--store``), else the one ``init()`` writes."""
    return args.store or resolve_settings({}).resolved_store_path


def open_store(args: argparse.Namespace, *, create: bool = False) -> SpanStore:
    """The store, for reading (a missing file is an error, and is not created) or, with ``create``, writing."""
    path = store_path(args)
    try:
        return SpanStore(path, create=create)
    except FileNotFoundError:
        raise FileNotFoundError(f"no trace store at {os.path.abspath(path)}; run your app with "
                                "valiqor_trace.init() first, import a file (valiqor traces import FILE), "
                                "or pass --store FILE") from None
