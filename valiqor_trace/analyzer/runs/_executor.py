"""Executing a run: analyze items (in parallel when a judge is asked), report progress, honour cancel, store.

``run()`` and ``run_async()`` share this path: ``run()`` is ``run_async().wait()``,
so both return the same result for the same input. Progress is kept in memory for
the handle and written to the run store now and then (:class:`ProgressThrottle`),
so ``get_status`` in another process reads it too.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from valiqor_trace.errors import AuthenticationError, RunFailedError, RunNotFinishedError
from valiqor_trace.analyzer.fa.engine import AnalysisOptions, analyze_item, needs_judge, summarize
from valiqor_trace.analyzer.fa.models import ItemAnalysis
from valiqor_trace.analyzer.fa.summary import aggregate_eval_metrics, aggregate_security_flags
from valiqor_trace.analyzer.models import FAItem, TraceFacts
from valiqor_trace.analyzer.runs._models import FINISHED_STATES, Cost, FAResult, RunInput, RunState, RunStatus
from valiqor_trace.analyzer.runs._progress import ProgressThrottle
from valiqor_trace.analyzer.runs._store import RunStore, skipped

ProgressCallback = Callable[[RunStatus], None]


def new_run_id() -> str:
    return f"run_{uuid.uuid4().hex[:20]}"


@dataclass
class RunSpec:
    """Everything a run needs besides its items."""

    project_name: str
    input_type: str  # dataset | trace
    options: AnalysisOptions
    trace_id: str | None = None
    source: str = ""  # one of RUN_SOURCES; empty: the input type (dataset | trace)
    run_id: str = field(default_factory=new_run_id)
    recorded_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.source = self.source or self.input_type


class RunJob:
    """One run in progress; thread-safe status for handles to read.

    Args:
        clock: wall-clock seconds, for ``created_at``.
        progress_throttle: when progress goes to the store (default: :class:`ProgressThrottle`).
        created_ns: when the run was created (a job claimed from the store keeps its own), else now.
        lease_owner: a server job's lease owner: its outcome is stored only while that owner holds it.
        attempts: how many times a replica started the job (this start included).
    """

    def __init__(self, spec: RunSpec, items: list[FAItem], store: RunStore,
                 clock: Callable[[], float] = time.time, *,
                 progress_throttle: ProgressThrottle | None = None, created_ns: int | None = None,
                 lease_owner: str | None = None, attempts: int = 1) -> None:
        self.spec = spec
        self.items = items
        self.store = store
        self.clock = clock
        self._throttle = progress_throttle or ProgressThrottle()
        self.cancel_requested = threading.Event()
        # a job this process gives up (its lease was lost, or the server stops): stop, store nothing
        self.abandoned = threading.Event()
        self.lease_owner = lease_owner
        self.attempts = attempts
        self.done = threading.Event()
        self.processed = 0
        self.state: RunState = "queued"
        self.result: FAResult | None = None
        self.error: str | None = None
        self.exception: AuthenticationError | None = None  # a refused judge key: raised as is by result()
        self._lock = threading.Lock()
        self.created_s = clock() if created_ns is None else created_ns / 1e9
        self.created_ns = int(self.created_s * 1e9) if created_ns is None else created_ns

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def created_at(self) -> str:
        return datetime.fromtimestamp(self.created_s, timezone.utc).isoformat()

    def status(self) -> RunStatus:
        with self._lock:
            return RunStatus.counting(self.run_id, self.state, self.processed, len(self.items), self.error,
                                      attempts=self.attempts)

    def _count_done(self) -> None:
        """One more item analyzed: for the handle now, for the store when the throttle says so."""
        with self._lock:
            self.processed += 1
            done = self.processed
        if self._throttle.due(done, len(self.items)):
            self.store.set_progress(self.run_id, done, lease_owner=self.lease_owner)

    def start(self) -> None:
        """Record the run as running (so it is listed) before any work happens."""
        self.store.start_run(
            run_id=self.run_id, project_name=self.spec.project_name, input_type=self.spec.input_type,
            feature_kind=self.spec.options.feature_kind, trace_id=self.spec.trace_id, source=self.spec.source,
            created_at=self.created_at, created_ns=self.created_ns,
            total_items=len(self.items), options=self.spec.recorded_options)
        with self._lock:
            self.state = "running"

    def execute(self) -> None:
        """Analyze every item (until cancelled) and store the outcome. Never raises."""
        started = time.perf_counter()
        try:
            workers = _judge_concurrency(self.spec.options)
            analyses = self._analyze_concurrently(workers) if workers > 1 else self._analyze_in_order()
            if self.abandoned.is_set():
                return  # another replica runs it (or will): storing a partial result here would end it twice
            cancelled = len(analyses) < len(self.items)
            result = self._build_result(analyses, cancelled, (time.perf_counter() - started) * 1000)
            if not self.store.finish_run(result, self.created_ns, lease_owner=self.lease_owner):
                self.abandoned.set()  # the lease was lost meanwhile: the run's new owner stores it
                return
            with self._lock:
                self.result, self.state = result, result.status
        except Exception as exc:  # a bug in a detector must fail this run, not the caller's process
            if self.abandoned.is_set():
                return
            message = f"run {self.run_id} failed: {type(exc).__name__}: {exc}"
            self.store.fail_run(self.run_id, message, lease_owner=self.lease_owner)
            with self._lock:
                self.state, self.error = "failed", message
                self.exception = exc if isinstance(exc, AuthenticationError) else None
        finally:
            self.done.set()

    def _stopping(self) -> bool:
        """Checked at each progress point: cancelled (here, or in the run's row on another replica), or given up."""
        return self.cancel_requested.is_set() or self.abandoned.is_set()

    def _analyze_in_order(self) -> list[ItemAnalysis]:
        """The deterministic path: one item after another on this thread (no pool overhead)."""
        analyses: list[ItemAnalysis] = []
        for index, item in enumerate(self.items):
            if self._stopping():
                break
            analyses.append(analyze_item(item, index, self.spec.options, run_id=self.run_id))
            self._count_done()
        return analyses

    def _analyze_concurrently(self, workers: int) -> list[ItemAnalysis]:
        """With a judge: up to ``workers`` items at once, since each waits on a judge request.

        At most ``2 * workers`` items are submitted ahead, so a cancel stops new work at once;
        items already started finish and are kept. Progress counts finished items, so it only
        grows; results come back in item order. The first error stops submitting and is raised
        once the items in flight are done.
        """
        finished: dict[int, ItemAnalysis] = {}
        upcoming = iter(enumerate(self.items))
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"valiqor-{self.run_id}") as pool:
            pending: set[Future[ItemAnalysis]] = set()
            while True:
                while error is None and len(pending) < 2 * workers and not self._stopping():
                    nxt = next(upcoming, None)
                    if nxt is None:
                        break
                    pending.add(pool.submit(analyze_item, nxt[1], nxt[0], self.spec.options, run_id=self.run_id))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    if future.exception() is not None:
                        error = error or future.exception()
                        continue
                    analysis = future.result()
                    finished[analysis.item_index] = analysis
                    self._count_done()
        if error is not None:
            raise error
        return [finished[index] for index in sorted(finished)]

    def _build_result(self, analyses: list[ItemAnalysis], cancelled: bool, duration_ms: float) -> FAResult:
        spec = self.spec
        summary = summarize(analyses, spec.options.thresholds)
        tags = [tag for analysis in analyses for tag in analysis.tags]
        kinds = Counter(analysis.feature_kind for analysis in analyses)
        # Mandatory metrics and categories run even with run_eval / run_security off: the items carry
        # exactly what ran, so the run level reports what they carry.
        evaluated = spec.options.run_eval or bool(spec.options.mandatory_eval_metrics)
        audited = spec.options.run_security or bool(spec.options.mandatory_security_categories)
        inputs = [_run_input(self.items[a.item_index], a, spec.input_type == "dataset") for a in analyses]
        return FAResult(
            run_id=self.run_id, status="cancelled" if cancelled else "completed", project_name=spec.project_name,
            input_type=spec.input_type,  # type: ignore[arg-type]
            feature_kind=spec.options.feature_kind or (kinds.most_common(1)[0][0] if kinds else None),
            summary=summary, failure_tags=tags,
            eval_run_id=f"eval_{self.run_id[4:]}" if evaluated else None,
            eval_metrics=aggregate_eval_metrics(analyses),
            security_batch_id=f"sec_{self.run_id[4:]}" if audited else None,
            security_flags=aggregate_security_flags(analyses),
            detectors_run=list(dict.fromkeys(d for a in analyses for d in a.detectors_run)),
            detectors_skipped=skipped(s for a in analyses for s in a.detectors_skipped),
            duration_ms=round(duration_ms, 3), tokens_used=sum(a.tokens_used for a in analyses),
            created_at=self.created_at, trace_id=spec.trace_id,
            inputs=inputs, partial=cancelled, source=spec.source,
            cost=Cost.total([item.cost for item in inputs if item.cost is not None]),
        )


