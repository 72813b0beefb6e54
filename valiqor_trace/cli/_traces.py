"""``valiqor traces show|list``: read the embedded trace store."""

from __future__ import annotations

import argparse
import datetime as dt
import json

from valiqor_trace.cli._output import span_tree
from valiqor_trace.internal import (
    TableColumn,
    add_store_argument,
    normalize_trace_id,
    open_store,
    plain,
    print_renderable,
    table,
)
from valiqor_trace.store import TraceSummary


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    traces = cli.group("traces", "read traces from the embedded store")
    show = traces.add_parser("show", help="print one trace as a span tree")
    show.add_argument("trace_id", help="32-hex W3C trace id (a tr_ prefix is accepted)")
    add_store_argument(show)
    show.add_argument("--json", action="store_true", help="print the spans as JSON")
    show.set_defaults(func=show_trace)

    listing = traces.add_parser("list", help="list stored traces, newest first")
    add_store_argument(listing)
    listing.add_argument("--project-name")
    listing.add_argument("--errors", action="store_true", help="only traces with an error span")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_traces)


def show_trace(args: argparse.Namespace) -> int:
    store = open_store(args)
    trace_id = normalize_trace_id(args.trace_id)
    spans = store.get_trace(trace_id)
    if not spans:
        raise LookupError(f"trace {trace_id} is not in {store.path}")
    if args.json:
        print(json.dumps([span.model_dump() for span in spans], indent=2))
        return 0
    print(f"trace {trace_id}  ({len(spans)} spans, store {store.path})")
    print_renderable(span_tree(spans))
    return 0


def list_traces(args: argparse.Namespace) -> int:
    store = open_store(args)
    rows = store.list_traces(project_name=args.project_name, has_error=True if args.errors else None,
                             limit=args.limit)
    if args.json:
        print(json.dumps([row.model_dump() for row in rows], indent=2))
        return 0
    if not rows:
        print(f"no traces in {store.path}")
        return 0
    print_renderable(table(TRACE_COLUMNS, rows))
    return 0


def _started(row: TraceSummary) -> str:
    return f"{dt.datetime.fromtimestamp(row.start_time_unix_nano / 1e9, dt.timezone.utc):%Y-%m-%d %H:%M:%S}"


TRACE_COLUMNS = [
    TableColumn("trace id", lambda row: row.trace_id, no_wrap=True),
    TableColumn("started (UTC)", _started, min_width=10),
    TableColumn("spans", lambda row: str(row.span_count), justify="right", no_wrap=True),
    TableColumn("errors", lambda row: plain(row.error_count, "bold red" if row.error_count else ""), justify="right",
                no_wrap=True),
    TableColumn("project / root", lambda row: f"{row.project_name} / {row.root_name}"),
]
