"""``client.failure_analysis`` in remote mode: the same methods as embedded, over HTTP.

A run is ``POST /api/v1/fa/runs``. The server answers 200 with the result
when the run ends within ``sync_wait_s``, else 202 with the run id; ``run()``
then polls the run's status (logging progress) until it ends and fetches the
result, so callers never see the difference.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from valiqor_trace.analyzer.client._remote._http import RemoteSession
from valiqor_trace.errors import RunNotFinishedError, ValidationError
from valiqor_trace.analyzer.fa.models import FailureTag, Thresholds
from valiqor_trace.analyzer.fa.options import FailureAnalysisOptions, option_errors
from valiqor_trace.analyzer.runs import AlertRecord, FAResult, RunInfo, RunInput, RunStatus
from valiqor_trace.errors import RunFailedError
from valiqor_trace.analyzer.runs._models import FINISHED_STATES

logger = logging.getLogger("valiqor_trace.client")
API = "/api/v1/fa"
SYNC_WAIT_S = 10.0
ProgressCallback = Callable[[RunStatus], None]


class RemoteRunHandle:
    """Control of a run on the server: ``status()``, ``wait()``, ``result()``, ``cancel()`` (as embedded)."""

    def __init__(self, session: RemoteSession, status: RunStatus) -> None:
        self._session = session
        self._last = status

    @property
    def run_id(self) -> str:
        return self._last.run_id

    def status(self) -> RunStatus:
        """Status, progress_percent, current_item and total_items, right now (one request)."""
        self._last = RunStatus.model_validate(self._session.request("GET", f"{API}/runs/{self.run_id}"))
        return self._last

    def is_running(self) -> bool:
        return self.status().status not in FINISHED_STATES

    def cancel(self) -> RunStatus:
        """Stop after the item being analyzed; what was analyzed is kept (``partial=True``)."""
        self._last = RunStatus.model_validate(self._session.request("POST", f"{API}/runs/{self.run_id}/cancel"))
        return self._last

    def wait(self, on_progress: ProgressCallback | None = None, *, timeout: float | None = None,
             poll_interval: float = 0.1) -> FAResult:
        """Poll until the run ends, calling ``on_progress`` with each new status; return the result.

        Raises:
            TimeoutError: ``timeout`` seconds passed first (the run goes on).
            RunFailedError: the run failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: tuple[str, int] | None = None
        interval = poll_interval
        while True:
            status = self.status()
            if (status.status, status.current_item) != seen:
                seen = (status.status, status.current_item)
                logger.info("run %s: %s %d/%d", status.run_id, status.status, status.current_item,
                            status.total_items)
                if on_progress is not None:
                    on_progress(status)
            if status.status in FINISHED_STATES:
                return self.result()
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {self.run_id} is still {status.status} after {timeout}s "
                                   f"({status.current_item}/{status.total_items} items)")
            time.sleep(interval)
            interval = min(interval * 1.5, 2.0)  # gentle on the server during long runs

    def result(self) -> FAResult:
        """The result of a finished run (partial for a cancelled one).

        Raises:
            RunNotFinishedError: the run goes on; ``wait()`` for it, or poll ``is_running()`` first.
            RunFailedError: the run failed.
        """
        status = self._last if self._last.status in FINISHED_STATES else self.status()
        if status.status not in FINISHED_STATES:
            raise RunNotFinishedError.of_run(status.run_id, status.status, status.current_item, status.total_items)
        if status.status == "failed":
            raise RunFailedError(status.error or f"run {self.run_id} failed")
        return FAResult.model_validate(self._session.request("GET", f"{API}/runs/{self.run_id}/result"))


