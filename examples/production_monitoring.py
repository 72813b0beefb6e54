"""Sampled production monitoring, end to end: live traffic analyzed in the background, alerts on failures.

Run it:

    python examples/production_monitoring.py                      # scripted local model, local webhook
    python examples/production_monitoring.py --webhook https://...  # send the alerts to your own receiver

A small support app answers 60 questions through the real ``openai`` SDK (against a
scripted model server on 127.0.0.1, so no key is needed). Some answers come back cut
off (``finish_reason="length"``) and the order-lookup tool fails now and then; every request
succeeds, but after a failed lookup the model still tells the customer the order shipped, a status
nobody returned (``tool_failure_ignored``, the alert worth a page; the failed call alone is
``tool_error``). ``init(monitor=...)`` analyzes 20% of the traces
(``--sample-rate``), chosen by trace ID, plus every trace with an error span, in a background thread:
each is rebuilt from the spans held in memory, run through Failure Analysis
(deterministic detectors; no key), stored as a run tagged ``monitor``, recorded as a
``fa.verdict`` span, and, when it should alert, sent to the webhook: one alert per
failure type per cooldown, however many requests show it.
"""

from __future__ import annotations

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry import trace

import valiqor_trace
from valiqor_trace.testing import ModelServer, Reply

ORDERS = {"A-1001": "shipped on Monday", "A-1002": "delivered"}


def lookup_order(order_id: str, attempt: int) -> str:
    if attempt % 9 == 4:  # the order service times out now and then
        raise TimeoutError("order service did not answer in 2s")
    return ORDERS.get(order_id, "unknown")


def answer(client: Any, question: str, order_id: str, attempt: int) -> str:
    """One request: look the order up (the app survives a failing lookup), then ask the model."""
    tracer = trace.get_tracer("support-app")
    with valiqor_trace.trace_workflow("answer_support_question") as workflow:
        workflow.set_input(question)
        try:
            with tracer.start_as_current_span("execute_tool lookup_order") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_attribute("gen_ai.tool.name", "lookup_order")
                status = lookup_order(order_id, attempt)
        except TimeoutError:
            status = "unknown (lookup failed)"
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "system", "content": f"Order {order_id} status: {status}. Answer briefly."},
            {"role": "user", "content": question}])
        text = reply.choices[0].message.content or ""
        workflow.set_output(text)
        return text


class DemoReceiver:
    """Stands in for Slack/PagerDuty: prints each alert it receives."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.alerts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--sample-rate", type=float, default=0.2, help="share of traces analyzed (default 0.2)")
    parser.add_argument("--webhook", help="your alert receiver (default: a local demo receiver)")
    parser.add_argument("--home", help="where the trace and run stores live (default: $VALIQOR_HOME or ./.valiqor)")
    args = parser.parse_args()
    receiver = None if args.webhook else DemoReceiver()

    handle = valiqor_trace.init(project_name="support-bot", home=args.home, monitor=valiqor_trace.MonitorConfig(
        sample_rate=args.sample_rate,  # a share of traces, chosen by trace ID (the same ones in every service)
        always_on_error=True,  # plus every trace with an error span
        max_per_minute=600,
        alert_severity=3.0,  # alert on failing tags of severity >= 3 (default 4)
        alert_cooldown_s=600,  # one alert per failure type per 10 minutes
        webhook_url=args.webhook or receiver.url,
        on_alert=lambda alert: print(f"  on_alert: {alert.failure_type} in trace {alert.trace_id}"),
    ))
    rules = [Reply("Your order A-1002 was delivered, and the courier left it at", finish_reason="length",
                   match="tell me everything")]
    with ModelServer(rules=rules, default=Reply("Your order A-1001 shipped on Monday.")) as server:
        client = server.client()
        print(f"serving {args.requests} requests...")
        for n in range(args.requests):
            question = "Tell me everything about my delivery" if n % 7 == 3 else "Where is my order?"
            answer(client, question, "A-1002" if n % 7 == 3 else "A-1001", n)
        handle.monitor.force_flush(30_000)  # only for the demo: production never waits for the monitor
    handle.force_flush()

    stats = handle.monitor.stats
    print(f"\nmonitor: {stats.traces_seen} traces seen, {stats.sampled} sampled ({stats.sampled_on_error} for an "
          f"error span), {stats.analyzed} analyzed, {stats.alerted} alerts, {stats.alerts_suppressed} held back "
          f"by the cooldown, {stats.dropped} dropped, {stats.failed} failed")
    if receiver is not None:
        print(f"\nthe webhook received {len(receiver.alerts)} alerts:")
        for alert in receiver.alerts:
            print(f"  {alert['bucket_id']}/{alert['failure_type']} severity {alert['severity']} in trace "
                  f"{alert['trace_id']} -> valiqor fa result --run-id {alert['run_id']}")

    client = valiqor_trace.ValiqorClient(project_name="support-bot", home=args.home) if args.home else \
        valiqor_trace.ValiqorClient(project_name="support-bot")
    runs = client.failure_analysis.list_runs("support-bot", limit=200, source="monitor")
    failing = [run for run in runs if run.primary_failure]
    print(f"\n{len(runs)} monitoring runs stored, {len(failing)} with failures; the first few:")
    for run in failing[:5]:
        print(f"  {run.run_id}  trace {run.trace_id}  {run.primary_failure}  severity {run.overall_severity}")
    handle.shutdown()


if __name__ == "__main__":
    main()
