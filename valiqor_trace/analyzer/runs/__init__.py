"""FA runs: their models, their SQLite store and their execution."""

from __future__ import annotations

from valiqor_trace.analyzer.runs._jobs import ClaimedJob, JobQueue, JobRequest, new_owner_id
from valiqor_trace.analyzer.runs._executor import RunHandle, RunJob, RunSpec, launch, new_run_id
from valiqor_trace.analyzer.runs._models import AlertRecord, Cost, FAResult, RunInfo, RunInput, RunStatus, format_usd
from valiqor_trace.analyzer.runs._progress import ProgressThrottle
from valiqor_trace.analyzer.runs._store import RunStore

__all__ = [
    "AlertRecord",
    "ClaimedJob",
    "Cost",
    "FAResult",
    "JobQueue",
    "JobRequest",
    "ProgressThrottle",
    "RunHandle",
    "RunInfo",
    "RunInput",
    "RunJob",
    "RunSpec",
    "RunStatus",
    "RunStore",
    "launch",
    "format_usd",
    "new_owner_id",
    "new_run_id",
]
