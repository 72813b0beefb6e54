"""``valiqor traces import FILE...``, ``valiqor traces reconstruct TRACE_ID`` (``valiqor traces prune``: in
:mod:`valiqor_trace.analyzer.cli._prune`)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from valiqor_trace.analyzer.cli._client import add_server_argument, cli_client
from valiqor_trace.analyzer.cli._prune import register_prune
from valiqor_trace.errors import ValiqorError
from valiqor_trace.internal import ProgressBar, add_store_argument, open_store, printable, store_path, without_password


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    traces = cli.group("traces", "read traces from the embedded store")
    importing = traces.add_parser(
        "import", help="load trace files (OTLP JSON/JSONL/protobuf, span lists, nested exports) into the store",
        description="Load trace files into the local store. Each file is imported whole or not at all; "
                    "importing a file twice stores nothing twice.")
    importing.add_argument("files", nargs="+", metavar="FILE")
    add_store_argument(importing)
    add_server_argument(importing)
    importing.add_argument("--json", action="store_true", help="print the results as JSON")
    importing.set_defaults(func=import_files)

    rebuild = traces.add_parser("reconstruct", help="rebuild input/output/context/tool_calls of a trace",
                                description="Rebuild the FA item of a trace: the user's input, the final "
                                            "output, retrieved context and tool calls, with trace facts.")
    rebuild.add_argument("trace_id", help="32-hex W3C trace id (a tr_ prefix is accepted)")
    add_store_argument(rebuild)
    rebuild.add_argument("--split", choices=["turns"], help="one item per independent LLM interaction")
    rebuild.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the root span (default 5)")
    rebuild.add_argument("--jaeger", metavar="URL", help="also look in a Jaeger query service at URL")
    rebuild.add_argument("--tempo", metavar="URL", help="also look in Grafana Tempo at URL")
    rebuild.add_argument("--file", action="append", default=[], metavar="FILE", help="also look in a trace file")
    rebuild.add_argument("--source", action="append", default=[], metavar="SOURCE",
                         help="also look here: clickhouse://USER:PASSWORD@HOST:8123/DATABASE, chdb:///DIR, "
                              "jaeger://HOST:PORT, tempo://HOST:PORT or a trace file (docs/trace-sources.md)")
    rebuild.add_argument("--json", action="store_true", help="print the item(s) as JSON")
    rebuild.set_defaults(func=reconstruct_trace)
    register_prune(traces)


def import_files(args: argparse.Namespace) -> int:
    """Import into the local store, or into the server's with ``--base-url`` / ``VALIQOR_BASE_URL``."""
    from valiqor_trace.analyzer.sources import import_file

    client = cli_client(args)
    store = None if client.config.base_url is not None else open_store(args, create=True)
    results, failed = [], 0
    for path in args.files:
        bar = ProgressBar(f"reading {os.path.basename(path)}", in_bytes=True)
        try:
            if store is not None:
                with bar:
                    result = import_file(store, path, reading=bar.reading)
            else:
                result = client.traces.import_file(path)
        except (ValiqorError, OSError) as exc:
            failed += 1
            print(f"error: {printable(exc)}", file=sys.stderr)
            continue
        results.append(result)
        if not args.json:
            logs = f", {result.logs_read} log records ({result.logs_new} new)" if result.logs_read else ""
            print(printable(f"{path}: {result.spans_read} spans ({result.spans_new} new){logs} in "
                            f"{len(result.trace_ids)} trace(s), {result.format}"))
    if args.json:
        print(json.dumps([vars(result) for result in results], indent=2))
    elif results:
        print(f"store: {store.path}" if store is not None else f"server: {without_password(client.config.base_url or '')}")
    return 1 if failed else 0


def reconstruct_trace(args: argparse.Namespace) -> int:
    from valiqor_trace.analyzer.sources import FileSource, JaegerSource, TempoSource, TraceSource, trace_source
    from valiqor_trace.analyzer.traces_api import TracesAPI

    sources: list[TraceSource] = [FileSource(path) for path in args.file]
    if args.jaeger:
        sources.append(JaegerSource(args.jaeger))
    if args.tempo:
        sources.append(TempoSource(args.tempo))
    sources += [trace_source(spec) for spec in args.source]
    api = TracesAPI(store_path(args), sources)  # reading: a missing store is reported, never created
    result = api.reconstruct(args.trace_id, split=args.split, timeout_s=args.timeout)
    items = result if isinstance(result, list) else [result]
    if args.json:
        payload = [item.model_dump(mode="json") for item in items]
        print(json.dumps(payload if args.split else payload[0], indent=2, ensure_ascii=False))
        return 0
    for number, item in enumerate(items, start=1):
        if len(items) > 1:
            print(f"── turn {number} of {len(items)}")
        _print_item(item)
    return 0


def _print_item(item) -> None:  # noqa: ANN001 - FAItem
    meta = item.metadata
    print(f"trace   {item.trace_id}  ({meta.get('span_count')} spans, {meta.get('convention')}, "
          f"{meta.get('llm_call_count')} LLM calls, models {', '.join(meta.get('models') or []) or '-'})")
    if meta.get("root_missing"):
        print("note    the root span is missing (another service's, or dropped): rebuilt from the spans there are")
    print(f"input   {_short(item.input)}")
    failed = meta.get("output_error")
    if failed and not item.output:  # say the run failed, rather than show a blank answer
        print(f"output  - (no answer: {failed.get('name')} ended in error: {_short(failed.get('message'), 80)})")
    else:
        print(f"output  {_short(item.output)}")
    for number, text in enumerate(item.context, start=1):
        print(f"context [{number}] {_short(text)}")
    for call in item.tool_calls:
        state = "ran" if call.executed else "NOT RUN"
        outcome = f"error: {_short(call.error, 60)}" if call.error else _short(call.output, 60)
        print(f"tool    {call.name}({_short(json.dumps(call.arguments, default=str), 60)}) [{state}] -> {outcome}")
    for error in meta.get("error_spans") or []:
        print(f"error   {error['name']} ({error['span_id']}): {_short(error.get('message'), 80)}")


def _short(text: str | None, limit: int = 100) -> str:
    if text is None:
        return "-"
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
