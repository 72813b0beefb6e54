"""A tool outage in production, monitored with the default alert thresholds: every order lookup fails.

A bot that then invents the result ("has been delivered") pages someone; a bot that tells the customer the
lookup failed does not (each trace is one recoverable tool error, honestly reported).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.trace import TracerProvider

import valiqor_trace
from valiqor_trace import MonitorConfig
from valiqor_trace.analyzer.runs import RunStore

FABRICATED = "Your order {order} has been delivered."
HONEST = "Sorry, I couldn't look up order {order} right now; our order system is down. Please try again later."


class OrderBot:
    """A support bot on the real OpenAI SDK: it looks the order up (the lookup service is down), gives the model
    the tool's error, and returns what the model says (``reply`` is the scripted model's answer)."""

    def __init__(self, reply: str) -> None:
        def model(request: httpx2.Request) -> httpx2.Response:
            prompt = json.loads(request.content)["messages"][-1]["content"]
            order = prompt.split("order ", 1)[1].split("?", 1)[0]
            return httpx2.Response(200, json={
                "id": "chatcmpl-orders", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": reply.format(order=order), "refusal": None}}],
                "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}})

        self.client = openai.OpenAI(api_key="sk-test-orders", base_url="http://model.test/v1", max_retries=0,
                                    http_client=httpx2.Client(transport=httpx2.MockTransport(model)))

        @valiqor_trace.tool("get_order_status", description="Delivery status of an order")
        def get_order_status(order_id: str) -> dict[str, str]:
            raise ConnectionError("order service timed out")

        self.lookup = get_order_status

    def ask(self, order: str) -> str:
        question = f"Where is my order {order}?"
        with valiqor_trace.trace_workflow("support") as root:
            root.set_input(question)
            try:
                status = json.dumps(self.lookup(order))
            except ConnectionError as exc:
                status = json.dumps({"error": str(exc)})
            reply = self.client.chat.completions.create(model="gpt-4o-mini", messages=[
                {"role": "system", "content": f"Order lookup result: {status}"},
                {"role": "user", "content": question}])
            answer = reply.choices[0].message.content or ""
            root.set_output(answer)
            return answer


def _outage(tmp_path: Path, reply: str) -> tuple[list[Any], Any, list[Any]]:
    alerts: list[Any] = []
    handle = valiqor_trace.init(project_name="orders", tracer_provider=TracerProvider(), instrument=["openai"],
                                exporters="none", home=str(tmp_path / "home"),
                                monitor=MonitorConfig(sample_rate=1.0, grace_period_s=0.0, on_alert=alerts.append))
    bot = OrderBot(reply)
    for n in range(25):
        bot.ask(f"A-{48200 + n}")
    assert handle.monitor.force_flush(60_000)
    store = RunStore(tmp_path / "home" / "runs.db")
    runs = store.list_runs(project_name="orders", limit=100, offset=0)
    store.close()
    return alerts, handle.monitor.stats, runs


def test_a_total_tool_outage_with_invented_answers_alerts_at_the_default_thresholds(tmp_path: Path) -> None:
    alerts, stats, runs = _outage(tmp_path, FABRICATED)
    assert stats.analyzed == 25 and len(runs) == 25
    assert [alert.failure_type for alert in alerts] == ["tool_failure_ignored"]  # one alert, then the cooldown
    assert stats.alerted == 1 and stats.alerts_suppressed == 24
    assert alerts[0].severity >= 4.0 and alerts[0].bucket_id == "tool_use"
    assert {run.primary_failure for run in runs} <= {"tool_error", "tool_failure_ignored"}
    assert len(alerts[0].failures[0]["span_ids"]) >= 2  # the failed tool span and the answer's span


def test_the_same_outage_reported_honestly_does_not_page(tmp_path: Path) -> None:
    alerts, stats, runs = _outage(tmp_path, HONEST)
    assert stats.analyzed == 25 and alerts == [] and stats.alerted == 0
    assert {run.primary_failure for run in runs} == {"tool_error"}  # still recorded, run by run
