"""The REST handlers behind every ``ValiqorClient`` method, and their endpoint table.

Handlers are plain functions of the server state and parsed arguments; they
call the same embedded API a local client uses, so a remote call and an
embedded call do the same thing on the same data.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from valiqor_trace.errors import ImportFormatError, ValidationError
from valiqor_trace.analyzer.runs import FAResult, RunStatus
from valiqor_trace.analyzer.runs._models import RUN_SOURCES
from valiqor_trace.errors import RunFailedError
from valiqor_trace.analyzer.server._endpoints import Endpoint, Later, Reply
from valiqor_trace.analyzer.server._params import Param, paging_params, period_param, project_param
from valiqor_trace.analyzer.server._runs import RunPool
from valiqor_trace.analyzer.server._trace_views import get_span_detail, list_projects, search_traces
from valiqor_trace.analyzer.server._schemas import (
    Count,
    ImportSummary,
    PlaygroundRequest,
    RunAccepted,
    RunRequest,
)

API = "/api/v1"
_MAX_TRACE_WAIT_S = 60.0


@dataclass
class ApiState:
    """What the handlers work on: the embedded APIs over the server's stores, and the run pool."""

    fa: Any  # valiqor_trace.analyzer.client._failure_analysis.FailureAnalysisAPI
    traces: Any  # valiqor_trace.analyzer.traces_api.TracesAPI
    runs: RunPool


# -- runs -----------------------------------------------------------------------------


def create_run(state: ApiState, body: RunRequest) -> Later | Reply:
    """Validate and queue the run (any replica may run it); answer its result if it ends within ``wait_s``,
    else 202."""
    options = body.options()
    job = state.fa._prepare(body.trace_id, body.dataset, options)
    state.runs.submit(job, options)
    run_id = job.run_id
    ran_here: list[Any] = []  # the job, once seen running in this replica: its result is in memory

    def accepted() -> Reply:
        status = state.runs.status(run_id) or state.fa.get_status(run_id)
        return Reply(_accepted(status), 202, {"Location": f"{API}/fa/runs/{run_id}"})

    def ended() -> bool:
        live = state.runs.job(run_id)
        if live is not None and not ran_here:
            ran_here.append(live)
        return live.done.is_set() if live is not None else state.runs.ended(run_id)

    def finished() -> FAResult:
        if ran_here and ran_here[0].result is not None:
            return ran_here[0].result
        status = state.fa.get_status(run_id)
        if status.status == "failed":
            raise RunFailedError(status.error or f"run {run_id} failed")
        return state.fa.get_result(run_id)

    if body.wait_s <= 0:
        return accepted()
    return Later(ready=ended, answer=finished, timeout_s=body.wait_s, fallback=accepted)


def _accepted(status: RunStatus) -> RunAccepted:
    return RunAccepted(**status.model_dump(exclude={"error"}), status_url=f"{API}/fa/runs/{status.run_id}",
                       result_url=f"{API}/fa/runs/{status.run_id}/result")


def get_run_status(state: ApiState, run_id: str) -> RunStatus:
    return state.runs.status(run_id) or state.fa.get_status(run_id)


def cancel_run(state: ApiState, run_id: str) -> RunStatus:
    return state.runs.cancel(run_id) or state.fa.get_status(run_id)


def get_result(state: ApiState, run_id: str, include_passing: bool) -> FAResult:
    return state.fa.get_result(run_id, include_passing=include_passing)


def list_runs(state: ApiState, project_name: str | None, limit: int, offset: int, trace_id: str | None,
              source: str | None, since: str | None) -> Any:
    return state.fa.list_runs(project_name=project_name, limit=limit, offset=offset, trace_id=trace_id,
                              source=source, since=since)


def count_runs(state: ApiState, project_name: str | None, trace_id: str | None, source: str | None,
               since: str | None) -> Count:
    return Count(count=state.fa.count_runs(project_name=project_name, trace_id=trace_id, source=source,
                                           since=since))


def list_alerts(state: ApiState, project_name: str | None, since: str | None, limit: int) -> Any:
    return state.fa.list_alerts(project_name, since=since, limit=limit)


