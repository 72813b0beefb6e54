"""The web UI's pages: server-rendered Jinja2 templates over the same handlers as the REST API.

Every page reads through a function of the REST endpoint table (``_api.py``, ``_trace_views.py``), so a page
shows nothing the API does not serve. Jinja2 autoescapes everything: trace text is untrusted and renders
as text. Pages carry no inline script or handler; ``static/app.js`` adds the interactive parts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from valiqor_trace.errors import NotFoundError, ValidationError
from valiqor_trace.analyzer.fa.security import SECURITY_CATEGORIES
from valiqor_trace.analyzer.runs._models import ALERT_OUTCOMES, RUN_SOURCES
from valiqor_trace.analyzer.runs._since import since_ns
from valiqor_trace.analyzer.server import _api
from valiqor_trace.analyzer.server._errors import error_status
from valiqor_trace.analyzer.server._params import Param
from valiqor_trace.analyzer.server._trace_views import get_span_detail, list_projects, search_traces
from valiqor_trace.analyzer.server.ui._session import COOKIE, SESSION_TTL_S, Sessions, cookie_of, safe_next
from valiqor_trace.analyzer.server.ui._waterfall import layout

_HERE = os.path.dirname(__file__)
PAGE_SIZE = 50
TIME_RANGES = OrderedDict([("", "any time"), ("1h", "last hour"), ("24h", "last 24 hours"), ("7d", "last 7 days"),
                           ("30d", "last 30 days")])
_PERIODS = ("7d", "30d", "90d")
# the pages (HTML for browsers, not part of the REST API or its OpenAPI document)
PAGE_PATHS = ("/", "/login", "/logout", "/traces", "/traces/{trace_id}", "/traces/{trace_id}/spans/{span_id}", "/runs",
              "/runs/{run_id}", "/monitoring", "/taxonomy")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(_HERE, "templates")),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=_when, ms=_ms, num=_num, sev=_sev, pct=_pct, show=_show)
    env.globals.update(query=_query)
    return env


def _when(ns: int | str | None) -> str:
    if ns is None:
        return "-"
    if isinstance(ns, str):
        return ns[:19].replace("T", " ")
    return dt.datetime.fromtimestamp(ns / 1e9, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _show(value: Any) -> str:
    """An attribute value as text (escaped by the template like everything else)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:,}"


def _sev(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _query(args: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**args, **changes}.items() if v not in (None, "", False)}
    return "?" + urlencode(merged) if merged else "?"


