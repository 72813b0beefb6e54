"""FA in separate processes (``MonitorConfig(executor="process")``), so analysis never holds the app's GIL.

Each worker thread of the monitor borrows one child process (``python -m
valiqor_trace.analyzer.monitor._child``), writes one request line and blocks on the answer line;
blocking on a pipe releases the GIL, so the app's threads run freely while FA runs on
another core. Plain subprocesses rather than ``multiprocessing``: no re-import of the
app's ``__main__`` in the children, nothing inherited through ``fork`` from a threaded app.
A child that dies loses the analysis in flight (the worker logs and counts it) and is
replaced on the next request.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from typing import IO, Any

from valiqor_trace.analyzer.fa.engine import AnalysisOptions
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.runs import FAResult, RunSpec, RunStore
from valiqor_trace.errors import RunFailedError


def options_spec(options: AnalysisOptions, project_name: str) -> dict[str, Any]:
    """The JSON form of ``options`` the child rebuilds them from: every option (the model's dump, so none
    is forgotten), the judge as a flag (it may hold a key) and the project whose client builds it."""
    return {"options": options.recorded(), "judge": options.judge is not None, "project_name": project_name}


class _Child:
    def __init__(self, setup: dict[str, Any]) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the app's view of our packages
        self.process = subprocess.Popen(
            [sys.executable, "-m", "valiqor_trace.analyzer.monitor._child"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", env=env, bufsize=1)
        self._send(setup)
        ready = self._receive()
        if not ready.get("ready"):
            raise RuntimeError(f"the analysis process did not start: {ready}")

    def _send(self, message: dict[str, Any]) -> None:
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdin.write(json.dumps(message) + "\n")
        stdin.flush()

    def _receive(self) -> dict[str, Any]:
        line = self.process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            code = self.process.wait(timeout=5)
            raise RuntimeError(f"the analysis process exited (code {code})")
        return json.loads(line)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        self._send(request)
        return self._receive()

    def close(self, timeout_s: float = 2.0) -> None:
        try:
            self.process.stdin.close()  # type: ignore[union-attr]
            self.process.wait(timeout=timeout_s)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


class ProcessFA:
    """The ``fa`` collaborator of :class:`~valiqor_trace.analyzer.monitor.TraceAnalysis`: FA in child processes.

    The child stores the full run; the result it returns carries the summary and the ``fail``/``unsure``
    tags only (what the verdict and the alerts need), without the pass tags and the inputs.

    Args:
        options: the FA options (rebuilt in each child from :func:`options_spec`).
        run_store_path: the run store the children write (SQLite; several processes may share it).
        project_name: default project (for the judge's client settings).
        processes: at most this many children (one per monitor worker thread).
    """

    def __init__(self, options: AnalysisOptions, *, run_store_path: str, project_name: str,
                 processes: int = 1) -> None:
        self._setup = {"run_store_path": run_store_path, "options": options_spec(options, project_name)}
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()
        self._slots = threading.Semaphore(processes)
        self._children: list[_Child] = []
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, spec: RunSpec, items: list[FAItem], store: RunStore) -> FAResult:
        request = {"spec": {"project_name": spec.project_name, "trace_id": spec.trace_id, "run_id": spec.run_id,
                            "source": spec.source, "recorded_options": spec.recorded_options},
                   "items": [item.model_dump(mode="json") for item in items]}
        with self._slots:
            child = self._borrow()
            try:
                answer = child.ask(request)
            except BaseException:
                self._discard(child)
                raise
            self._idle.put(child)
        if not answer.get("ok"):
            raise RunFailedError(answer.get("error") or f"run {spec.run_id} failed in the analysis process")
        return FAResult.model_validate(answer["result"])

    def _borrow(self) -> _Child:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        if self._closed:
            raise RuntimeError("the monitor is shutting down")
        child = _Child(self._setup)
        with self._lock:
            self._children.append(child)
        return child

    def _discard(self, child: _Child) -> None:
        with self._lock:
            if child in self._children:
                self._children.remove(child)
        child.process.kill()

    def close(self) -> None:
        """Stop every child (they also stop by themselves when this process exits)."""
        self._closed = True
        with self._lock:
            children, self._children = self._children, []
        for child in children:
            child.close()
