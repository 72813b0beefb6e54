"""``valiqor serve --monitor``: traces sent as raw OTLP (no valiqor_trace in the sender, as from a Node, Go or Java
app) are analyzed on the server, by the in-app monitor's rules, with the same runs, verdicts and alerts."""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from google.protobuf.json_format import ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from valiqor_trace import MonitorConfig, trace_id_selected
from valiqor_trace.analyzer.server import ServerConfig, create_app
from valiqor_trace.store import SpanRecord, SpanStore, record_row
from tests.analyzer.monitor.conftest import receiver as webhook  # noqa: F401 - the fixture, on 127.0.0.1
from tests.analyzer.server.conftest import AUTH
from tests.helpers import LiveServer

ROOT, TOOL, CHAT = "53995c3f42cd8ad8", "00f067aa0ba902b7", "b7ad6b7169203331"
QUESTION = "Where is my order A-48213?"
INVENTED = "Your order A-48213 has been delivered."


def _attr(key: str, value: Any) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}}


def order_bot_spans(trace_id: str, *, answer: str = INVENTED, tool_fails: bool = True) -> list[dict[str, Any]]:
    """A support bot's request as its OTel SDK exports it (GenAI conventions): the HTTP root, an order lookup
    (failed: the order service timed out) and the chat call whose answer invents the lookup's result."""
    tool_status = {"code": 2, "message": "ConnectionError: order service timed out"} if tool_fails else {"code": 1}
    return [
        {"traceId": trace_id, "spanId": ROOT, "name": "POST /support", "kind": 2,
         "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000900000000",
         "attributes": [_attr("http.request.method", "POST")]},
        {"traceId": trace_id, "spanId": TOOL, "parentSpanId": ROOT, "name": "execute_tool get_order_status", "kind": 1,
         "startTimeUnixNano": "1700000000100000000", "endTimeUnixNano": "1700000000200000000", "status": tool_status,
         "attributes": [_attr("gen_ai.operation.name", "execute_tool"), _attr("gen_ai.tool.name", "get_order_status"),
                        _attr("gen_ai.tool.call.arguments", json.dumps({"order_id": "A-48213"}))]},
        {"traceId": trace_id, "spanId": CHAT, "parentSpanId": ROOT, "name": "chat gpt-4o-mini", "kind": 3,
         "startTimeUnixNano": "1700000000300000000", "endTimeUnixNano": "1700000000800000000",
         "attributes": [
             _attr("gen_ai.operation.name", "chat"), _attr("gen_ai.request.model", "gpt-4o-mini"),
             _attr("gen_ai.input.messages", json.dumps([
                 {"role": "system", "parts": [{"type": "text", "content": 'Order lookup: {"error": "timed out"}'}]},
                 {"role": "user", "parts": [{"type": "text", "content": QUESTION}]}])),
             _attr("gen_ai.output.messages", json.dumps([
                 {"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]))]},
    ]


def otlp_json(spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "support-bot"),
                                                           _attr("telemetry.sdk.language", "nodejs")]},
                               "scopeSpans": [{"scope": {"name": "support-bot"}, "spans": spans}]}]}


def send(client: httpx.Client, spans: list[dict[str, Any]], *, protobuf: bool = False) -> None:
    if protobuf:  # protobuf's JSON mapping spells bytes in base64 where OTLP/JSON spells ids in hex
        ids = ("traceId", "spanId", "parentSpanId")
        as_bytes = [{k: base64.b64encode(bytes.fromhex(v)).decode() if k in ids else v for k, v in span.items()}
                    for span in spans]
        body = ParseDict(otlp_json(as_bytes), ExportTraceServiceRequest()).SerializeToString()
        response = client.post("/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    else:
        response = client.post("/v1/traces", json=otlp_json(spans))
    assert response.status_code == 200, response.text


def trace_id(low_bits: int, high: str = "4bf92f3577b34da6") -> str:
    return f"{high}{low_bits:016x}"


def wait_until(condition: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout_s}s: {condition}")


def monitor_runs(app) -> dict[str, list]:
    """trace id -> the monitoring runs stored for it."""
    runs: dict[str, list] = {}
    for run in app.state.server.client.run_store.list_runs(limit=1000, offset=0):
        if run.source == "monitor":
            runs.setdefault(run.trace_id, []).append(run)
    return runs


def verdicts(app) -> dict[str, dict[str, Any]]:
    """analyzed trace id -> the attributes of its fa.verdict span (from the span store)."""
    traces = app.state.server.client.traces
    found = {}
    for summary in traces.list(limit=1000):
        if summary.root_name == "fa.verdict":
            attributes = traces.get(summary.trace_id)[0].attributes
            found[attributes["valiqor.fa.trace_id"]] = attributes
    return found


def analyzed_item(app, run) -> Any:
    """The one item a monitoring run analyzed (once the run has ended: its row is listed from its start)."""
    fa = app.state.server.client.failure_analysis
    wait_until(lambda: fa.get_status(run.run_id).status not in ("queued", "running"))
    (item,) = fa.get_run_inputs(run.run_id)
    return item


def assert_all_three_spans(item: Any) -> None:
    assert item.input == QUESTION and item.output == INVENTED  # the chat span
    assert [call["name"] for call in item.tool_calls] == ["get_order_status"]  # the tool span
    assert item.root_missing is False  # the root span


@pytest.fixture
def monitored(server_config: ServerConfig) -> Callable[..., ServerConfig]:
    def config(trace_timeout_s: float = 5.0, **fields: Any) -> ServerConfig:
        monitor = MonitorConfig(**{"grace_period_s": 0.1, "max_per_minute": None, **fields})
        return dataclasses.replace(server_config, monitor=monitor, trace_timeout_s=trace_timeout_s)
    return config


@pytest.fixture
def serve() -> Iterator[Callable[[ServerConfig], tuple[Any, httpx.Client]]]:
    started: list[tuple[Any, LiveServer, httpx.Client]] = []

    def start(config: ServerConfig) -> tuple[Any, httpx.Client]:
        app = create_app(config)
        live = LiveServer(app).__enter__()
        client = live.client(AUTH).__enter__()
        started.append((app, live, client))
        return app, client

    yield start
    for app, live, client in started:
        client.close()
        live.__exit__(None, None, None)
        app.state.server.close()


def test_a_raw_otlp_trace_gets_the_monitor_run_verdict_and_alert(monitored, serve, webhook) -> None:
    app, client = serve(monitored(sample_rate=1.0, webhook_url=webhook.url))
    tid = trace_id(0x1234)
    send(client, order_bot_spans(tid))

    alert = wait_until(webhook.received)[0]
    assert alert["type"] == "valiqor.fa.alert" and alert["trace_id"] == tid
    assert alert["failure_type"] == "tool_failure_ignored" and alert["severity"] >= 4.0
    assert alert["project_name"] == "support-bot"  # the sender's service name
    assert set(alert["failures"][0]["span_ids"]) >= {TOOL, CHAT}

    runs = wait_until(lambda: monitor_runs(app).get(tid))
    assert len(runs) == 1 and runs[0].status == "completed"
    result = client.get(f"/api/v1/fa/runs/{runs[0].run_id}/result").json()
    assert result["summary"]["should_alert"] is True
    stored_alerts = client.get("/api/v1/fa/alerts", params={"project_name": "support-bot"}).json()
    assert [(a["trace_id"], a["outcome"]) for a in stored_alerts] == [(tid, "sent")]

    # the verdict span is in the store (all traces), linked to the analyzed one, and never analyzed itself
    traces = app.state.server.client.traces
    verdicts = wait_until(lambda: [t for t in traces.list(limit=50) if t.root_name == "fa.verdict"])
    verdict = traces.get(verdicts[0].trace_id)[0]
    assert verdict.attributes["valiqor.fa.trace_id"] == tid
    assert verdict.attributes["valiqor.fa.run_id"] == runs[0].run_id
    assert verdicts[0].project_name == "support-bot"  # listed with the trace it judges, not the server's
    assert verdict.links[0].span_id == ROOT
    assert [t.trace_id for t in traces.list(include_verdicts=False)] == [tid]
    time.sleep(0.5)
    assert list(monitor_runs(app)) == [tid]
    assert app.state.server.monitor.stats.analyzed == 1
    assert client.get("/health").json()["monitor"]["alerted"] == 1


def test_the_trace_id_rule_and_error_traces_decide_as_in_app(monitored, serve) -> None:
    app, client = serve(monitored(sample_rate=0.5, always_on_error=True))
    sampled, unsampled, unsampled_error = trace_id(0x10), trace_id(0xF000000000000000), trace_id(0xF000000000000001)
    assert trace_id_selected(sampled, 0.5) and not trace_id_selected(unsampled, 0.5)
    assert not trace_id_selected(unsampled_error, 0.5)
    send(client, order_bot_spans(sampled, tool_fails=False))
    send(client, order_bot_spans(unsampled, tool_fails=False))
    send(client, order_bot_spans(unsampled_error), protobuf=True)

    wait_until(lambda: app.state.server.monitor.stats.analyzed == 2)
    time.sleep(0.5)  # a few more looks at the store: the unsampled trace stays unanalyzed
    runs = monitor_runs(app)
    assert sorted(runs) == sorted([sampled, unsampled_error])
    reasons = {tid: verdict["valiqor.fa.sample_reason"] for tid, verdict in wait_until(
        lambda: len(verdicts(app)) == 2 and verdicts(app)).items()}
    assert reasons == {sampled: "sampled", unsampled_error: "error"}
    stats = app.state.server.monitor.stats
    assert (stats.sampled, stats.sampled_on_error) == (2, 1)


def test_spans_arriving_in_two_requests_root_last_are_analyzed_once_with_all_spans(monitored, serve) -> None:
    app, client = serve(monitored(sample_rate=1.0))
    tid = trace_id(0x42)
    root, *children = order_bot_spans(tid)
    send(client, children)
    time.sleep(0.4)  # past the grace period: without its root the trace is not complete
    assert monitor_runs(app) == {}
    send(client, [root], protobuf=True)

    runs = wait_until(lambda: monitor_runs(app).get(tid))
    time.sleep(0.4)
    assert len(monitor_runs(app)[tid]) == 1
    assert_all_three_spans(analyzed_item(app, runs[0]))


def test_a_trace_whose_root_never_arrives_is_analyzed_without_it_after_trace_timeout(monitored, serve) -> None:
    app, client = serve(monitored(sample_rate=1.0, trace_timeout_s=0.5))
    tid = trace_id(0x43)
    send(client, order_bot_spans(tid)[1:])  # the root lives in a service that does not export
    time.sleep(0.3)
    assert monitor_runs(app) == {}  # still within trace_timeout_s: its root may come
    runs = wait_until(lambda: monitor_runs(app).get(tid))
    item = analyzed_item(app, runs[0])
    assert item.root_missing is True and item.output == INVENTED


def test_two_servers_on_one_database_analyze_each_trace_once(monitored, serve) -> None:
    config = monitored(sample_rate=1.0)
    (app_a, client_a), (app_b, client_b) = serve(config), serve(config)
    ids = [trace_id(0x100 + n) for n in range(12)]
    for n, tid in enumerate(ids):  # each server receives half of every trace; the root goes to either
        root, tool, chat = order_bot_spans(tid)
        first, second = (client_a, client_b) if n % 2 else (client_b, client_a)
        send(first, [tool, chat])
        send(second, [root], protobuf=True)

    wait_until(lambda: len(monitor_runs(app_a)) == len(ids))
    time.sleep(0.5)
    runs = monitor_runs(app_b)  # the same run store, seen from the other server
    assert {tid: len(found) for tid, found in runs.items()} == dict.fromkeys(ids, 1)
    for found in runs.values():
        assert_all_three_spans(analyzed_item(app_a, found[0]))
    analyzed = app_a.state.server.monitor.stats.analyzed + app_b.state.server.monitor.stats.analyzed
    assert analyzed == len(ids)


def test_the_stores_trace_id_rule_selects_exactly_what_trace_id_selected_does(tmp_path, database_url) -> None:
    rate = 0.3
    bound = round(rate * 2**64)
    edges = [0, bound - 1, bound, bound + 1, 2**64 - 1, 0x8000000000000000]
    rng = random.Random(19)
    ids = [f"{rng.getrandbits(64):016x}{low:016x}" for low in [*edges, *(rng.getrandbits(64) for _ in range(300))]]
    store = SpanStore(database_url or str(tmp_path / "traces.db"))
    try:
        store.write_rows([record_row(SpanRecord(trace_id=tid, span_id="53995c3f42cd8ad8", name="root", kind="SERVER",
                                                start_time_unix_nano=1, end_time_unix_nano=2, status_code="UNSET"))
                          for tid in ids])
        now = time.time_ns()
        for sample_rate in (0.0, rate, 1.0):
            found = store.monitor_candidates(arrived_after_ns=0, quiet_since_ns=now + 10**9,
                                             rootless_quiet_since_ns=0, sample_bound=round(sample_rate * 2**64),
                                             errors=False, limit=1000)
            assert sorted(c.trace_id for c in found) == sorted(t for t in ids if trace_id_selected(t, sample_rate))
        assert store.claim_trace(ids[0], "sampled") and not store.claim_trace(ids[0], "sampled")
    finally:
        store.close()


def test_a_claim_is_a_lease_until_its_analysis_ends(tmp_path, database_url) -> None:
    store = SpanStore(database_url or str(tmp_path / "traces.db"))
    tid = trace_id(0x77)
    try:
        assert store.claim_trace(tid, "sampled", lease_ns=10, now_ns=100)
        assert not store.claim_trace(tid, "sampled", lease_ns=10, now_ns=105)  # held
        assert store.claim_trace(tid, "sampled", lease_ns=10, now_ns=111)  # its holder died: taken over
        store.finish_claim(tid)
        assert not store.claim_trace(tid, "sampled", now_ns=2**61)  # analyzed: never again
        other = trace_id(0x78)
        assert store.claim_trace(other, "sampled", now_ns=1)
        store.finish_claim(other, decided=False)  # given back (the queue was full): the next look takes it
        assert store.claim_trace(other, "sampled", now_ns=2)
    finally:
        store.close()


def test_traces_a_dead_server_had_claimed_are_analyzed_by_another_once_its_claim_runs_out(monitored, serve) -> None:
    config = monitored(sample_rate=1.0)
    tid = trace_id(0x79)
    app, client = serve(config)
    store = app.state.server.client.trace_store
    # a server that claimed the trace and died before analyzing it: its claim ran out a second ago
    assert store.claim_trace(tid, "sampled", lease_ns=1, now_ns=time.time_ns() - 10**9)
    send(client, order_bot_spans(tid))
    runs = wait_until(lambda: monitor_runs(app).get(tid))
    time.sleep(0.5)
    assert len(monitor_runs(app)[tid]) == 1
    assert_all_three_spans(analyzed_item(app, runs[0]))
    assert not store.claim_trace(tid, "sampled")  # finished: nobody analyzes it again
