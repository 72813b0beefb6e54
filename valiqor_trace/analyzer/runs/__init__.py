"""FA runs: their models, their SQLite store and their execution."""

from __future__ import annotations

from analyzer.errors import RunFailedError, RunNotFinishedError
from analyzer.runs._executor import RunHandle, RunJob, RunSpec, launch, new_run_id
from analyzer.runs._models import FAResult, RunInfo, RunInput, RunStatus
from analyzer.runs._progress import ProgressThrottle
from analyzer.runs._store import RunStore

__all__ = [
    "FAResult",
    "ProgressThrottle",
    "RunFailedError",
    "RunHandle",
    "RunInfo",
    "RunInput",
    "RunJob",
    "RunNotFinishedError",
    "RunSpec",
    "RunStatus",
    "RunStore",
    "launch",
    "new_run_id",
]
