"""The monitor stores each alert decision (sent, suppressed by the cooldown, failed) in the run store; the client,
the REST API (``GET /api/v1/fa/alerts``) and the monitoring page show them, never the webhook's URL or headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.sdk.trace import TracerProvider

import valiqor_trace
from tests.analyzer.monitor.conftest import App
from tests.helpers import LiveServer, store_file_at
from valiqor_trace import MonitorConfig
from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.runs import RunStore
from valiqor_trace.analyzer.runs._store import _MIGRATIONS
from valiqor_trace.analyzer.server import ServerConfig, create_app

SECRET = "hook-SECRET-7f3a"


def monitor(home: Path, **config: Any) -> Any:
    settings = {"sample_rate": 1.0, "max_per_minute": None, "grace_period_s": 0.0, "alert_severity": 3.0,
                "alert_cooldown_s": 3600.0, "webhook_backoff_s": 0.01, "buckets": ["generation"], **config}
    return valiqor_trace.init(project_name="shop", tracer_provider=TracerProvider(), instrument=["openai"],
                              exporters="none", home=str(home), monitor=MonitorConfig(**settings))


def test_two_alerts_of_one_failure_within_the_cooldown_are_stored_as_sent_then_suppressed(
        tmp_path: Path, app: App, receiver: Any) -> None:
    home = tmp_path / "home"
    handle = monitor(home, webhook_url=f"{receiver.url}?token={SECRET}",
                     webhook_headers={"Authorization": f"Bearer {SECRET}"})
    app.ask("truncated")
    app.ask("truncated")
    assert handle.monitor.force_flush(60_000)
    assert len(receiver.received()) == 1  # the cooldown held the second back

    client = ValiqorClient(project_name="shop", home=str(home))
    alerts = client.failure_analysis.list_alerts("shop")
    assert [(a.outcome, a.trace_id) for a in alerts] == [("suppressed", app.trace_ids["truncated"][1]),
                                                          ("sent", app.trace_ids["truncated"][0])]
    for alert in alerts:
        assert (alert.project_name, alert.subcategory_id, alert.channel) == ("shop", "truncated_output", "log,webhook")
        assert alert.run_id.startswith("run_") and alert.severity >= 3.0
    assert client.failure_analysis.list_alerts("other-project") == []
    assert [a.outcome for a in client.failure_analysis.list_alerts("shop", limit=1)] == ["suppressed"]
    today = client.failure_analysis.get_trends("7d", "shop")["points"][-1]
    assert (today["alerts_sent"], today["alerts_suppressed"], today["alerts_failed"]) == (1, 1, 0)
    client.close()
    valiqor_trace.shutdown()
    assert SECRET.encode() not in (home / "runs.db").read_bytes() + _wal(home / "runs.db")

    server = create_app(ServerConfig(data_dir=str(home), project_name="shop"))
    with LiveServer(server) as live, httpx.Client(base_url=live.url) as http:
        answer = http.get("/api/v1/fa/alerts", params={"project_name": "shop", "since": "1h", "limit": 10})
        assert answer.status_code == 200
        assert [(a["outcome"], a["trace_id"]) for a in answer.json()] == [(a.outcome, a.trace_id) for a in alerts]
        assert SECRET not in answer.text
        assert http.get("/api/v1/fa/alerts", params={"since": "2000-01-01", "limit": 1}).json()[0]["outcome"] \
            == "suppressed"
        assert "/api/v1/fa/alerts" in http.get("/openapi.json").json()["paths"]

        page = http.get("/monitoring", params={"project": "shop"}).text
        table = page[page.index('id="alerts"'):]
        for trace_id in app.trace_ids["truncated"]:
            assert trace_id in table
        assert ">sent<" in table and ">suppressed<" in table and "Truncated" in table
        assert "met the alert thresholds" not in page
        opening = '<script type="application/json" id="chart-data">'
        start = page.index(opening) + len(opening)
        charts = json.loads(page[start:page.index("</script>", start)])
        assert (charts["alerts_sent"][-1], charts["alerts_suppressed"][-1], charts["alerts_failed"][-1]) == (1, 1, 0)
        assert sum(charts["alerts_sent"]) == sum(charts["alerts_suppressed"]) == 1
    server.state.server.close()


def test_an_alert_the_webhook_could_not_take_is_stored_as_failed(tmp_path: Path, app: App,
                                                                  closed_port_url: str) -> None:
    handle = monitor(tmp_path / "home", webhook_url=closed_port_url, webhook_max_attempts=1)
    app.ask("truncated")
    assert handle.monitor.force_flush(60_000)
    valiqor_trace.shutdown()
    store = RunStore(tmp_path / "home" / "runs.db")
    assert [(a.outcome, a.trace_id) for a in store.list_alerts()] == [("failed", app.trace_ids["truncated"][0])]
    store.close()


def test_a_store_from_before_alerts_were_stored_opens_and_lists_none(tmp_path: Path) -> None:
    conn = store_file_at(tmp_path / "runs.db", "runs", _MIGRATIONS[:4])
    conn.close()
    store = RunStore(tmp_path / "runs.db")
    assert store.list_alerts() == [] and store.list_runs() == []
    store.close()


def _wal(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return wal.read_bytes() if wal.exists() else b""
