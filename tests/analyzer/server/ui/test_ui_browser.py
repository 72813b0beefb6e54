"""The web UI in headless Chromium, on what `valiqor demo` traced: what a user clicks and sees."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.analyzer.server.ui.conftest import screenshot
from tests.helpers import LiveServer


def _trace_id(server: LiveServer, text: str) -> str:
    page = httpx.get(f"{server.url}/api/v1/traces/search", params={"q": text}).json()
    assert page["total"] == 1, page
    return page["items"][0]["trace_id"]


def _no_problems(page: Any) -> None:
    # a CSP violation (an inline script or style the policy refuses) is reported as a console error
    assert page.problems == []


def test_traces_list_opens_a_trace_whose_waterfall_and_span_messages_show(demo_server: LiveServer, page: Any) -> None:
    page.goto(f"{demo_server.url}/")
    rows = page.locator("table.traces tbody tr")
    assert rows.count() == 4
    assert page.locator("table.traces").get_by_text("weather-agent").is_visible()
    assert page.locator("table.traces .badge.fail").count() == 4  # every demo trace was analyzed and failed
    screenshot(page, "traces")

    page.get_by_role("link", name="weather-agent").click()
    page.wait_for_selector("#waterfall .wf-row")
    assert page.locator("#waterfall .wf-row").count() == 4
    assert page.locator("#waterfall .wf-row.error").count() == 1  # the failing get_weather tool, in red
    assert page.locator("#waterfall .wf-row.kind-tool").count() >= 1
    llm_row = page.locator("#waterfall .wf-row.kind-chat, #waterfall .wf-row.kind-llm").first
    llm_row.locator(".span-link").click()
    page.wait_for_selector("#detail .chat .msg")
    roles = [r.lower() for r in page.locator("#detail .chat .msg .role").all_inner_texts()]
    assert any(r.startswith("user") for r in roles) and any(r.startswith("assistant") for r in roles)
    assert "weather" in page.locator("#detail .chat").inner_text().lower()
    assert re.search(r"[?&]span=[0-9a-f]{16}", page.url)  # the selection is in the URL, to share it
    screenshot(page, "trace")
    _no_problems(page)


def test_analyze_button_runs_fa_and_marks_the_failing_span(demo_server: LiveServer, page: Any) -> None:
    trace_id = _trace_id(demo_server, "weather-agent")
    before = httpx.get(f"{demo_server.url}/api/v1/fa/runs", params={"trace_id": trace_id}).json()
    page.goto(f"{demo_server.url}/traces/{trace_id}")
    page.click("#analyze")
    page.wait_for_url(re.compile(r"\?run=run_"))
    run_id = re.search(r"run=(run_[0-9a-f]+)", page.url).group(1)
    assert run_id not in {run["run_id"] for run in before}  # a new run, made by the button
    page.wait_for_selector("#fa-result")
    assert "Tool error" in page.locator("#fa-result").inner_text()
    marked = page.locator("#waterfall .wf-row.evidence")
    assert marked.count() >= 1
    assert "Tool error" in marked.first.locator(".evidence-mark").inner_text() or \
        any("Tool error" in text for text in marked.locator(".evidence-mark").all_inner_texts())
    assert page.locator("#waterfall .wf-row.evidence.error").count() == 1  # the failed tool span itself
    screenshot(page, "analyze")
    _no_problems(page)


def test_run_page_evidence_link_leads_to_its_span(demo_server: LiveServer, page: Any) -> None:
    trace_id = _trace_id(demo_server, "weather-agent")
    page.goto(f"{demo_server.url}/runs")
    assert page.locator("table.runs tbody tr").count() == 4
    screenshot(page, "runs")
    run_link = page.locator("table.runs tbody tr", has=page.locator(f"a[href^='/traces/{trace_id}']")).locator(
        "a.run-link")
    run_link.click()
    page.wait_for_selector("section.bucket")
    tool_error = page.locator("li.tag", has_text="Tool error").first
    assert "severity" in tool_error.inner_text() and "confidence" in tool_error.inner_text()
    screenshot(page, "run")
    link = tool_error.locator("a.evidence-link").first
    span_id = link.inner_text().split()[-1]
    link.click()
    page.wait_for_selector(f"#span-{span_id}.selected")
    assert "evidence" in page.locator(f"#span-{span_id}").get_attribute("class")
    assert span_id in page.locator("#detail .span-detail").get_attribute("data-span")
    _no_problems(page)


def test_monitoring_page_draws_its_charts(demo_server: LiveServer, page: Any) -> None:
    page.goto(f"{demo_server.url}/monitoring")
    for chart in ("chart-buckets", "chart-severity", "chart-alerts"):
        page.wait_for_selector(f"#{chart}[data-drawn='true'] canvas")
    assert page.locator("#chart-buckets .u-legend").inner_text().count("hallucination") == 1
    assert page.locator(".cards .card").first.inner_text().startswith("4")  # the demo's 4 runs
    screenshot(page, "monitoring")
    _no_problems(page)


def test_taxonomy_page_lists_buckets_and_subcategories(demo_server: LiveServer, page: Any) -> None:
    page.goto(f"{demo_server.url}/taxonomy")
    assert page.locator("section.bucket").count() >= 5
    row = page.locator("#sub-tool_error")
    assert "Tool error" in row.inner_text() and row.locator("td").nth(3).inner_text() != ""
    screenshot(page, "taxonomy")
    _no_problems(page)
