"""Jaeger and Tempo sources against local fakes of their HTTP APIs (httpx.MockTransport)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.analyzer.sources.conftest import by_start
from google.protobuf.json_format import MessageToDict

from valiqor_trace.errors import AuthenticationError, NotFoundError, RateLimitError, SourceError
from valiqor_trace.analyzer.sources import JaegerSource, TempoSource
from valiqor_trace.analyzer.traces_api import TracesAPI
from valiqor_trace.store import SpanRecord, SpanStore


def _jaeger_body(records: list[SpanRecord]) -> dict[str, Any]:
    """The Jaeger query API's JSON for a trace (times in microseconds, tags, CHILD_OF references)."""
    def tag(key: str, value: Any) -> dict[str, Any]:
        kind = "bool" if isinstance(value, bool) else "int64" if isinstance(value, int) else \
            "float64" if isinstance(value, float) else "string"
        return {"key": key, "type": kind, "value": value}

    spans = []
    for span in records:
        tags = [tag(k, v) for k, v in span.attributes.items() if not isinstance(v, list)]
        tags.append(tag("span.kind", span.kind.lower()))
        if span.status_code != "UNSET":
            tags.append(tag("otel.status_code", span.status_code))
        if span.status_message:
            tags.append(tag("otel.status_description", span.status_message))
        spans.append({
            "traceID": span.trace_id, "spanID": span.span_id.lstrip("0"), "operationName": span.name,
            "references": [{"refType": "CHILD_OF", "traceID": span.trace_id, "spanID": span.parent_span_id}]
            if span.parent_span_id else [],
            "startTime": span.start_time_unix_nano // 1000,
            "duration": (span.end_time_unix_nano - span.start_time_unix_nano) // 1000,
            "tags": tags, "processID": "p1",
            "logs": [{"timestamp": e.time_unix_nano // 1000,
                      "fields": [tag("event", e.name)] + [tag(k, v) for k, v in e.attributes.items()]}
                     for e in span.events]})
    return {"data": [{"traceID": records[0].trace_id, "spans": spans,
                      "processes": {"p1": {"serviceName": "shop", "tags": []}}}]}


def _transport(routes: dict[str, httpx.Response], seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return routes.get(request.url.path, httpx.Response(404, json={"errors": [{"msg": "trace not found"}]}))
    return httpx.MockTransport(handler)


def test_jaeger_v1_trace_reads_into_records(records: list[SpanRecord]) -> None:
    trace_id = records[0].trace_id
    seen: list[httpx.Request] = []
    source = JaegerSource("http://jaeger.test:16686/", headers={"Authorization": "Bearer t"},
                          transport=_transport({f"/api/traces/{trace_id}": httpx.Response(
                              200, json=_jaeger_body(records))}, seen))
    spans = source.get_trace(f"tr_{trace_id}")
    assert seen[0].headers["Authorization"] == "Bearer t"
    got = {s.span_id: s for s in spans}
    for want in records:
        span = got[want.span_id]  # Jaeger's stripped leading zeros are restored
        assert (span.parent_span_id, span.name, span.kind, span.status_code, span.status_message) == \
            (want.parent_span_id, want.name, want.kind, want.status_code, want.status_message)
        assert span.start_time_unix_nano == want.start_time_unix_nano // 1000 * 1000
        assert {k: v for k, v in want.attributes.items() if not isinstance(v, list)} == span.attributes
        assert [e.name for e in span.events] == [e.name for e in want.events]
    assert source.get_trace("ab" * 16) == []  # 404: this backend does not have it


def test_tempo_serves_otlp_json_with_base64_ids(otlp_request: Any, records: list[SpanRecord]) -> None:
    trace_id = records[0].trace_id
    body = {"batches": MessageToDict(otlp_request)["resourceSpans"]}
    source = TempoSource("http://tempo.test:3200", transport=_transport(
        {f"/api/traces/{trace_id}": httpx.Response(200, json=body)}))
    assert by_start(source.get_trace(trace_id)) == by_start(records)
    v2 = TempoSource("http://tempo.test:3200", transport=_transport(
        {f"/api/traces/{trace_id}": httpx.Response(200, json={"trace": MessageToDict(otlp_request)})}))
    assert by_start(v2.get_trace(trace_id)) == by_start(records)


@pytest.mark.parametrize(("status", "error", "text"), [
    (401, AuthenticationError, "answered 401"), (403, AuthenticationError, "headers="),
    (429, RateLimitError, "too many requests"), (502, SourceError, "answered 502")])
def test_backend_failures_raise_typed_errors_naming_the_url(status: int, error: type, text: str) -> None:
    source = TempoSource("http://tempo.test:3200", transport=httpx.MockTransport(
        lambda request: httpx.Response(status, headers={"Retry-After": "7"}, text="no")))
    with pytest.raises(error, match=text) as caught:
        source.get_trace("ab" * 16)
    assert "http://tempo.test:3200/api/traces/" + "ab" * 16 in str(caught.value)
    if status == 429:
        assert caught.value.retry_after_s == 7


def test_unreachable_backend_is_a_source_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)
    with pytest.raises(SourceError, match="is the backend running"):
        JaegerSource("http://jaeger.test:16686", transport=httpx.MockTransport(refuse)).get_trace("ab" * 16)


def test_traces_api_reconstructs_from_a_backend_and_names_every_source_when_missing(
        tmp_path: Any, otlp_request: Any, records: list[SpanRecord]) -> None:
    trace_id = records[0].trace_id
    tempo = TempoSource("http://tempo.test:3200", transport=_transport(
        {f"/api/traces/{trace_id}": httpx.Response(200, json=MessageToDict(otlp_request))}))
    down = JaegerSource("http://jaeger.test:16686", transport=httpx.MockTransport(
        lambda request: httpx.Response(503, text="maintenance")))
    api = TracesAPI(SpanStore(tmp_path / "traces.db"), [down, tempo])
    item = api.reconstruct(trace_id, timeout_s=0)
    assert (item.input, item.output, item.context) == ("Where is Ada?", "London.", ["Ada is in London."])
    assert [(c.name, c.error, c.executed) for c in item.tool_calls] == [("locate", "TimeoutError: locator down", True)]
    with pytest.raises(NotFoundError) as caught:
        api.reconstruct("cd" * 16, timeout_s=0)
    message = str(caught.value)
    assert "local store" in message and "Tempo at http://tempo.test:3200" in message
    assert "Jaeger at http://jaeger.test:16686 (failed:" in message and "503" in message
    assert len(caught.value.sources) == 3
