"""The ASGI application of ``valiqor serve``: OTLP ingest (traces, logs), the FA REST API, OpenAPI, health,
and the web UI (:mod:`valiqor_trace.analyzer.server.ui`).

Starlette is the stack because the server is a handful of routes over
blocking SQLite and CPU-bound decoding: it gives routing, request streaming
and a thread pool with nothing else to configure, it is the base FastAPI and
Datasette-style tools build on, and it runs under any ASGI server (uvicorn
here). Validation and the OpenAPI document come from the pydantic models the
analyzer already has (see :mod:`valiqor_trace.analyzer.server._endpoints`), not from a
second framework's model layer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import multiprocessing
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from valiqor_trace.analyzer.client._client import ValiqorClient
from valiqor_trace.analyzer.client._failure_analysis import FailureAnalysisAPI
from valiqor_trace.analyzer.client._config import ClientConfig, resolve_client_config
from valiqor_trace.analyzer.server._api import ENDPOINTS, ApiState
from valiqor_trace.analyzer.server._auth import BearerAuth
from valiqor_trace.analyzer.server._endpoints import json_response
from valiqor_trace.analyzer.server._ingest import DEFAULT_MAX_BODY_BYTES, OtlpReceiver
from valiqor_trace.analyzer.server._openapi import build_openapi
from valiqor_trace.analyzer.server._otlp_decode import decode_body
from valiqor_trace.analyzer.server._runs import DEFAULT_LEASE_S, RunPool, fail_interrupted_runs
from valiqor_trace.analyzer.server._schemas import Health
from valiqor_trace.analyzer.server._writer import SpanWriter
from valiqor_trace.monitor import MonitorConfig, parse_monitor
from valiqor_trace.analyzer.server.ui import UI, SecurityHeaders, Sessions
from valiqor_trace.internal import VERSION, Pruned, RetentionSchedule, cutoff_of_days, parse_days, parse_dir_path

if TYPE_CHECKING:
    from valiqor_trace.analyzer.server._monitor import IngestMonitor

logger = logging.getLogger("valiqor_trace.server")


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one server.

    Args:
        data_dir: where ``traces.db`` and ``runs.db`` live (default: ``$VALIQOR_HOME``).
        database_url: a ``postgresql://`` URL: both stores live there instead (default:
            ``$VALIQOR_DATABASE_URL``), and several servers may share it (docs/deploy.md).
        api_keys: accepted bearer keys; empty: no auth (loopback only, unless insecure).
        project_name: project of runs that name none.
        max_body_bytes: largest OTLP body (and decompressed size) accepted.
        max_queued_spans: spans waiting for the writer before ingest answers 503.
        run_workers: FA runs executing at once.
        trace_timeout_s: how long ``run(trace_id=...)`` waits for a trace's root span.
        decode_workers: processes decoding OTLP bodies (0: a thread of this process). On a
            multi-core machine they let ingest use more than one core.
        monitor: monitoring on ingest: a :class:`~valiqor_trace.MonitorConfig` (``True`` or a dict of its
            fields also work; ``VALIQOR_MONITOR_*`` fill the fields not given) analyzes a share of the traces
            the server receives, as in-app monitoring does (docs/monitoring.md). Default: off.
        run_lease_s: how long a replica holds an FA run without renewing its lease: a replica killed
            mid-run leaves the run to another after this long (docs/deploy.md).
        retention_days: delete traces, runs, alerts and judge-cache entries older than this many days
            (default: ``$VALIQOR_RETENTION_DAYS``; unset: keep everything), on a thread of the server.
        retention_interval_s: how often that thread prunes (the first time soon after the start).
        viewer: a look at the stores for one user (``valiqor ui``): it runs only the analyses asked of it,
            never another server's queued runs, and does no upkeep (no retention), so pointing it at a
            production database takes no work from the replicas there.
    """

    data_dir: str | None = None
    database_url: str | None = dataclasses.field(default=None, repr=False)  # may carry a password
    api_keys: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    project_name: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_queued_spans: int = 100_000
    run_workers: int = 2
    trace_timeout_s: float | None = None
    decode_workers: int = 0
    monitor: MonitorConfig | None = None
    run_lease_s: float = DEFAULT_LEASE_S
    retention_days: float | None = None
    retention_interval_s: float = 3600.0
    viewer: bool = False

    def __post_init__(self) -> None:
        if self.monitor is not None and not isinstance(self.monitor, MonitorConfig):
            object.__setattr__(self, "monitor", parse_monitor(self.monitor))
        if not self.run_lease_s > 0:
            raise ValueError(f"ServerConfig(run_lease_s={self.run_lease_s!r}): must be > 0 seconds")
        if self.data_dir is not None:  # checked here, so the error names data_dir (the client calls it home)
            try:
                object.__setattr__(self, "data_dir", parse_dir_path(self.data_dir))
            except ValueError as exc:
                raise ValueError(f"ServerConfig(data_dir={str(self.data_dir)!r}): {exc}") from None
        if self.retention_days is not None:
            try:
                object.__setattr__(self, "retention_days", parse_days(self.retention_days))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"ServerConfig(retention_days={self.retention_days!r}): {exc}") from None


