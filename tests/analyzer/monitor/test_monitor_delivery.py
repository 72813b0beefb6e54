"""Alert delivery parts: webhook retries (httpx.MockTransport) and the per-failure-type cooldown."""

from __future__ import annotations

import httpx

from valiqor_trace.analyzer.monitor import Cooldown, Webhook


def test_webhook_retries_server_errors_then_delivers_with_doubling_pauses() -> None:
    statuses = iter([503, 502, 200])
    seen: list[httpx.Request] = []
    pauses: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(statuses))

    webhook = Webhook("https://hooks.example/alerts", headers={"Authorization": "Bearer T"}, max_attempts=3,
                      backoff_s=0.5, transport=httpx.MockTransport(handler), sleep=pauses.append)
    assert webhook.post({"trace_id": "ab" * 16, "failures": []}) is True
    assert len(seen) == 3 and pauses == [0.5, 1.0]
    assert seen[0].headers["Authorization"] == "Bearer T" and seen[0].headers["Content-Type"] == "application/json"
    assert b'"trace_id"' in seen[0].content


def test_webhook_gives_up_on_a_client_error_at_once_and_after_the_last_attempt_otherwise() -> None:
    calls: list[int] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(400)

    assert Webhook("https://h.example/a", transport=httpx.MockTransport(refuse), sleep=lambda s: None).post({}) is False
    assert len(calls) == 1

    def unreachable(request: httpx.Request) -> httpx.Response:
        calls.append(2)
        raise httpx.ConnectError("refused", request=request)

    assert Webhook("https://h.example/a", max_attempts=4, transport=httpx.MockTransport(unreachable),
                   sleep=lambda s: None).post({}) is False
    assert calls.count(2) == 4


def test_cooldown_allows_one_alert_per_type_per_period_and_reports_what_it_held_back() -> None:
    now = [0.0]
    cooldown = Cooldown(60.0, clock=lambda: now[0])
    assert cooldown.allow(("shop", "tool_error")) == (True, 0)
    assert cooldown.allow(("shop", "tool_error")) == (False, 0)
    assert cooldown.allow(("shop", "truncated_output")) == (True, 0)  # another type: its own cooldown
    assert cooldown.allow(("blog", "tool_error")) == (True, 0)  # another project too
    now[0] = 59.0
    assert cooldown.allow(("shop", "tool_error")) == (False, 0)
    now[0] = 60.5
    assert cooldown.allow(("shop", "tool_error")) == (True, 2)
    assert cooldown.allow(("shop", "tool_error")) == (False, 0)
