"""The API the layers share: what ``valiqor_trace.instrumentors``, ``valiqor_trace.analyzer`` and the CLI use
from the tracing core.

Not for users, and no stability promise: names here change whenever the layers need them to.
Users import from ``valiqor_trace`` (and its documented subpackages).

The layers import one way, core <- instrumentors <- analyzer <- composition root (``valiqor_trace``,
``init()``, ``valiqor_trace.cli``), and no layer imports another layer's private (``_``) module:
what crosses a layer line comes from here or from a public module (``tests/test_layers.py`` checks both).

- error guard: :func:`handle_internal_errors` (context manager and decorator), :func:`report_internal_error`
  (from an ``except`` block), :func:`should_raise`, :func:`raise_internal_errors`, :func:`log_once`;
- content policy: :class:`ContentPolicy`, :func:`get_content_policy`, :func:`to_json`;
- cost (read time, docs/cost.md): :class:`CallUsage`, :class:`Pricing`, :func:`default_pricing`,
  :func:`set_default_pricing`;
- suppression: :func:`suppress_instrumentation`, :func:`is_instrumentation_suppressed`;
- ids: :func:`normalize_trace_id`;
- retrieval spans (one convention for every retriever instrumentor): ``RETRIEVAL``, :func:`retrieval_span_name`,
  :func:`retrieval_attributes`, :func:`record_query`, :func:`record_documents`, :func:`documents_of`;
- settings: ``CLIENT_SETTINGS``, ``DEFAULT_MAX_FIELD_CHARS``, :func:`resolve_table`, :func:`store_target`,
  :func:`parse_dir_path`, :func:`parse_days` (a retention), :func:`parse_age_ns` (``30d``, ``12h``, ``90m``);
  URLs in messages and reprs: :func:`without_password`, :func:`repr_without_passwords`; to HTTP clients:
  :func:`split_credentials`;
- monitoring: ``VERDICT_RUN_ID`` (the attribute the sampler recognizes verdict spans by);
- ``VERSION``: the distribution's version (instrumentation scopes, the server's health and OpenAPI);
- loaded on first use (they import SQLite and the span store, which ``import valiqor_trace`` does not):
  the stores' database (SQLite or PostgreSQL) :class:`Database`, :func:`open_database`, :func:`apply_migrations`,
  :func:`is_database_url`, :func:`describe_store`; retention (deleting old rows in batches, giving space
  back, on a thread of its own): :class:`Pruned`, :func:`delete_older`, :func:`chunks_by_rows`, :func:`pause_for_writers`,
  :func:`reclaim_space`, :func:`vacuum_database`, :func:`cutoff_of_days`, :class:`RetentionSchedule`,
  ``DEFAULT_BATCH``; the CLI's ``--store``
  option :func:`add_store_argument`, :func:`store_path`, :func:`open_store`; terminal output (``rich``) for
  every command: :func:`printable`, :func:`plain`, :func:`print_renderable`, :func:`stdout_console`,
  :func:`render`, :class:`TableColumn`, :func:`table`, :func:`longest_word`, :func:`write_csv`, :class:`ProgressBar`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from valiqor_trace._content import ContentPolicy, get_content_policy, to_json
from valiqor_trace._cost import CallUsage, Pricing, default_pricing, set_default_pricing
from valiqor_trace._guard import (
    handle_internal_errors,
    log_once,
    raise_internal_errors,
    report_internal_error,
    should_raise,
)
from valiqor_trace._ids import normalize_trace_id
from valiqor_trace._parsers import (
    parse_age_ns,
    parse_days,
    parse_dir_path,
    repr_without_passwords,
    split_credentials,
    without_password,
)
from valiqor_trace._retriever import (
    RETRIEVAL,
    documents_of,
    record_documents,
    record_query,
    retrieval_attributes,
    retrieval_span_name,
)
from valiqor_trace._settings import CLIENT_SETTINGS, DEFAULT_MAX_FIELD_CHARS, resolve_table, store_target
from valiqor_trace._suppress import is_instrumentation_suppressed, suppress_instrumentation
from valiqor_trace._version import __version__ as VERSION
from valiqor_trace.monitor._sampling import VERDICT_RUN_ID

if TYPE_CHECKING:
    from valiqor_trace.store._cli import add_store_argument, open_store, store_path
    from valiqor_trace._terminal import (
        ProgressBar,
        TableColumn,
        longest_word,
        plain,
        print_renderable,
        printable,
        render,
        stdout_console,
        table,
        write_csv,
    )
    from valiqor_trace.store._database import Database, apply_migrations, is_database_url, open_database
    from valiqor_trace.store._retention import (
        DEFAULT_BATCH,
        Pruned,
        RetentionSchedule,
        chunks_by_rows,
        cutoff_of_days,
        delete_older,
        pause_for_writers,
        reclaim_space,
        vacuum_database,
    )
    from valiqor_trace.store._database import describe as describe_store

__all__ = [
    "DEFAULT_BATCH",
    "Pruned",
    "RetentionSchedule",
    "chunks_by_rows",
    "cutoff_of_days",
    "delete_older",
    "pause_for_writers",
    "reclaim_space",
    "vacuum_database",
    "CLIENT_SETTINGS",
    "CallUsage",
    "Pricing",
    "DEFAULT_MAX_FIELD_CHARS",
    "RETRIEVAL",
    "VERDICT_RUN_ID",
    "VERSION",
    "ContentPolicy",
    "ProgressBar",
    "TableColumn",
    "add_store_argument",
    "Database",
    "apply_migrations",
    "describe_store",
    "default_pricing",
    "documents_of",
    "get_content_policy",
    "handle_internal_errors",
    "is_instrumentation_suppressed",
    "log_once",
    "longest_word",
    "normalize_trace_id",
    "open_store",
    "parse_age_ns",
    "parse_days",
    "parse_dir_path",
    "plain",
    "print_renderable",
    "printable",
    "raise_internal_errors",
    "record_documents",
    "record_query",
    "render",
    "report_internal_error",
    "repr_without_passwords",
    "resolve_table",
    "store_target",
    "retrieval_attributes",
    "retrieval_span_name",
    "set_default_pricing",
    "should_raise",
    "split_credentials",
    "stdout_console",
    "store_path",
    "suppress_instrumentation",
    "is_database_url",
    "open_database",
    "table",
    "to_json",
    "without_password",
    "write_csv",
]

_ON_FIRST_USE = {
    **{name: "valiqor_trace.store._database" for name in (
        "Database", "apply_migrations", "is_database_url", "open_database")},
    **{name: "valiqor_trace.store._retention" for name in (
        "DEFAULT_BATCH", "Pruned", "RetentionSchedule", "chunks_by_rows", "cutoff_of_days", "delete_older",
        "pause_for_writers", "reclaim_space", "vacuum_database")},
    "add_store_argument": "valiqor_trace.store._cli",
    "store_path": "valiqor_trace.store._cli", "open_store": "valiqor_trace.store._cli",
    **{name: "valiqor_trace._terminal" for name in (
        "ProgressBar", "TableColumn", "longest_word", "plain", "print_renderable", "printable", "render",
        "stdout_console", "table", "write_csv")},
}


def __getattr__(name: str) -> Any:
    if name == "describe_store":
        return importlib.import_module("valiqor_trace.store._database").describe
    if name in _ON_FIRST_USE:
        return getattr(importlib.import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module 'valiqor_trace.internal' has no attribute {name!r}")