class RemoteFailureAnalysisAPI:
    """``failure_analysis`` of a client with ``base_url``: the embedded API's methods, served remotely."""

    def __init__(self, session: RemoteSession, project_name: str) -> None:
        self._session = session
        self._project = project_name

    def run(self, trace_id: str | None = None, dataset: Sequence[Any] | None = None, *,
            project_name: str | None = None, feature_kind: str | None = None, run_eval: bool = True,
            run_security: bool = True, run_scan: bool = True, mandatory_eval_metrics: list[str] | None = None,
            mandatory_security_categories: list[str] | None = None, subcategories: list[str] | None = None,
            buckets: list[str] | None = None, openai_api_key: str | None = None,
            thresholds: Thresholds | None = None) -> FAResult:
        """Analyze a trace or a dataset on the server and return the result (see the embedded ``run``)."""
        with option_errors():
            options = FailureAnalysisOptions(
                project_name=project_name, feature_kind=feature_kind, run_eval=run_eval, run_security=run_security,
                run_scan=run_scan, mandatory_eval_metrics=mandatory_eval_metrics,
                mandatory_security_categories=mandatory_security_categories, subcategories=subcategories,
                buckets=buckets, openai_api_key=openai_api_key, thresholds=thresholds)
        body = _run_body(trace_id, dataset, options, self._project, wait_s=SYNC_WAIT_S)
        answer = self._session.request("POST", f"{API}/runs", json=body, wait_s=SYNC_WAIT_S)
        if "summary" in answer:
            return FAResult.model_validate(answer)
        return RemoteRunHandle(self._session, RunStatus.model_validate(answer)).wait()

    def run_async(self, trace_id: str | None = None, dataset: Sequence[Any] | None = None, *,
                  project_name: str | None = None, feature_kind: str | None = None, run_eval: bool = True,
                  run_security: bool = True, run_scan: bool = True, mandatory_eval_metrics: list[str] | None = None,
                  mandatory_security_categories: list[str] | None = None, subcategories: list[str] | None = None,
                  buckets: list[str] | None = None, openai_api_key: str | None = None,
                  thresholds: Thresholds | None = None) -> RemoteRunHandle:
        """Start the run on the server; return its handle at once (bad input still raises here)."""
        with option_errors():
            options = FailureAnalysisOptions(
                project_name=project_name, feature_kind=feature_kind, run_eval=run_eval, run_security=run_security,
                run_scan=run_scan, mandatory_eval_metrics=mandatory_eval_metrics,
                mandatory_security_categories=mandatory_security_categories, subcategories=subcategories,
                buckets=buckets, openai_api_key=openai_api_key, thresholds=thresholds)
        body = _run_body(trace_id, dataset, options, self._project, wait_s=0.0)
        answer = self._session.request("POST", f"{API}/runs", json=body)
        return RemoteRunHandle(self._session, RunStatus.model_validate(answer))

    def playground(self, input_text: str, output_text: str, context: list[str] | None = None, *,
                   tool_calls: list[dict[str, Any]] | None = None, openai_api_key: str | None = None) -> FAResult:
        """Analyze one input/output pair; the server allows 2 calls a minute and 10 a day."""
        body = {"input_text": input_text, "output_text": output_text, "context": context, "tool_calls": tool_calls,
                "openai_api_key": openai_api_key}
        return FAResult.model_validate(self._session.request("POST", f"{API}/playground", json=body, wait_s=60))

    def get_result(self, run_id: str, *, include_passing: bool = True) -> FAResult:
        params = None if include_passing else {"include_passing": False}
        return FAResult.model_validate(self._session.request("GET", f"{API}/runs/{_path(run_id)}/result",
                                                             params=params))

    def get_status(self, run_id: str) -> RunStatus:
        return RunStatus.model_validate(self._session.request("GET", f"{API}/runs/{_path(run_id)}"))

    def list_runs(self, project_name: str | None = None, limit: int = 50, offset: int = 0, *,
                  trace_id: str | None = None, source: str | None = None,
                  since: str | datetime | None = None) -> list[RunInfo]:
        params = {"limit": limit, "offset": offset, **_run_filters(project_name, trace_id, source, since)}
        return _RUN_INFOS.validate_python(self._session.request("GET", f"{API}/runs", params=params))

    def count_runs(self, project_name: str | None = None, *, trace_id: str | None = None,
                   source: str | None = None, since: str | datetime | None = None) -> int:
        answer = self._session.request("GET", f"{API}/runs/count",
                                       params=_run_filters(project_name, trace_id, source, since))
        return int(answer["count"])

    def list_alerts(self, project_name: str | None = None, *, since: str | datetime | None = None,
                    limit: int = 50) -> list[AlertRecord]:
        params = {"limit": limit, **_run_filters(project_name, None, None, since)}
        return _ALERTS.validate_python(self._session.request("GET", f"{API}/alerts", params=params))

    def get_run_inputs(self, run_id: str) -> list[RunInput]:
        return _RUN_INPUTS.validate_python(self._session.request("GET", f"{API}/runs/{_path(run_id)}/inputs"))

    def get_tags(self, run_id: str, decision: str | None = None) -> list[FailureTag]:
        answer = self._session.request("GET", f"{API}/runs/{_path(run_id)}/tags", params={"decision": decision})
        return _TAGS.validate_python(answer)

    def get_taxonomy(self) -> list[dict[str, Any]]:
        return self._session.request("GET", f"{API}/taxonomy")

    def get_subcategories(self, bucket_id: str | None = None, scope: str | None = None,
                          detector_type: str | None = None) -> list[dict[str, Any]]:
        params = {"bucket_id": bucket_id, "scope": scope, "detector_type": detector_type}
        return self._session.request("GET", f"{API}/subcategories", params=params)

    def get_bucket_details(self, bucket_id: str) -> dict[str, Any]:
        return self._session.request("GET", f"{API}/buckets/{_path(bucket_id)}")

    def get_insights(self, project_name: str | None = None, period: str = "30d") -> dict[str, Any]:
        return self._session.request("GET", f"{API}/insights",
                                     params={"project_name": project_name or self._project, "period": period})

    def get_trends(self, period: str = "7d", project_name: str | None = None) -> dict[str, Any]:
        return self._session.request("GET", f"{API}/trends",
                                     params={"project_name": project_name or self._project, "period": period})

    def get_security_insights(self, project_name: str | None = None, period: str = "30d") -> dict[str, Any]:
        return self._session.request("GET", f"{API}/security-insights",
                                     params={"project_name": project_name or self._project, "period": period})


