"""``client.failure_analysis``: the seed guide's Failure Analysis API, on the embedded engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from valiqor_trace.analyzer.client import _insights
from valiqor_trace.analyzer.datasets import validate_dataset
from valiqor_trace.errors import NotFoundError, RateLimitError, ValidationError
from valiqor_trace.analyzer.fa import taxonomy
from valiqor_trace.analyzer.fa.engine import AnalysisOptions, validate_options
from valiqor_trace.analyzer.fa.models import FailureTag, Thresholds
from valiqor_trace.analyzer.fa.options import FailureAnalysisOptions, option_errors
from valiqor_trace.analyzer.models import FAItem, TraceFacts
from valiqor_trace.analyzer.runs import AlertRecord, ClaimedJob, FAResult, JobRequest, RunHandle, RunInfo, RunInput, RunJob, RunSpec, RunStatus, launch
from valiqor_trace.analyzer.runs._models import RUN_SOURCES
from valiqor_trace.analyzer.runs._since import since_ns
from valiqor_trace.internal import normalize_trace_id

if TYPE_CHECKING:
    from valiqor_trace.analyzer.client._client import ValiqorClient

PLAYGROUND_LIMITS = ((2, 60 * 10**9), (10, 86_400 * 10**9))  # 2 a minute, 10 a day


class FailureAnalysisAPI:
    """Run Failure Analysis and read its history. Reached as ``ValiqorClient().failure_analysis``."""

    def __init__(self, client: ValiqorClient, *, clock: Callable[[], float] = time.time,
                 runs_where: str | None = None) -> None:
        """``runs_where``: where a missing run was looked for, in messages (default: the run store's path)."""
        self._client = client
        self._clock = clock
        self._runs_where = runs_where

    # -- running ---------------------------------------------------------------------

    def run(self, trace_id: str | None = None, dataset: Sequence[Any] | None = None, *,
            project_name: str | None = None, feature_kind: str | None = None, run_eval: bool = True,
            run_security: bool = True, run_scan: bool = True, mandatory_eval_metrics: list[str] | None = None,
            mandatory_security_categories: list[str] | None = None, subcategories: list[str] | None = None,
            buckets: list[str] | None = None, openai_api_key: str | None = None,
            thresholds: Thresholds | None = None) -> FAResult:
        """Analyze a trace (``trace_id=``) or a dataset (``dataset=``) and return the result.

        The options are those of :class:`~valiqor_trace.analyzer.fa.options.FailureAnalysisOptions`.

        Raises:
            ValidationError: bad arguments or dataset items (nothing is run or stored).
            NotFoundError: the trace is in no trace source (the message names those tried).
            RunFailedError: the analysis itself failed.
        """
        with option_errors():
            options = FailureAnalysisOptions(
                project_name=project_name, feature_kind=feature_kind, run_eval=run_eval, run_security=run_security,
                run_scan=run_scan, mandatory_eval_metrics=mandatory_eval_metrics,
                mandatory_security_categories=mandatory_security_categories, subcategories=subcategories,
                buckets=buckets, openai_api_key=openai_api_key, thresholds=thresholds)
        return launch(self._prepare(trace_id, dataset, options), background=False).result()

    def run_async(self, trace_id: str | None = None, dataset: Sequence[Any] | None = None, *,
                  project_name: str | None = None, feature_kind: str | None = None, run_eval: bool = True,
                  run_security: bool = True, run_scan: bool = True, mandatory_eval_metrics: list[str] | None = None,
                  mandatory_security_categories: list[str] | None = None, subcategories: list[str] | None = None,
                  buckets: list[str] | None = None, openai_api_key: str | None = None,
                  thresholds: Thresholds | None = None) -> RunHandle:
        """Start the same analysis as :meth:`run` in the background; return its handle at once.

        Validation happens before the handle is returned, so bad input still raises here.
        """
        with option_errors():
            options = FailureAnalysisOptions(
                project_name=project_name, feature_kind=feature_kind, run_eval=run_eval, run_security=run_security,
                run_scan=run_scan, mandatory_eval_metrics=mandatory_eval_metrics,
                mandatory_security_categories=mandatory_security_categories, subcategories=subcategories,
                buckets=buckets, openai_api_key=openai_api_key, thresholds=thresholds)
        return launch(self._prepare(trace_id, dataset, options), background=True)

    def _prepare(self, trace_id: str | None, dataset: Sequence[Any] | None, options: FailureAnalysisOptions, *,
                 source: str = "") -> RunJob:
        """Validate everything and build the run; nothing is stored until it is launched."""
        if (trace_id is None) == (dataset is None):
            raise ValidationError("pass exactly one of trace_id=... (analyze a trace) or dataset=[...] "
                                  "(analyze {input, output, context, tool_calls} items)")
        analysis = AnalysisOptions.of(options, judge=self._client._judge(options.openai_api_key))
        validate_options(analysis)
        if trace_id is not None:
            normalized = _trace_id(trace_id)
            item = self._client.traces.reconstruct(normalized, timeout_s=self._client.config.trace_timeout_s)
            items = [cast(FAItem, item)]  # one item: no split was asked for
        else:
            normalized = None
            items = validate_dataset(dataset, max_field_chars=self._client.config.max_field_chars)
        spec = RunSpec(
            # a trace's run goes to the trace's project (its spans say which), unless the call names one
            project_name=(options.project_name or items[0].metadata.get(TraceFacts.PROJECT) if trace_id is not None
                          else options.project_name) or self._client.config.project_name,
            input_type="trace" if trace_id is not None else "dataset", options=analysis, trace_id=normalized,
            source=source, recorded_options=analysis.recorded(),
        )
        return RunJob(spec, items, self._client.run_store, clock=self._clock)

    @staticmethod
    def _job_request(job: RunJob, options: FailureAnalysisOptions) -> JobRequest:
        """What another server replica needs to run ``job`` (see valiqor_trace/analyzer/runs/_jobs.py): never the key."""
        return JobRequest(input_type=job.spec.input_type, trace_id=job.spec.trace_id, source=job.spec.source,
                          options=options.model_dump(mode="json"), items=job.items,
                          key_in_request=options.openai_api_key is not None)

    def _job_of(self, claimed: ClaimedJob, openai_api_key: str | None = None) -> RunJob:
        """The run of a job this replica claimed, with this replica's judge (or the request's key, which only
        the replica that received the request holds).

        Raises:
            ValidationError: the options cannot run here (a mandatory category needs a judge this replica lacks).
        """
        request = claimed.request
        with option_errors():
            options = FailureAnalysisOptions.model_validate(request.options)
        analysis = AnalysisOptions.of(options, judge=self._client._judge(openai_api_key))
        validate_options(analysis)
        spec = RunSpec(project_name=claimed.project_name, input_type=request.input_type, options=analysis,
                       trace_id=request.trace_id, source=request.source, run_id=claimed.run_id,
                       recorded_options=analysis.recorded())
        return RunJob(spec, list(request.items), self._client.run_store, clock=self._clock,
                      created_ns=claimed.created_ns, lease_owner=claimed.owner, attempts=claimed.attempts)

    def playground(self, input_text: str, output_text: str, context: list[str] | None = None, *,
                   tool_calls: list[dict[str, Any]] | None = None, openai_api_key: str | None = None) -> FAResult:
        """Analyze one input/output pair; limited to 2 calls a minute and 10 a day.

        Raises:
            RateLimitError: over the limit; ``retry_after_s`` says when a call is allowed again.
        """
        item = {"input": input_text, "output": output_text, "context": context, "tool_calls": tool_calls}
        validate_dataset([item], max_field_chars=self._client.config.max_field_chars)  # before using a slot
        with option_errors():
            options = FailureAnalysisOptions(run_scan=False, openai_api_key=openai_api_key)
        now_ns = int(self._clock() * 1e9)
        wait_ns = self._client.run_store.take_rate_slot("playground", now_ns, PLAYGROUND_LIMITS)
        if wait_ns is not None:
            retry_after = round(wait_ns / 1e9, 1)
            raise RateLimitError(f"playground is limited to 2 calls a minute and 10 a day; try again in "
                                 f"{retry_after:.0f}s (use failure_analysis.run(dataset=[...]) for more)",
                                 retry_after_s=retry_after)
        job = self._prepare(None, [item], options, source="playground")
        return launch(job, background=False).result()

    # -- reading ---------------------------------------------------------------------

    def get_result(self, run_id: str, *, include_passing: bool = True) -> FAResult:
        """The stored result of a finished run.

        ``include_passing=False``: ``failure_tags`` holds only the failing and unsure tags (what a report
        shows), which reads a big run many times faster; the summary still counts every tag.
        """
        result = self._client.run_store.get_result(run_id, include_passing=include_passing)
        if result is None:
            status = self.get_status(run_id)
            raise NotFoundError(f"run {run_id} has no result: it is {status.status}"
                                + (f" ({status.error})" if status.error else ""))
        return result

    def get_status(self, run_id: str) -> RunStatus:
        """Status and progress of any stored run, whichever process runs it (progress there is written at
        most every 0.5 s or 1,000 items, so it may lag the running process by that much)."""
        row = self._client.run_store.get_status_row(run_id)
        if row is None:
            where = self._runs_where or f"in {self._client.run_store.path}"
            raise NotFoundError(f"no run {run_id!r} {where}; list runs with failure_analysis.list_runs()")
        # items_done is written by the running process (throttled) and, final, with the result: a cancelled
        # run reads the items it analyzed, not its dataset size
        return RunStatus.counting(run_id, row["status"], row["items_done"], row["total_items"], row["error"],
                                  attempts=row["attempts"])

    def list_runs(self, project_name: str | None = None, limit: int = 50, offset: int = 0, *,
                  trace_id: str | None = None, source: str | None = None,
                  since: str | datetime | None = None) -> list[RunInfo]:
        """Past runs, newest first: of every project, or of ``project_name``.

        Args:
            trace_id: only the runs of this trace.
            source: only runs of ``"dataset"``, ``"trace"``, ``"monitor"`` or ``"playground"`` input.
            since: only runs created since then: ``"24h"``, ``"7d"`` (back from now), an ISO 8601 date or
                time (UTC unless it names a zone), or a datetime.
        """
        _check_paging(limit, offset)
        return self._client.run_store.list_runs(limit=limit, offset=offset,
                                                **self._run_filters(project_name, trace_id, source, since))

    def count_runs(self, project_name: str | None = None, *, trace_id: str | None = None,
                   source: str | None = None, since: str | datetime | None = None) -> int:
        """How many runs :meth:`list_runs` would list with the same filters (and no limit)."""
        return self._client.run_store.count_runs(**self._run_filters(project_name, trace_id, source, since))

    def _run_filters(self, project_name: str | None, trace_id: str | None, source: str | None,
                     since: str | datetime | None) -> dict[str, Any]:
        if source is not None and source not in RUN_SOURCES:
            raise ValidationError(f"source must be one of {', '.join(RUN_SOURCES)}, got {source!r}")
        return {"project_name": project_name, "source": source,
                "trace_id": None if trace_id is None else _trace_id(trace_id),
                "since_ns": None if since is None else since_ns(since, int(self._clock() * 1e9))}

    def list_alerts(self, project_name: str | None = None, *, since: str | datetime | None = None,
                    limit: int = 50) -> list[AlertRecord]:
        """The production monitor's alert decisions, newest first: sent, suppressed by the cooldown, or failed.

        Args:
            project_name: only this project's alerts (default: every project).
            since: only alerts since then (as for :meth:`list_runs`).
            limit: at most this many (1 to 1000).
        """
        _check_paging(limit, 0)
        return self._client.run_store.list_alerts(
            project_name=project_name, limit=limit,
            since_ns=None if since is None else since_ns(since, int(self._clock() * 1e9)))

    def get_run_inputs(self, run_id: str) -> list[RunInput]:
        """The items a run analyzed, with per-item stats."""
        self.get_status(run_id)
        return self._client.run_store.get_inputs(run_id)

    def get_tags(self, run_id: str, decision: str | None = None) -> list[FailureTag]:
        """The tags of a run (all, or only ``decision="fail"``/``"unsure"``/``"pass"``)."""
        self.get_status(run_id)
        return self._client.run_store.get_tags(run_id, decision=decision)

    def get_taxonomy(self) -> list[dict[str, Any]]:
        return taxonomy.get_taxonomy()

    def get_subcategories(self, bucket_id: str | None = None, scope: str | None = None,
                          detector_type: str | None = None) -> list[dict[str, Any]]:
        return taxonomy.get_subcategories(bucket_id=bucket_id, scope=scope, detector_type=detector_type)

    def get_bucket_details(self, bucket_id: str) -> dict[str, Any]:
        return taxonomy.get_bucket_details(bucket_id)

    def get_insights(self, project_name: str | None = None, period: str = "30d") -> dict[str, Any]:
        """Top failures, failure rate and severity over a period ("7d", "30d", "90d")."""
        runs, tags = self._period_data(project_name, period)
        return _insights.insights(runs, tags, period)

    def get_trends(self, period: str = "7d", project_name: str | None = None) -> dict[str, Any]:
        """One point per day: runs, items, failures, average severity."""
        runs, tags = self._period_data(project_name, period)
        since = _insights.period_start_ns(period, int(self._clock() * 1e9))
        alerts = self._client.run_store.list_alerts(project_name=project_name or self._client.config.project_name,
                                                    since_ns=since, limit=None)
        return _insights.trends(runs, tags, period, int(self._clock() * 1e9), alerts)

    def get_security_insights(self, project_name: str | None = None, period: str = "30d") -> dict[str, Any]:
        """Per security category (S1, S2, ...), how many runs passed and failed."""
        from valiqor_trace.analyzer.fa.security import SECURITY_CATEGORIES

        runs, _ = self._period_data(project_name, period, with_tags=False)
        names = {code: category["name"] for code, category in SECURITY_CATEGORIES.items()}
        return _insights.security_insights(runs, names, period)

    def _period_data(self, project_name: str | None, period: str, *, with_tags: bool = True) -> tuple[list, list]:
        since = _insights.period_start_ns(period, int(self._clock() * 1e9))
        project = project_name or self._client.config.project_name
        store = self._client.run_store
        runs = store.runs_since(since, project_name=project)
        return runs, (store.tags_since(since, project_name=project) if with_tags else [])


def _trace_id(value: str) -> str:
    try:
        return normalize_trace_id(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _check_paging(limit: int, offset: int) -> None:
    if not isinstance(limit, int) or limit < 1 or not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"limit must be >= 1 and offset >= 0 (got limit={limit!r}, offset={offset!r})")