def get_run_inputs(state: ApiState, run_id: str) -> Any:
    return state.fa.get_run_inputs(run_id)


def get_tags(state: ApiState, run_id: str, decision: str | None) -> Any:
    return state.fa.get_tags(run_id, decision=decision)


def playground(state: ApiState, body: PlaygroundRequest) -> FAResult:
    return state.fa.playground(body.input_text, body.output_text, body.context, tool_calls=body.tool_calls,
                               openai_api_key=body.openai_api_key)


# -- taxonomy and insights ------------------------------------------------------------


def get_taxonomy(state: ApiState) -> Any:
    return state.fa.get_taxonomy()


def get_subcategories(state: ApiState, bucket_id: str | None, scope: str | None, detector_type: str | None) -> Any:
    return state.fa.get_subcategories(bucket_id=bucket_id, scope=scope, detector_type=detector_type)


def get_bucket_details(state: ApiState, bucket_id: str) -> Any:
    return state.fa.get_bucket_details(bucket_id)


def get_insights(state: ApiState, project_name: str | None, period: str) -> Any:
    return state.fa.get_insights(project_name=project_name, period=period)


def get_trends(state: ApiState, period: str, project_name: str | None) -> Any:
    return state.fa.get_trends(period=period, project_name=project_name)


def get_security_insights(state: ApiState, project_name: str | None, period: str) -> Any:
    return state.fa.get_security_insights(project_name=project_name, period=period)


# -- traces ---------------------------------------------------------------------------


def list_traces(state: ApiState, project_name: str | None, start_ns: int | None, end_ns: int | None,
                has_error: bool | None, limit: int, offset: int, include_verdicts: bool) -> Any:
    return state.traces.list(project_name=project_name, start_ns=start_ns, end_ns=end_ns, has_error=has_error,
                             limit=limit, offset=offset, include_verdicts=include_verdicts)


def get_trace(state: ApiState, trace_id: str, timeout_s: float) -> Any:
    return state.traces.get(trace_id, timeout_s=timeout_s)


def reconstruct_trace(state: ApiState, trace_id: str, split: str | None, timeout_s: float) -> Any:
    return state.traces.reconstruct(trace_id, split=split, timeout_s=timeout_s)


def import_trace_file(state: ApiState, filename: str, body: str) -> ImportSummary:
    """Store an uploaded trace file (``body``: where it was saved); the name's extension tells its format,
    as for a local file. It is read as it streams, like a local file (memory follows the batch size)."""
    name = os.path.basename(filename)
    if not name or not re.fullmatch(r"[\w.\-]+", name):
        raise ValidationError(f"parameter 'filename' must be a plain file name (letters, digits, . _ -), "
                              f"got {filename[:60]!r}")
    path = os.path.join(os.path.dirname(body), f"upload-{name}")  # the upload's own directory
    os.replace(body, path)
    try:
        result = state.traces.import_file(path)
    except ImportFormatError as exc:  # name the user's file, not our temporary copy
        raise ImportFormatError(filename, exc.location, exc.reason) from None
    return ImportSummary(path=filename, format=result.format, spans_read=result.spans_read,
                         spans_new=result.spans_new, trace_ids=result.trace_ids, logs_read=result.logs_read,
                         logs_new=result.logs_new)


# -- the table ------------------------------------------------------------------------

_RUN_ID = Param("run_id", where="path", description="the run's id (run_...)")
_TRACE_ID = Param("trace_id", where="path", description="32-hex W3C trace id (a tr_ prefix is accepted)")
_TIMEOUT = Param("timeout_s", float, default=0.0, minimum=0.0, maximum=_MAX_TRACE_WAIT_S,
                 description="seconds to wait for the trace's spans to arrive")
_NOT_FOUND = ("no such run or trace", "ErrorBody")
_RUNS_PROJECT = Param("project_name", description="only this project's runs (default: every project)")
_RUN_FILTERS = (
    Param("trace_id", description="only the runs of this trace (32 hex; a tr_ prefix is accepted)"),
    Param("source", enum=RUN_SOURCES, description="only runs of this kind of input"),
    Param("since", description="only runs created since: 30m, 24h, 7d, 2w back from now, or an ISO 8601 "
                               "date or time (UTC unless it names a zone)"),
)


