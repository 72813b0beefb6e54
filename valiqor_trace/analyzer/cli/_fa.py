"""``valiqor fa run|status|result|list|taxonomy``."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from valiqor_trace.analyzer.cli._client import add_data_dir_argument, add_server_argument, cli_client
from valiqor_trace.analyzer.cli._output import print_result, run_lookup, runs_table, write_runs_csv
from valiqor_trace.analyzer.cli._report import GATE_EXIT_CODE, RunProgress
from valiqor_trace.analyzer.datasets import load_dataset_file
from valiqor_trace.analyzer.runs import FAResult
from valiqor_trace.analyzer.runs._models import RUN_SOURCES
from valiqor_trace.errors import NotFoundError, ValidationError
from valiqor_trace.internal import ProgressBar, print_renderable

if TYPE_CHECKING:
    from valiqor_trace.analyzer.client import FailureAnalysisRun, ValiqorClient

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, what shells expect of a Ctrl-C'd command
FORMATS = ("table", "json", "csv")


def register(cli) -> None:  # noqa: ANN001 - valiqor_trace.cli.Cli
    fa = cli.group("fa", "Failure Analysis: analyze datasets and traces, read past runs")

    run = fa.add_parser("run", help="analyze a dataset file or a trace",
                        description=f"Exit codes: 0 ok, 1 error, {GATE_EXIT_CODE} when the CI gate says block "
                                    "(should_gate_ci; --no-gate to always exit 0), 130 on Ctrl-C (the run is "
                                    "cancelled: what was analyzed is kept, stored and printed).")
    given = run.add_mutually_exclusive_group(required=True)
    given.add_argument("--dataset", type=Path, help="items in .json, .jsonl or .csv")
    given.add_argument("--trace-id", help="a trace in the trace store or a --source (32 hex, tr_ prefix accepted)")
    run.add_argument("--project-name", help="file the run under this project (default: a trace's own project, "
                                            "else $VALIQOR_PROJECT_NAME or 'default')")
    run.add_argument("--source", action="append", default=[], metavar="SOURCE", dest="trace_sources",
                     help="also look for --trace-id here: a trace file, jaeger://HOST:PORT or tempo://HOST:PORT "
                          "(+https: jaeger+https://...); repeatable, tried in order after the trace store")
    run.add_argument("--store", metavar="FILE", help="the trace store (default: $VALIQOR_STORE_PATH or "
                                                     "traces.db in the data directory)")
    run.add_argument("--judge-base-url", metavar="URL",
                     help="OpenAI-compatible server of the LLM judge (vLLM, Ollama, ...; default: "
                          "$VALIQOR_JUDGE_BASE_URL); its key only from $VALIQOR_OPENAI_API_KEY or $OPENAI_API_KEY")
    run.add_argument("--judge-model", metavar="MODEL", help="model of the LLM judge (default: $VALIQOR_JUDGE_MODEL)")
    run.add_argument("--feature-kind", choices=["rag", "agent", "agentic_rag", "generic_llm"])
    run.add_argument("--buckets", help="comma-separated bucket ids")
    run.add_argument("--subcategories", help="comma-separated subcategory ids")
    run.add_argument("--no-eval", action="store_true", help="skip eval metrics")
    run.add_argument("--no-security", action="store_true", help="skip security flags")
    run.add_argument("--no-gate", action="store_true", help="exit 0 even when should_gate_ci is true")
    run.add_argument("--json", action="store_true", help="print the full result as JSON")
    run.add_argument("--output", type=Path, help="also write the full result as JSON to this file "
                                                  "(CSV with --format csv)")
    run.add_argument("--format", choices=FORMATS, default="table",
                     help="table (default), json (as --json) or csv: one row per failing or unsure tag")
    run.set_defaults(func=run_command)
    _add_client_arguments(run)

    status = fa.add_parser("status", help="status of a run")
    status.add_argument("--run-id", required=True)
    status.set_defaults(func=status_command)
    _add_client_arguments(status)

    result = fa.add_parser("result", help="the result of a run")
    result.add_argument("--run-id", required=True)
    result.add_argument("--output", type=Path, help="write the result as JSON to this file (CSV with --format csv)")
    result.add_argument("--json", action="store_true")
    result.add_argument("--format", choices=FORMATS, default="table",
                        help="table (default), json (as --json) or csv: one row per failing or unsure tag")
    result.set_defaults(func=result_command)
    _add_client_arguments(result)

    listing = fa.add_parser("list", help="past runs of every project, newest first")
    listing.add_argument("--project-name", help="only this project's runs")
    listing.add_argument("--trace-id", help="only the runs of this trace")
    listing.add_argument("--source", choices=RUN_SOURCES, help="only runs of this kind of input")
    listing.add_argument("--since", metavar="WHEN",
                         help="only runs since: 30m, 24h, 7d, 2w ago, or an ISO 8601 date or time (UTC by default)")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--format", choices=FORMATS, default="table", help="table (default), json (as --json) "
                                                                           "or csv: one row per run")
    listing.set_defaults(func=list_command)
    _add_client_arguments(listing)

    taxonomy = fa.add_parser("taxonomy", help="the failure taxonomy: buckets and subcategories")
    taxonomy.add_argument("--json", action="store_true")
    taxonomy.set_defaults(func=taxonomy_command)


def _add_client_arguments(parser: argparse.ArgumentParser) -> None:
    add_server_argument(parser)
    add_data_dir_argument(parser)


def _client(args: argparse.Namespace) -> ValiqorClient:
    judge = {"judge_base_url": getattr(args, "judge_base_url", None), "judge_model": getattr(args, "judge_model", None)}
    client = cli_client(args, **judge)
    if client.config.base_url is not None and any(judge.values()):
        raise ValidationError("--judge-base-url and --judge-model choose the judge of a local run; a server's runs "
                              "use the server's judge (set VALIQOR_JUDGE_BASE_URL/MODEL where `valiqor serve` runs)")
    if getattr(args, "trace_sources", None):
        from valiqor_trace.analyzer.sources import trace_source

        if args.trace_id is None:
            raise ValidationError("--source says where to look for --trace-id; a --dataset run reads no trace")
        for spec in args.trace_sources:
            client.traces.add_source(trace_source(spec))  # remote: says the server reads its own store
    return client


def _reader(args: argparse.Namespace) -> tuple[ValiqorClient, str | None]:
    """The client of a read-only command, and why there is nothing to read (or None).

    Reading creates nothing: an embedded client with no run store yet (opening one would create it, and
    its directory) is not asked; the reason says where the store would be and which command creates it.
    """
    client = _client(args)
    if client.config.base_url is None and not client.config.has_run_store():
        return client, (f"no run store at {client.config.run_store_where}; `valiqor fa run --dataset FILE` "
                        "(or `--trace-id ID`) creates it with the first run")
    return client, None


def _run_reader(args: argparse.Namespace) -> ValiqorClient:
    client, nothing = _reader(args)
    if nothing:
        raise NotFoundError(f"no run {args.run_id!r}: {nothing}")
    return client


def _csv(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


def run_command(args: argparse.Namespace) -> int:
    client = _client(args)
    dataset = load_dataset_file(args.dataset) if args.dataset is not None else None
    progress = RunProgress()
    handle = None
    try:
        with _ctrl_c_held() as pressed:  # a run started but not yet handed back could not be cancelled
            handle = client.failure_analysis.run_async(
                trace_id=args.trace_id, dataset=dataset, project_name=args.project_name,
                feature_kind=args.feature_kind, buckets=_csv(args.buckets),
                subcategories=_csv(args.subcategories), run_eval=not args.no_eval,
                run_security=not args.no_security)
        if pressed:
            raise KeyboardInterrupt
        result = handle.wait(on_progress=progress)
        interrupted = False
    except KeyboardInterrupt:  # Ctrl-C cancels, as handle.cancel() does: what was analyzed is kept
        if handle is None:  # no run was started
            raise
        interrupted = True
    finally:
        progress.stop()
    if interrupted:
        return _cancel(handle, progress, args)
    _show(result, args)
    if result.summary.should_gate_ci and not args.no_gate:
        return GATE_EXIT_CODE
    return 0


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[list[bool]]:
    """Hold Ctrl-C back while a run starts; the list says whether it was pressed meanwhile.

    Raised in the middle of ``run_async`` (its worker thread already started), a
    KeyboardInterrupt would leave the run going with no handle to cancel it: it would
    end up ``failed``, its work lost. Where Python does not own SIGINT (not the main
    thread, or SIGINT ignored), nothing changes.
    """
    pressed: list[bool] = []
    owned = (threading.current_thread() is threading.main_thread()
             and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if owned:
        signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield pressed
    finally:
        if owned:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _cancel(handle: FailureAnalysisRun, progress: RunProgress, args: argparse.Namespace) -> int:
    """After Ctrl-C: cancel the run, wait for the item(s) in flight, show and point at the partial result.

    A second Ctrl-C quits without keeping it. ``handle`` may be the remote client's: it has the same methods.
    """
    progress.note(f"cancelling run {handle.run_id}: finishing the item in progress "
                  "(Ctrl-C again to quit without keeping it)")
    handle.cancel()
    try:
        result = handle.wait(on_progress=progress)
    finally:
        progress.stop()
    _show(result, args)
    what = (f"cancelled after {result.summary.total_items} of {handle.status().total_items} items; the partial "
            "result is stored" if result.partial else "had finished before the cancel; its result is stored")
    print(f"interrupted: run {result.run_id} {what}, read it with `valiqor fa result --run-id {result.run_id}`",
          file=sys.stderr)
    return INTERRUPTED_EXIT_CODE


def _show(result: FAResult, args: argparse.Namespace) -> None:
    print_result(result, output=args.output, as_format="json" if args.json else args.format, quiet=False)


def status_command(args: argparse.Namespace) -> int:
    client = _run_reader(args)
    with run_lookup(client, args.run_id):
        status = client.failure_analysis.get_status(args.run_id)
    print(f"{status.run_id}  {status.status}  {status.progress_percent:.0f}%  "
          f"{status.current_item}/{status.total_items} items" + (f"  {status.error}" if status.error else ""))
    return 0


def result_command(args: argparse.Namespace) -> int:
    client = _run_reader(args)
    # The report and CSV show only failing and unsure tags: a big run's passing ones (most of its tags) are
    # left unread unless the whole result is written as JSON. Reading it can still take seconds: say so.
    as_format = "json" if args.json else args.format
    whole = as_format == "json" or (args.output is not None and as_format != "csv")
    with run_lookup(client, args.run_id), ProgressBar(f"reading run {args.run_id}") as reading:
        reading.update(0)
        result = client.failure_analysis.get_result(args.run_id, include_passing=whole)
    print_result(result, output=args.output, as_format=as_format, quiet=True)
    return 0


def list_command(args: argparse.Namespace) -> int:
    as_format = "json" if args.json else args.format
    client, nothing = _reader(args)
    if nothing:  # an empty listing, not an error
        if as_format == "csv":
            write_runs_csv([], sys.stdout)
        else:
            print("[]" if as_format == "json" else f"no runs yet: {nothing}")
        return 0
    filters = {"project_name": args.project_name, "trace_id": args.trace_id, "source": args.source,
               "since": args.since}
    runs = client.failure_analysis.list_runs(limit=args.limit, **filters)
    if as_format == "json":
        print(json.dumps([run.model_dump() for run in runs], indent=2))
    elif as_format == "csv":
        write_runs_csv(runs, sys.stdout)
    elif not runs:
        narrowed = any(value is not None for value in filters.values())
        print("no runs match" if narrowed else "no runs yet: try `valiqor fa run --dataset FILE`")
    else:
        print_renderable(runs_table(runs))
    return 0



def taxonomy_command(args: argparse.Namespace) -> int:
    taxonomy = _client(args).failure_analysis.get_taxonomy()
    if args.json:
        print(json.dumps(taxonomy, indent=2))
        return 0
    for bucket in taxonomy:
        print(f"{bucket['name']} ({bucket['id']})")
        for sub in bucket.get("subcategories", []):
            print(f"  - {sub['id']:<26} {sub['scope']:<12} {sub['detector_type']:<13} {sub['name']}")
    return 0
