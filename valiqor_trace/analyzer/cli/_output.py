"""What the ``valiqor fa`` commands print: results in each format, the runs table, errors a CLI user can act on."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rich.console import RenderableType

from valiqor_trace.analyzer.cli._report import result_report, write_result_csv
from valiqor_trace.analyzer.runs import FAResult, RunInfo
from valiqor_trace.errors import NotFoundError
from valiqor_trace.internal import TableColumn, plain, print_renderable, table, write_csv

if TYPE_CHECKING:
    from valiqor_trace.analyzer.client import ValiqorClient



def print_result(result: FAResult, *, output: Path | None, as_format: str, quiet: bool) -> None:
    """Write ``result`` to ``output`` (JSON, or CSV with ``as_format="csv"``) and print it as ``as_format``.

    ``quiet`` (``fa result``): with ``output``, say where it was written instead of printing the report.
    """
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as stream:
            if as_format == "csv":
                write_result_csv(result, stream)
            else:
                stream.write(result.model_dump_json(indent=2))
        if quiet:
            print(f"wrote {output}")
    if as_format == "json":
        print(result.model_dump_json(indent=2), flush=True)
    elif quiet and output is not None:
        return
    elif as_format == "csv":
        write_result_csv(result, sys.stdout)
    else:
        print_renderable(result_report(result))


RUN_COLUMNS: list[TableColumn] = [
    TableColumn("run id", lambda run: run.run_id, no_wrap=True),
    TableColumn("created (UTC)", lambda run: run.created_at[:19].replace("T", " "), min_width=10),
    TableColumn("project", lambda run: plain(run.project_name)),
    TableColumn("source", lambda run: run.source, no_wrap=True),
    TableColumn("trace id", lambda run: run.trace_id or "-", no_wrap=True),
    TableColumn("status", lambda run: run.status, no_wrap=True),
    TableColumn("items", lambda run: str(run.total_items), justify="right", no_wrap=True),
    TableColumn("fail", lambda run: run.items_with_failures, justify="right", no_wrap=True),
    TableColumn("sev", lambda run: None if run.overall_severity is None else f"{run.overall_severity:.0f}",
                justify="right", no_wrap=True),
    TableColumn("gate", lambda run: _gate(run.should_gate_ci), no_wrap=True),
    TableColumn("primary failure", lambda run: plain(run.primary_failure or "-")),
]


def _gate(should_gate_ci: bool | None) -> str:
    """The CI gate of a listed run: block (``fa run`` exits 3), pass, or - (no result yet)."""
    return "-" if should_gate_ci is None else ("block" if should_gate_ci else "pass")


def runs_table(runs: Sequence[RunInfo]) -> RenderableType:
    """``valiqor fa list``: one row per run, newest first."""
    return table(RUN_COLUMNS, runs)


def write_runs_csv(runs: Sequence[RunInfo], stream: IO[str]) -> None:
    """``valiqor fa list --format csv``: every field of each run (``RunInfo``), one row per run."""
    write_csv(stream, list(RunInfo.model_fields), (run.model_dump() for run in runs))


@contextlib.contextmanager
def run_lookup(client: ValiqorClient, run_id: str) -> Iterator[None]:
    """Say what a missing run or result means to someone at a shell, and which command to type next.

    The Python API's message names Python methods (and, embedded, the store file); here it names
    ``valiqor`` commands, and the server by its URL in remote mode (never the server's own paths).
    """
    try:
        yield
    except NotFoundError:
        try:
            status = client.failure_analysis.get_status(run_id)
        except NotFoundError:
            where = (f"on the server at {client.config.base_url}" if client.config.base_url
                     else f"in {client.config.run_store_where}")
            raise NotFoundError(f"no run {run_id!r} {where}; `valiqor fa list` lists the runs "
                                "(`--project-name P` those of another project)") from None
        why = f" ({status.error})" if status.error else ""
        next_step = (f"`valiqor fa status --run-id {run_id}` shows its progress"
                     if status.status in ("queued", "running") else "`valiqor fa run` analyzes again")
        raise NotFoundError(f"run {run_id} has no result: it is {status.status}{why}; {next_step}") from None