def _judge_concurrency(options: AnalysisOptions) -> int:
    """How many items to analyze at once: the judge's concurrency when one will be asked, else 1
    (deterministic work gains nothing from threads: it holds the GIL)."""
    if not needs_judge(options):
        return 1
    try:
        return max(1, int(getattr(options.judge, "concurrency", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _run_input(item: FAItem, analysis: ItemAnalysis, from_dataset: bool) -> RunInput:
    failing = [tag for tag in analysis.tags if tag.decision == "fail"]
    return RunInput(
        item_index=analysis.item_index, input=item.input, output=item.output, context=item.context,
        tool_calls=[call.model_dump(exclude_none=True) for call in item.tool_calls], trace_id=item.trace_id,
        feature_kind=analysis.feature_kind, failures=len(failing),
        max_severity=max((tag.severity for tag in failing), default=0.0),
        root_missing=bool(item.metadata.get(TraceFacts.ROOT_MISSING)),
        metadata=dict(item.metadata) if from_dataset else {},
        cost=_item_cost(item),
    )


def _item_cost(item: FAItem) -> Cost | None:
    fact = item.metadata.get(TraceFacts.COST)
    if not isinstance(fact, dict):
        return None  # a dataset item, or one rebuilt before costs were read
    try:
        return Cost.model_validate(fact)
    except ValueError:  # metadata a user wrote by hand: no cost rather than a failed run
        return None


class RunHandle:
    """Control of an asynchronous run: ``status()``, ``wait()``, ``result()``, ``cancel()``."""

    def __init__(self, job: RunJob, thread: threading.Thread | None) -> None:
        self._job = job
        self._thread = thread

    @property
    def run_id(self) -> str:
        return self._job.run_id

    def status(self) -> RunStatus:
        """Status, progress_percent, current_item and total_items, right now."""
        return self._job.status()

    def is_running(self) -> bool:
        return self._job.status().status not in FINISHED_STATES

    def cancel(self) -> RunStatus:
        """Stop after the item(s) being analyzed; what was analyzed is kept (``partial=True``)."""
        self._job.cancel_requested.set()
        return self._job.status()

    def wait(self, on_progress: ProgressCallback | None = None, *, timeout: float | None = None,
             poll_interval: float = 0.1) -> FAResult:
        """Block until the run ends, calling ``on_progress`` with each new status; return the result.

        Raises:
            TimeoutError: ``timeout`` seconds passed first (the run goes on).
            RunFailedError: the run failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        last: tuple[str, int] | None = None
        while True:
            finished = self._job.done.wait(poll_interval)
            status = self._job.status()
            if on_progress is not None and (status.status, status.current_item) != last:
                last = (status.status, status.current_item)
                on_progress(status)
            if finished:
                return self.result()
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"run {self.run_id} is still {status.status} after {timeout}s "
                                   f"({status.current_item}/{status.total_items} items)")

    def result(self) -> FAResult:
        """The result of a finished run (partial for a cancelled one).

        Raises:
            RunNotFinishedError: the run goes on; ``wait()`` for it, or poll ``is_running()`` first.
            RunFailedError: the run failed.
        """
        if not self._job.done.is_set():
            status = self._job.status()
            raise RunNotFinishedError.of_run(status.run_id, status.status, status.current_item, status.total_items)
        if self._job.result is None:
            if self._job.exception is not None:  # a refused judge key: the error that names the key's source
                raise self._job.exception
            raise RunFailedError(self._job.error or f"run {self.run_id} failed")
        return self._job.result


def launch(job: RunJob, *, background: bool) -> RunHandle:
    """Start ``job``: in a daemon thread, or on the calling thread (``background=False``)."""
    job.start()
    if not background:
        job.execute()
        return RunHandle(job, None)
    thread = threading.Thread(target=job.execute, name=f"valiqor-{job.run_id}", daemon=True)
    thread.start()
    return RunHandle(job, thread)