def _ok(schema: str, description: str = "OK") -> dict[int, tuple[str, Any]]:
    return {200: (description, schema)}


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", f"{API}/fa/runs", "create_run", "Run Failure Analysis on a trace or a dataset", create_run,
             body=RunRequest,
             responses={200: ("the run ended within wait_s: its result", "FAResult"),
                        202: ("the run goes on: poll status_url, then fetch result_url", "RunAccepted"),
                        404: ("the trace is in no source", "ErrorBody"),
                        409: ("the trace's root span has not arrived", "ErrorBody"),
                        422: ("the run failed", "ErrorBody")}),
    Endpoint("GET", f"{API}/fa/runs", "list_runs", "Past runs, newest first (of every project unless one is named)",
             list_runs, params=(_RUNS_PROJECT, *paging_params(), *_RUN_FILTERS), responses=_ok("list[RunInfo]")),
    Endpoint("GET", f"{API}/fa/runs/count", "count_runs", "How many runs list_runs would list", count_runs,
             params=(_RUNS_PROJECT, *_RUN_FILTERS), responses=_ok("Count")),
    Endpoint("GET", f"{API}/fa/alerts", "list_alerts", "The production monitor's alerts, newest first: sent, "
             "suppressed by the cooldown, or failed to deliver (of every project unless one is named)", list_alerts,
             params=(Param("project_name", description="only this project's alerts (default: every project)"),
                     Param("since", description="only alerts since: 30m, 24h, 7d, 2w back from now, or an ISO 8601 "
                                                "date or time (UTC unless it names a zone)"),
                     paging_params()[0]),
             responses=_ok("list[AlertRecord]")),
    Endpoint("GET", f"{API}/fa/runs/{{run_id}}", "get_run_status", "Status and progress of a run",
             get_run_status, params=(_RUN_ID,), responses={**_ok("RunStatus"), 404: _NOT_FOUND}),
    Endpoint("POST", f"{API}/fa/runs/{{run_id}}/cancel", "cancel_run",
             "Stop a run after the item being analyzed (what was analyzed is kept)", cancel_run,
             params=(_RUN_ID,), responses={**_ok("RunStatus"), 404: _NOT_FOUND}),
    Endpoint("GET", f"{API}/fa/runs/{{run_id}}/result", "get_result", "The result of a finished run", get_result,
             params=(_RUN_ID, Param("include_passing", bool, default=True,
                                    description="false: failure_tags without the passing tags (what a report "
                                                "shows; the summary still counts them)")),
             responses={**_ok("FAResult"), 404: ("no such run, or it has no result (yet)",
                                                                    "ErrorBody")}),
    Endpoint("GET", f"{API}/fa/runs/{{run_id}}/inputs", "get_run_inputs", "The items a run analyzed",
             get_run_inputs, params=(_RUN_ID,), responses={**_ok("list[RunInput]"), 404: _NOT_FOUND}),
    Endpoint("GET", f"{API}/fa/runs/{{run_id}}/tags", "get_tags", "The failure tags of a run", get_tags,
             params=(_RUN_ID, Param("decision", enum=("pass", "fail", "unsure"))),
             responses={**_ok("list[FailureTag]"), 404: _NOT_FOUND}),
    Endpoint("POST", f"{API}/fa/playground", "playground",
             "Analyze one input/output pair (2 calls a minute, 10 a day)", playground, body=PlaygroundRequest,
             responses={**_ok("FAResult"), 429: ("over the limit; Retry-After says when to retry", "ErrorBody")}),
    Endpoint("GET", f"{API}/fa/taxonomy", "get_taxonomy", "Buckets and subcategories", get_taxonomy,
             responses=_ok("list[object]")),
    Endpoint("GET", f"{API}/fa/subcategories", "get_subcategories", "Subcategories, filtered", get_subcategories,
             params=(Param("bucket_id"), Param("scope"), Param("detector_type")), responses=_ok("list[object]")),
    Endpoint("GET", f"{API}/fa/buckets/{{bucket_id}}", "get_bucket_details", "One bucket and its subcategories",
             get_bucket_details, params=(Param("bucket_id", where="path"),), responses=_ok("object")),
    Endpoint("GET", f"{API}/fa/insights", "get_insights", "Top failures, failure rate and severity",
             get_insights, params=(project_param(), period_param("30d")), responses=_ok("object")),
    Endpoint("GET", f"{API}/fa/trends", "get_trends", "One point per day over a period", get_trends,
             params=(period_param("7d"), project_param()), responses=_ok("object")),
    Endpoint("GET", f"{API}/fa/security-insights", "get_security_insights", "Runs passing/failing each "
             "security category", get_security_insights, params=(project_param(), period_param("30d")),
             responses=_ok("object")),
    Endpoint("GET", f"{API}/traces", "list_traces", "Stored traces, newest first", list_traces, tag="traces",
             params=(project_param(), Param("start_ns", int, minimum=0, maximum=2**63 - 1),
                     Param("end_ns", int, minimum=0, maximum=2**63 - 1), Param("has_error", bool),
                     *paging_params(min_limit=0),
                     Param("include_verdicts", bool, default=True,
                           description="false: leave out the fa.verdict traces of the production monitor")),
             responses=_ok("list[TraceSummary]")),
    Endpoint("GET", f"{API}/traces/search", "search_traces",
             "Stored traces, newest first, with token usage and the verdict of each one's newest FA run; "
             "filtered by project, time, status, failures and text", search_traces, tag="traces",
             params=(Param("project_name", description="only this project's traces (default: every project)"),
                     Param("start_ns", int, minimum=0, maximum=2**63 - 1,
                           description="only traces starting at or after (Unix ns)"),
                     Param("end_ns", int, minimum=0, maximum=2**63 - 1, description="only traces starting before"),
                     Param("status", enum=("error", "ok"), description="error: a span failed; ok: none did"),
                     Param("has_failures", bool, description="true: the trace's newest FA run found failures; "
                                                             "false: it has no such run"),
                     Param("q", description="text in the root span's name, the project or the trace id"),
                     *paging_params(), Param("include_verdicts", bool, default=False,
                                             description="true: list the production monitor's fa.verdict traces too")),
             responses=_ok("TracePage")),
    Endpoint("GET", f"{API}/projects", "list_projects", "The projects that have stored traces", list_projects,
             tag="traces", responses=_ok("list[string]")),
    Endpoint("GET", f"{API}/traces/{{trace_id}}/spans/{{span_id}}", "get_span_detail",
             "One span, read as a model call (chat messages), tool call or retrieval", get_span_detail, tag="traces",
             params=(_TRACE_ID, Param("span_id", where="path", description="16-hex span id")),
             responses={**_ok("SpanDetail"), 404: _NOT_FOUND}),
    Endpoint("GET", f"{API}/traces/{{trace_id}}", "get_trace", "Every span of a trace", get_trace, tag="traces",
             params=(_TRACE_ID, _TIMEOUT), responses={**_ok("list[SpanRecord]"), 404: _NOT_FOUND}),
    Endpoint("GET", f"{API}/traces/{{trace_id}}/reconstruct", "reconstruct_trace",
             "The FA item(s) of a trace: input, output, context, tool calls", reconstruct_trace, tag="traces",
             params=(_TRACE_ID, Param("split", enum=("turns",)),
                     Param("timeout_s", float, default=5.0, minimum=0.0, maximum=_MAX_TRACE_WAIT_S)),
             responses={200: ("one item, or a list with split=turns", "FAItem|list[FAItem]"),
                        404: _NOT_FOUND, 409: ("the trace's root span has not arrived", "ErrorBody")}),
    Endpoint("POST", f"{API}/traces/import", "import_trace_file",
             "Store a trace file (OTLP JSON/JSONL/protobuf, span lists); its name tells the format",
             import_trace_file, tag="traces", body="file",
             params=(Param("filename", default="upload.json", description="the file's name (extension matters)"),),
             responses=_ok("ImportSummary")),
)
