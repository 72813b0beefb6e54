"""``valiqor traces show|list``: read the embedded trace store."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from valiqor_trace.cli._output import span_tree_lines
from valiqor_trace.internal import add_store_argument, default_pricing, normalize_trace_id, open_store


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
    costs, total = _costs(spans)
    for line in span_tree_lines(spans, {span_id: _cost_note(usd) for span_id, usd in costs.items()}):
        print(line)
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
    print(f"{'trace id':32}  {'started (UTC)':19}  {'spans':>5}  {'errors':>6}  project / root")
    for row in rows:
        started = dt.datetime.fromtimestamp(row.start_time_unix_nano / 1e9, dt.timezone.utc)
        print(f"{row.trace_id}  {started:%Y-%m-%d %H:%M:%S}  {row.span_count:>5}  {row.error_count:>6}  "
              f"{row.project_name} / {row.root_name}")
    return 0