_RUN_INFOS = TypeAdapter(list[RunInfo])
_RUN_INPUTS = TypeAdapter(list[RunInput])
_TAGS = TypeAdapter(list[FailureTag])
_ALERTS = TypeAdapter(list[AlertRecord])


def _run_filters(project_name: str | None, trace_id: str | None, source: str | None,
                 since: str | datetime | None) -> dict[str, Any]:
    """The query of ``list_runs``/``count_runs``; the server checks the values (a relative ``since`` is
    counted back from the server's clock)."""
    return {"project_name": project_name, "trace_id": trace_id, "source": source,
            "since": since.isoformat() if isinstance(since, datetime) else since}


def _run_body(trace_id: str | None, dataset: Sequence[Any] | None, options: FailureAnalysisOptions,
              default_project: str, *, wait_s: float) -> dict[str, Any]:
    """The ``RunRequest`` JSON: every option, the input and ``wait_s``. The key is added by name: no dump has it."""
    body = options.model_dump(mode="json")
    # A trace's run goes to the trace's project unless one is named: the server knows the trace, so it decides.
    project = options.project_name or (None if trace_id is not None else default_project)
    body.update(project_name=project, openai_api_key=options.openai_api_key,
                trace_id=trace_id, dataset=None if dataset is None else _jsonable_dataset(dataset), wait_s=wait_s)
    return body


def _jsonable_dataset(dataset: Any) -> Any:
    """Dataset items as JSON values (FA items and other pydantic models are dumped; the server validates)."""
    if isinstance(dataset, (str, bytes)) or not isinstance(dataset, Sequence):
        return dataset  # the server names the problem, exactly as the embedded engine would
    return [item.model_dump(mode="json", exclude_defaults=True) if hasattr(item, "model_dump") else item
            for item in dataset]


def _path(segment: str) -> str:
    from urllib.parse import quote

    if not isinstance(segment, str) or not segment:
        raise ValidationError(f"expected a non-empty id, got {segment!r}")
    return quote(segment, safe="")
