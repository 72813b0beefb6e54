"""``valiqor traces show|list``: read the trace store, a server's with ``--base-url`` / ``VALIQOR_BASE_URL``, or
another source with ``--source`` (a ClickHouse table, Jaeger, Tempo, a file: docs/trace-sources.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from valiqor_trace.cli._output import span_tree
from valiqor_trace.internal import (
    TableColumn,
    add_store_argument,
    default_pricing,
    normalize_trace_id,
    open_store,
    plain,
    print_renderable,
    table,
    without_password,
)
from valiqor_trace.store import SpanRecord, TraceSummary


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    from valiqor_trace.analyzer.cli import add_server_argument

    traces = cli.group("traces", "read traces from the embedded store")
    show = traces.add_parser("show", help="print one trace as a span tree")
    show.add_argument("trace_id", help="32-hex W3C trace id (a tr_ prefix is accepted)")
    add_store_argument(show)
    add_server_argument(show)
    _add_source_argument(show)
    show.add_argument("--run-id", help="mark the spans this FA run's failures point at (◆ evidence: subcategory)")
    show.add_argument("--json", action="store_true", help="print the spans as JSON")
    show.set_defaults(func=show_trace)

    listing = traces.add_parser("list", help="list stored traces, newest first")
    add_store_argument(listing)
    add_server_argument(listing)
    _add_source_argument(listing)
    listing.add_argument("--project-name")
    listing.add_argument("--errors", action="store_true", help="only traces with an error span")
    listing.add_argument("--all", action="store_true",
                         help="also the fa.verdict traces the production monitor records (hidden by default)")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_traces)


def _add_source_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", metavar="SOURCE",
                        help="read here instead of the store: clickhouse://USER:PASSWORD@HOST:8123/DATABASE, "
                             "chdb:///DIR, jaeger://HOST:PORT, tempo://HOST:PORT or a trace file "
                             "(docs/trace-sources.md)")


def _source(args: argparse.Namespace, client: Any) -> Any:
    """The ``--source`` the command names, or None."""
    if not getattr(args, "source", None):
        return None
    if client.config.base_url is not None:
        raise ValueError("--source reads a trace source from here; --base-url / VALIQOR_BASE_URL reads a "
                         "server's store: use one of them")
    from valiqor_trace.analyzer.sources import trace_source

    return trace_source(args.source)


def _client(args: argparse.Namespace) -> Any:
    from valiqor_trace.analyzer.cli import cli_client

    return cli_client(args)


def _spans(args: argparse.Namespace, client: Any, trace_id: str) -> tuple[list[SpanRecord], str]:
    """The trace's spans and where they were read: ``--source``, the server's store, or the local one."""
    source = _source(args, client)
    if source is not None:
        spans = source.get_trace(trace_id)
        if not spans:
            raise LookupError(f"trace {trace_id} is not in {source.description}")
        return spans, source.description
    if client.config.base_url is not None:
        return client.traces.get(trace_id), "server " + without_password(client.config.base_url)
    store = open_store(args)
    spans = store.get_trace(trace_id)
    if not spans:
        raise LookupError(f"trace {trace_id} is not in {store.path}")
    return spans, "store " + store.path


def show_trace(args: argparse.Namespace) -> int:
    trace_id = normalize_trace_id(args.trace_id)
    client = _client(args)
    spans, where = _spans(args, client, trace_id)
    marks = _evidence_marks(client, args.run_id, trace_id) if args.run_id else {}
    if args.json:
        print(json.dumps([span.model_dump() for span in spans], indent=2))
        return 0
    print(f"trace {trace_id}  ({len(spans)} spans, {where})")
    costs, total = _costs(spans)
    print_renderable(span_tree(spans, {span_id: _cost_note(usd) for span_id, usd in costs.items()}, marks=marks))
    if total is not None:
        hint = "" if default_pricing().available else " (no price table: pip install 'valiqor-trace[cost]')"
        print(f"cost: {total.describe()}{hint}")
    return 0


def _costs(spans: list[Any]) -> tuple[dict[str, float | None], Any]:
    """Per LLM span its estimated cost, and the trace's (docs/cost.md): read now, from the price table."""
    from valiqor_trace.analyzer.models import TraceFacts
    from valiqor_trace.analyzer.reconstruct import llm_span_costs, reconstruct_item
    from valiqor_trace.analyzer.runs import Cost

    costs = llm_span_costs(spans)
    if not costs:
        return {}, None
    return costs, Cost.model_validate(reconstruct_item(spans).metadata[TraceFacts.COST])


def _cost_note(usd: float | None) -> str:
    from valiqor_trace.analyzer.runs import format_usd

    return format_usd(usd) if usd is not None else "cost unknown"


def _evidence_marks(client: Any, run_id: str, trace_id: str) -> dict[str, str]:
    """span id -> "evidence: subcategory, ..." for the spans the run's failing and unsure tags point at.

    The run is read where the trace was (the server, or the local run store; reading creates no store).
    A run of another trace, or of a dataset, is an error: its evidence points at spans this trace lacks.
    """
    if client.config.base_url is None and not client.config.has_run_store():
        raise LookupError(f"no run {run_id!r}: no run store at {client.config.run_store_where}")
    result = client.failure_analysis.get_result(run_id)
    items = {item.item_index for item in result.inputs if item.trace_id == trace_id}
    if not items:
        analyzed = sorted({item.trace_id for item in result.inputs if item.trace_id})
        raise LookupError(f"run {run_id} did not analyze trace {trace_id}: "
                          + (f"it analyzed {', '.join(analyzed)}" if analyzed else "it analyzed a dataset"))
    marked: dict[str, list[str]] = {}
    for tag in result.failure_tags:
        if tag.item_index not in items or tag.decision == "pass":
            continue
        label = tag.subcategory_id + ("?" if tag.decision == "unsure" else "")
        for evidence in tag.evidence_items:
            if evidence.span_id and label not in marked.setdefault(evidence.span_id, []):
                marked[evidence.span_id].append(label)
    return {span_id: "evidence: " + ", ".join(labels) for span_id, labels in marked.items()}


def list_traces(args: argparse.Namespace) -> int:
    client = _client(args)
    query = {"project_name": args.project_name, "has_error": True if args.errors else None, "limit": args.limit,
             "include_verdicts": args.all}
    rows: Sequence[TraceSummary]
    source = _source(args, client)
    if source is not None:
        from valiqor_trace.analyzer.sources import ListsTraces

        where = source.description
        if not isinstance(source, ListsTraces):
            raise ValueError(f"{where} cannot list traces here; browse it in its own UI, then "
                             "`valiqor traces show ID --source ...` or `valiqor fa run --trace-id ID --source ...`")
        rows = source.list_traces(**query)
    elif client.config.base_url is not None:
        rows, where = client.traces.list(**query), without_password(client.config.base_url)
    else:
        store = open_store(args)
        rows, where = store.list_traces(**query), store.path
    if args.json:
        print(json.dumps([row.model_dump() for row in rows], indent=2))
        return 0
    if not rows:
        window = getattr(source, "list_window_s", None)  # a source that lists recent traces only
        print(f"no traces in {where}" + (f" in the last {window / 3600:g} hours" if window else ""))
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
