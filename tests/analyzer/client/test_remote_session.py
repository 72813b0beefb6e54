"""The remote client's HTTP session, with faults injected through its transport seam (``httpx.MockTransport``)."""

from __future__ import annotations

import httpx
import pytest

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.client._remote import RemoteSession
from valiqor_trace.errors import AuthenticationError, RateLimitError, ServerUnavailableError

BASE = "http://valiqor.test:4318"


def _session(handler, pauses: list[float] | None = None, **options) -> RemoteSession:
    sleep = pauses.append if pauses is not None else (lambda s: None)
    return RemoteSession(BASE, "k-123", transport=httpx.MockTransport(handler), sleep=sleep, **options)


def test_busy_answers_are_retried_with_backoff_then_succeed() -> None:
    answers = iter([httpx.Response(503), httpx.Response(429, headers={"retry-after": "2"}),
                    httpx.Response(200, json={"ok": True})])
    pauses: list[float] = []
    assert _session(lambda request: next(answers), pauses).request("GET", "/health") == {"ok": True}
    assert len(pauses) == 2 and pauses[1] == 2.0  # Retry-After honoured as given


def test_a_retry_after_longer_than_we_wait_is_a_rate_limit_error_to_the_caller() -> None:
    session = _session(lambda request: httpx.Response(429, headers={"retry-after": "120"}), max_retry_wait_s=10)
    with pytest.raises(RateLimitError) as info:
        session.request("GET", "/api/v1/fa/taxonomy")
    assert info.value.retry_after_s == 120


def test_an_unreachable_server_is_server_unavailable_after_every_retry() -> None:
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ServerUnavailableError, match="is `valiqor serve` running there"):
        _session(refuse, max_retries=2).request("POST", "/api/v1/fa/runs", json={})
    assert len(calls) == 3  # the request never arrived: even a POST is safe to resend


def test_a_post_that_may_have_arrived_is_not_sent_twice() -> None:
    calls: list[httpx.Request] = []

    def drop(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(ServerUnavailableError, match="ReadError"):
        _session(drop).request("POST", "/api/v1/fa/runs", json={})
    assert len(calls) == 1


def test_the_read_timeout_covers_what_the_call_waits_for_and_the_key_is_a_bearer_header() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    _session(record, timeout_s=5).request("GET", "/api/v1/traces/x", wait_s=30)
    assert seen[0].extensions["timeout"]["read"] == 35 and seen[0].extensions["timeout"]["connect"] == 5
    assert seen[0].headers["authorization"] == "Bearer k-123"


def test_a_refused_key_without_a_json_body_is_an_authentication_error() -> None:
    with pytest.raises(AuthenticationError, match="HTTP 401"):
        _session(lambda request: httpx.Response(401, text="no")).request("GET", "/api/v1/fa/taxonomy")


def test_the_client_sends_through_the_transport_it_is_given() -> None:
    taxonomy = [{"bucket_id": "hallucination", "subcategories": []}]
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, json=taxonomy)

    client = ValiqorClient(base_url=BASE, api_key="k-123", transport=httpx.MockTransport(server))
    try:
        assert client.failure_analysis.get_taxonomy() == taxonomy
    finally:
        client.close()
    assert seen == ["/api/v1/fa/taxonomy"]