class _EmbeddedClient(ValiqorClient):
    """The server's own client: always embedded, whatever VALIQOR_BASE_URL says."""

    def __init__(self, config: ClientConfig) -> None:
        # retention is the server's (ServerState), over both stores: not the client's own
        self.config = dataclasses.replace(config, base_url=None, api_key=None, retention_days=None)
        self._clock = time.time
        self._remote = None
        self._retention = None

    @functools.cached_property
    def failure_analysis(self) -> FailureAnalysisAPI:
        # a remote caller's "no run" names this server, never its file paths
        return FailureAnalysisAPI(self, clock=self._clock, runs_where="on this server")


class ServerState:
    """Everything the server holds open: the stores, the span writer and the run pool."""

    def __init__(self, config: ServerConfig) -> None:
        settings = {"home": config.data_dir, "database_url": config.database_url, "project_name": config.project_name,
                    "trace_timeout_s": config.trace_timeout_s, "retention_days": config.retention_days}
        self.config = config
        client_config = resolve_client_config({k: v for k, v in settings.items() if v is not None})
        self.client = _EmbeddedClient(client_config)
        interrupted = fail_interrupted_runs(self.client.run_store)
        if interrupted:
            logger.warning("marked %d run(s) left in flight by a previous server failed", len(interrupted))
        self.writer = SpanWriter(self.client.trace_store, max_spans=config.max_queued_spans)
        self.runs = RunPool(self.client.failure_analysis, config.run_workers, lease_s=config.run_lease_s,
                            only_own=config.viewer)
        self.decode_pool = _decode_pool(config.decode_workers)
        self.api = ApiState(fa=self.client.failure_analysis, traces=self.client.traces, runs=self.runs)
        self.monitor = _monitor(config.monitor, self.client.config)
        self.retention = None if config.viewer else _retention(self.client, client_config.retention_days,
                                                                config.retention_interval_s)
        self._closed = False

    def close(self) -> None:
        """Finish queued writes, stop the run pool (in-flight runs go back to the queue), close the stores."""
        if self._closed:
            return
        self._closed = True
        if self.monitor is not None:
            self.monitor.close()
        if self.retention is not None:
            self.retention.stop()
        self.runs.close()
        if self.decode_pool is not None:
            self.decode_pool.shutdown(wait=True, cancel_futures=True)  # idle processes exit at once
        self.writer.close()
        self.client.close()


def _monitor(config: MonitorConfig | None, client: ClientConfig) -> IngestMonitor | None:
    if config is None:
        return None
    from valiqor_trace.analyzer.server._monitor import IngestMonitor

    return IngestMonitor(config, store_file=client.trace_store_file, run_store_file=client.run_store_file,
                         project_name=client.project_name, rootless_after_s=client.trace_timeout_s)


def _retention(client: ValiqorClient, days: float | None, interval_s: float) -> RetentionSchedule | None:
    """Prune both stores on a thread of the server: batches of short transactions, so ingest goes on."""
    if days is None:
        return None

    def prune(stop: Callable[[], bool]) -> Pruned:
        cutoff = cutoff_of_days(days)
        return client.trace_store.prune(cutoff, stop=stop) + client.run_store.prune(cutoff, stop=stop)

    schedule = RetentionSchedule(prune, describe=f"the stores (older than {days:g} days)", interval_s=interval_s,
                                 log=logger.warning)  # the level `valiqor serve` shows, as for its banner
    schedule.start()
    return schedule


def _decode_pool(workers: int) -> ProcessPoolExecutor | None:
    if workers <= 0:
        return None
    # spawn, not fork: this process already runs threads (writer, run pool), which fork would copy mid-state
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    for future in [pool.submit(decode_body, b"", "", "json", 0) for _ in range(workers)]:
        future.exception()  # start the processes (and their imports) now, not on the first request
    return pool


def create_app(config: ServerConfig | None = None, *, close_on_shutdown: bool = True) -> Starlette:
    """The ASGI app.

    Its stores, span writer and run pool start now; they stop at ASGI shutdown
    (unless ``close_on_shutdown`` is false, for hosts that start and stop the
    app's lifespan several times) or on ``app.state.server.close()``.
    """
    config = config or ServerConfig()
    state = ServerState(config)
    openapi = build_openapi(ENDPOINTS, version=VERSION, auth=bool(config.api_keys))

    async def health(request: Request) -> Response:
        return json_response(Health(status="ok", version=VERSION, queued_spans=state.writer.queued_spans,
                                    refused_batches=state.writer.refused_batches, live_runs=state.runs.live_runs,
                                    monitor=state.monitor.stats.as_dict() if state.monitor is not None else None))

    async def openapi_document(request: Request) -> Response:
        return json_response(openapi)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if close_on_shutdown:
            state.close()

    sessions = Sessions(config.api_keys) if config.api_keys else None
    routes = [Route("/health", health, methods=["GET"]),
              Route("/openapi.json", openapi_document, methods=["GET"]),
              *(Route(f"/v1/{signal}", OtlpReceiver(state.writer, max_body_bytes=config.max_body_bytes,
                                                    decode_pool=state.decode_pool, signal=signal).handle,
                      methods=["POST"]) for signal in ("traces", "logs")),
              *(endpoint.route(state.api) for endpoint in ENDPOINTS),
              *UI(state.api, sessions, auth=bool(config.api_keys)).routes()]
    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(SecurityHeaders), Middleware(BearerAuth, keys=config.api_keys,
                                                                         sessions=sessions)])
    app.state.server = state
    return app


def openapi_of(app: Any) -> dict[str, Any]:
    """The OpenAPI document an app serves (for tests and tooling)."""
    return build_openapi(ENDPOINTS, version=VERSION, auth=bool(app.state.server.config.api_keys))