class UI:
    """The pages of one server: ``routes()`` for the app, rendered from ``api`` (the REST handlers' state)."""

    def __init__(self, api: Any, sessions: Sessions | None, *, auth: bool) -> None:
        self.api = api
        self.sessions = sessions
        self.auth = auth
        self.env = _environment()

    def routes(self) -> list[BaseRoute]:
        handlers = {"/": (self.home, ["GET"]), "/login": (self.login, ["GET", "POST"]),
                    "/logout": (self.logout, ["POST"]), "/traces": (self.traces, ["GET"]),
                    "/traces/{trace_id}": (self.trace, ["GET"]),
                    "/traces/{trace_id}/spans/{span_id}": (self.span, ["GET"]), "/runs": (self.runs, ["GET"]),
                    "/runs/{run_id}": (self.run, ["GET"]), "/monitoring": (self.monitoring, ["GET"]),
                    "/taxonomy": (self.taxonomy, ["GET"])}
        assert tuple(handlers) == PAGE_PATHS
        return [*(Route(path, handler, methods=methods) for path, (handler, methods) in handlers.items()),
                Mount("/static", StaticFiles(directory=os.path.join(_HERE, "static")), name="static")]

    # -- rendering ----------------------------------------------------------------------

    def render(self, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
        body = self.env.get_template(template).render(auth=self.auth, **context)
        return HTMLResponse(body, status_code=http_status, headers={"Cache-Control": "no-store"})

    async def page(self, request: Request, template: str, build: Any, *args: Any) -> Response:
        """Render ``template`` with what ``build(*args)`` returns (run in a worker thread: the stores block);
        an error of the API becomes the page's error message with the API's status."""
        started = time.perf_counter()
        try:
            context = await run_in_threadpool(build, *args)
        except Exception as exc:  # noqa: BLE001 - shown like the API answers it
            status = error_status(exc)
            if status == 500:
                raise
            return self.render("error.html", http_status=status, title="Not found" if status == 404 else "Error",
                               message=str(exc), nav="")
        response = self.render(template, **context)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    # -- login ----------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/traces", status_code=303)

    async def login(self, request: Request) -> Response:
        if self.sessions is None:  # no keys: nothing to log in to
            return RedirectResponse("/traces", status_code=303)
        if request.method == "GET":
            return self.render("login.html", title="Log in", nav="", next=safe_next(request.query_params.get("next")), error=None)
        form = parse_qs((await request.body())[:8192].decode("utf-8", "replace"))
        target = safe_next((form.get("next") or [""])[0])
        token = self.sessions.login((form.get("key") or [""])[0].strip())
        if token is None:
            return self.render("login.html", http_status=401, title="Log in", nav="", next=target, error="That key is not valid here.")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, token, max_age=int(SESSION_TTL_S), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response

    async def logout(self, request: Request) -> Response:
        if self.sessions is not None:
            self.sessions.logout(cookie_of(dict(request.scope), COOKIE))
        response = RedirectResponse("/login" if self.sessions is not None else "/traces", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- traces ---------------------------------------------------------------------------

    async def traces(self, request: Request) -> Response:
        return await self.page(request, "traces.html", self._traces, dict(request.query_params))

    def _traces(self, args: dict[str, str]) -> dict[str, Any]:
        args = {k: v for k, v in args.items() if k in ("project", "status", "failures", "q", "range", "page") and v}
        page = Param("page", int, default=1, minimum=1, maximum=10**7).parse(args.get("page"))
        time_range = args.get("range") if args.get("range") in TIME_RANGES else None
        start = since_ns(time_range, time.time_ns()) if time_range else None
        status = Param("status", enum=("error", "ok")).parse(args.get("status"))
        result = search_traces(self.api, args.get("project"), start, None, status,
                               True if args.get("failures") == "1" else None, args.get("q"), PAGE_SIZE,
                               (page - 1) * PAGE_SIZE, False)
        pages = max(1, -(-result.total // PAGE_SIZE))
        return {"nav": "traces", "title": "Traces", "result": result, "args": args, "page": page, "pages": pages,
                "projects": list_projects(self.api), "ranges": TIME_RANGES}

    async def trace(self, request: Request) -> Response:
        return await self.page(request, "trace.html", self._trace, request.path_params["trace_id"],
                               dict(request.query_params))

    def _trace(self, trace_id: str, args: dict[str, str]) -> dict[str, Any]:
        spans = _api.get_trace(self.api, trace_id, 0.0)
        if not spans:
            raise NotFoundError(f"no trace {trace_id[:40]} on this server", trace_id=trace_id)
        trace_id = spans[0].trace_id
        run_id = args.get("run")
        if not run_id:
            runs = _api.list_runs(self.api, None, 1, 0, trace_id, None, None)
            run_id = runs[0].run_id if runs else None
        result = None
        if run_id:
            try:
                result = _api.get_result(self.api, run_id, False)
            except (NotFoundError, ValidationError):
                result = None  # running, failed or unknown: the page offers to analyze
        failures = result.failures() if result is not None else []
        span_ids = {span.span_id for span in spans}
        evidence: dict[str, list[Any]] = {}
        for tag in failures:
            for item in tag.evidence_items:
                if item.span_id is not None and item.span_id in span_ids:
                    evidence.setdefault(item.span_id, []).append(tag)
        selected = (args.get("span") or "").lower() or None
        if selected not in span_ids:
            selected = None
        rows = layout(spans, evidence=evidence, keep_open=[selected] if selected else [])
        root = rows[0].span if rows else spans[0]
        end = max(s.end_time_unix_nano or s.start_time_unix_nano for s in spans)
        start = min(s.start_time_unix_nano for s in spans)
        detail = get_span_detail(self.api, trace_id, selected) if selected else None
        return {"nav": "traces", "title": f"Trace {root.name}", "trace_id": trace_id, "rows": rows, "root": root,
                "duration_ms": (end - start) / 1e6, "start_ns": start, "errors": sum(s.is_error for s in spans),
                "result": result, "failures": failures, "evidence": evidence, "selected": selected,
                "detail": detail}

    async def span(self, request: Request) -> Response:
        """The detail pane of one span (an HTML fragment the trace page's script puts in place)."""
        trace_id, span_id = request.path_params["trace_id"], request.path_params["span_id"]
        return await self.page(request, "span.html", lambda: {
            "detail": get_span_detail(self.api, trace_id, span_id), "trace_id": trace_id})

    # -- runs -----------------------------------------------------------------------------

    async def runs(self, request: Request) -> Response:
        return await self.page(request, "runs.html", self._runs, dict(request.query_params))

    def _runs(self, args: dict[str, str]) -> dict[str, Any]:
        args = {k: v for k, v in args.items() if k in ("project", "source", "page") and v}
        page = Param("page", int, default=1, minimum=1, maximum=10**7).parse(args.get("page"))
        source = Param("source", enum=RUN_SOURCES).parse(args.get("source"))
        project = args.get("project")
        runs = _api.list_runs(self.api, project, PAGE_SIZE, (page - 1) * PAGE_SIZE, None, source, None)
        total = _api.count_runs(self.api, project, None, source, None).count
        return {"nav": "runs", "title": "Runs", "runs": runs, "args": args, "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)), "total": total, "sources": RUN_SOURCES,
                "projects": sorted({*list_projects(self.api), *([project] if project else [])})}

    async def run(self, request: Request) -> Response:
        return await self.page(request, "run.html", self._run, request.path_params["run_id"])

    def _run(self, run_id: str) -> dict[str, Any]:
        status = _api.get_run_status(self.api, run_id)
        if status.status != "completed" and status.status != "cancelled":
            return {"nav": "runs", "title": f"Run {run_id}", "status": status, "result": None, "groups": {},
                    "security": {}}
        result = _api.get_result(self.api, run_id, False)
        groups: dict[str, list[Any]] = {}
        for tag in sorted(result.failure_tags, key=lambda t: (t.decision != "fail", -t.severity)):
            if tag.decision != "pass":
                groups.setdefault(tag.bucket_name, []).append(tag)
        security = {code: (SECURITY_CATEGORIES.get(code, {}).get("name", code), verdict)
                    for code, verdict in result.security_flags.items()}
        return {"nav": "runs", "title": f"Run {run_id}", "status": status, "result": result, "groups": groups,
                "security": security}

    # -- monitoring and taxonomy ----------------------------------------------------------

    async def monitoring(self, request: Request) -> Response:
        return await self.page(request, "monitoring.html", self._monitoring, dict(request.query_params))

    def _monitoring(self, args: dict[str, str]) -> dict[str, Any]:
        period = args["period"] if args.get("period") in _PERIODS else "7d"
        project = args.get("project")
        if not project:  # the project of the newest run: what was analyzed last
            newest = _api.list_runs(self.api, None, 1, 0, None, None, None)
            project = newest[0].project_name if newest else None
        insights = _api.get_insights(self.api, project, period)
        trends = _api.get_trends(self.api, period, project)
        security = _api.get_security_insights(self.api, project, period)
        sample = _api.list_runs(self.api, project, 20, 0, None, "monitor", None)
        buckets = sorted({b for point in trends["points"] for b in point["failures_by_bucket"]})
        charts = {
            "days": [point["date"] for point in trends["points"]],
            "buckets": {b: [point["failures_by_bucket"].get(b, 0) for point in trends["points"]] for b in buckets},
            "severity": [point["average_severity"] for point in trends["points"]],
            **{f"alerts_{outcome}": [point[f"alerts_{outcome}"] for point in trends["points"]]
               for outcome in ALERT_OUTCOMES},
        }
        alerts = _api.list_alerts(self.api, project, period, 20) if project else []
        projects = sorted({*list_projects(self.api), *([project] if project else [])})
        return {"nav": "monitoring", "title": "Monitoring", "project": project, "projects": projects,
                "period": period, "periods": _PERIODS, "insights": insights, "security": security,
                "sample": sample, "charts": charts, "alerts": alerts}

    async def taxonomy(self, request: Request) -> Response:
        return await self.page(request, "taxonomy.html", lambda: {
            "nav": "taxonomy", "title": "Taxonomy", "buckets": _api.get_taxonomy(self.api)})
