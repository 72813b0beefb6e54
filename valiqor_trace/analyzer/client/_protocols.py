"""What ``client.failure_analysis`` and ``client.traces`` offer, whichever mode the client is in.

An embedded client (no ``base_url``) and a remote one answer with different classes
(``FailureAnalysisAPI`` / ``RemoteFailureAnalysisAPI``, ``TracesAPI`` / ``RemoteTracesAPI``); these
protocols are their common type, the one ``ValiqorClient`` declares, so a type checker sees every
method and its signature in both modes. mypy checks that both classes satisfy them (``ValiqorClient``
returns either as the protocol); ``tests/analyzer/client/test_protocols.py`` checks that each has
exactly these public methods, with these signatures.

The ``run`` / ``run_async`` options are :class:`~valiqor_trace.analyzer.fa.options.FailureAnalysisOptions`'
fields, spelled out as keywords so that IDEs and ``help()`` show them.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # only type checkers read these: importing the client stays as cheap as it was
    import os
    from collections.abc import Sequence
    from datetime import datetime

    from valiqor_trace.analyzer.fa.models import FailureTag, Thresholds
    from valiqor_trace.analyzer.models import FAItem
    from valiqor_trace.analyzer.runs import AlertRecord, FAResult, RunInfo, RunInput, RunStatus
    from valiqor_trace.analyzer.runs._executor import ProgressCallback
    from valiqor_trace.analyzer.sources import ImportResult, TraceSource
    from valiqor_trace.store import SpanRecord, TraceSummary

__all__ = ["FailureAnalysis", "FailureAnalysisRun", "Traces"]


class FailureAnalysisRun(Protocol):
    """A run started by ``run_async()``: ``RunHandle`` (embedded) or ``RemoteRunHandle`` (remote)."""

    @property
    def run_id(self) -> str: ...

    def status(self) -> RunStatus: ...

    def is_running(self) -> bool: ...

    def cancel(self) -> RunStatus: ...

    def wait(self, on_progress: ProgressCallback | None = None, *, timeout: float | None = None,
             poll_interval: float = 0.1) -> FAResult: ...

    def result(self) -> FAResult: ...


class FailureAnalysis(Protocol):
    """``client.failure_analysis``: run Failure Analysis, read its history, its taxonomy and insights."""

    def run(self, trace_id: str | None = None, dataset: Sequence[Any] | None = None, *,
            project_name: str | None = None, feature_kind: str | None = None, run_eval: bool = True,
            run_security: bool = True, run_scan: bool = True, mandatory_eval_metrics: list[str] | None = None,
            mandatory_security_categories: list[str] | None = None, subcategories: list[str] | None = None,
            buckets: list[str] | None = None, openai_api_key: str | None = None,
            thresholds: Thresholds | None = None) -> FAResult: ...

    def run_async(self, trace_id: str | None = None, dataset: Sequence[Any] | None = None, *,
                  project_name: str | None = None, feature_kind: str | None = None, run_eval: bool = True,
                  run_security: bool = True, run_scan: bool = True, mandatory_eval_metrics: list[str] | None = None,
                  mandatory_security_categories: list[str] | None = None, subcategories: list[str] | None = None,
                  buckets: list[str] | None = None, openai_api_key: str | None = None,
                  thresholds: Thresholds | None = None) -> FailureAnalysisRun: ...

    def playground(self, input_text: str, output_text: str, context: list[str] | None = None, *,
                   tool_calls: list[dict[str, Any]] | None = None, openai_api_key: str | None = None) -> FAResult: ...

    def get_result(self, run_id: str, *, include_passing: bool = True) -> FAResult: ...

    def get_status(self, run_id: str) -> RunStatus: ...

    def list_runs(self, project_name: str | None = None, limit: int = 50, offset: int = 0, *,
                  trace_id: str | None = None, source: str | None = None,
                  since: str | datetime | None = None) -> list[RunInfo]: ...

    def count_runs(self, project_name: str | None = None, *, trace_id: str | None = None,
                   source: str | None = None, since: str | datetime | None = None) -> int: ...

    def list_alerts(self, project_name: str | None = None, *, since: str | datetime | None = None,
                    limit: int = 50) -> list[AlertRecord]: ...

    def get_run_inputs(self, run_id: str) -> list[RunInput]: ...

    def get_tags(self, run_id: str, decision: str | None = None) -> list[FailureTag]: ...

    def get_taxonomy(self) -> list[dict[str, Any]]: ...

    def get_subcategories(self, bucket_id: str | None = None, scope: str | None = None,
                          detector_type: str | None = None) -> list[dict[str, Any]]: ...

    def get_bucket_details(self, bucket_id: str) -> dict[str, Any]: ...

    def get_insights(self, project_name: str | None = None, period: str = "30d") -> dict[str, Any]: ...

    def get_trends(self, period: str = "7d", project_name: str | None = None) -> dict[str, Any]: ...

    def get_security_insights(self, project_name: str | None = None, period: str = "30d") -> dict[str, Any]: ...


class Traces(Protocol):
    """``client.traces``: import, read and reconstruct traces.

    An embedded client's ``TracesAPI`` also has ``store``, ``sources`` and ``close()`` (its local store);
    a remote client reads the server's store, and its ``add_source`` says so.
    """

    def add_source(self, source: TraceSource) -> None: ...

    def import_file(self, path: str | os.PathLike[str]) -> ImportResult: ...

    def get(self, trace_id: str, *, timeout_s: float = 0.0) -> builtins.list[SpanRecord]: ...

    def reconstruct(self, trace_id: str, *, split: str | None = None,
                    timeout_s: float = 5.0) -> FAItem | builtins.list[FAItem]: ...  # traces_api.DEFAULT_TIMEOUT_S

    def list(self, *, project_name: str | None = None, start_ns: int | None = None, end_ns: int | None = None,
             has_error: bool | None = None, limit: int = 50, offset: int = 0,
             include_verdicts: bool = True) -> builtins.list[TraceSummary]: ...
