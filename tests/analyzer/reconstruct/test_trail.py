"""Every TRAIL trace (smolagents on GAIA and SWE-bench, OpenInference attributes, nested export) reconstructs.

Expected values are read from the data itself: the outermost AGENT span's task and
answer (none when the run ended in error before answering: the output is then empty and
the error is in ``metadata["output_error"]``), and every TOOL span with its recorded
output or error, in execution order.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from valiqor_trace.analyzer.traces_api import TracesAPI
from valiqor_trace.store import SpanStore

TRAIL = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "trail" / "traces"
TRACE_FILES = sorted(TRAIL.glob("*.json")) if TRAIL.is_dir() else []


def _walk(spans: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    out, stack = [], [(0, span) for span in reversed(spans)]
    while stack:
        depth, span = stack.pop()
        out.append((depth, span))
        stack.extend((depth + 1, child) for child in reversed(span.get("child_spans") or []))
    return out


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> TracesAPI:
    api = TracesAPI(SpanStore(tmp_path_factory.mktemp("trail") / "traces.db"))
    for path in TRACE_FILES:
        api.import_file(path)
    return api


@pytest.mark.skipif(not TRACE_FILES, reason="shared/data/trail is not present")
@pytest.mark.parametrize("path", TRACE_FILES, ids=[p.stem[:8] for p in TRACE_FILES])
def test_trail_trace_reconstructs(api: TracesAPI, path: Path) -> None:
    document = json.loads(path.read_text())
    spans = _walk(document["spans"])
    agents = [(d, s) for d, s in spans if s["span_attributes"].get("openinference.span.kind") == "AGENT"]
    _, agent = min(agents, key=lambda pair: pair[0])
    attributes = agent["span_attributes"]
    tools = sorted((s for _, s in spans if s["span_attributes"].get("openinference.span.kind") == "TOOL"),
                   key=lambda s: datetime.fromisoformat(s["timestamp"]))  # execution order, across nested agents

    item = api.reconstruct(document["trace_id"], timeout_s=0)

    assert item.input == json.loads(attributes["input.value"])["task"]
    if "output.value" in attributes or agent["status_code"] != "Error":
        assert item.output == attributes["output.value"]
        assert "output_error" not in item.metadata
    else:  # the run failed before answering: no step's log stands in for the answer
        assert item.output == ""
        assert item.metadata["output_error"]["span_id"] == agent["span_id"]
        assert item.metadata["output_error"]["message"] == agent["status_message"]
    executed = [call for call in item.tool_calls if call.executed]
    assert [call.span_id for call in executed] == [tool["span_id"] for tool in tools]
    for call, tool in zip(executed, tools):
        assert call.name == tool["span_attributes"]["tool.name"]
        assert call.output == tool["span_attributes"].get("output.value")  # None when none was recorded
        assert (call.error is not None) == (tool["status_code"] == "Error")
        if call.error:
            assert call.error == tool["status_message"]
    facts = item.metadata
    assert facts["span_count"] == len(spans)
    assert facts["llm_call_count"] == sum(
        1 for _, s in spans if s["span_attributes"].get("openinference.span.kind") == "LLM")
    assert {e["span_id"] for e in facts["error_spans"]} == {s["span_id"] for _, s in spans
                                                            if s["status_code"] == "Error"}
    assert facts["convention"] == "openinference"


@pytest.mark.skipif(not TRACE_FILES, reason="shared/data/trail is not present")
def test_importing_trail_again_stores_nothing_twice(api: TracesAPI) -> None:
    before = api.store.count_spans()
    results = [api.import_file(path) for path in TRACE_FILES]
    assert all(result.spans_new == 0 and result.spans_read > 0 for result in results)
    assert api.store.count_spans() == before == sum(result.spans_read for result in results)


@pytest.mark.skipif(not TRACE_FILES, reason="shared/data/trail is not present")
def test_trail_tool_requests_join_their_tool_spans(api: TracesAPI) -> None:
    # The search agent asks for tools with call ids; its TOOL spans carry none: they join by name and order.
    item = api.reconstruct("a99faf782e8ad4d5f1ccdfcb7e143b9a", timeout_s=0)
    searches = [call for call in item.tool_calls if call.name == "web_search"]
    assert searches and all(call.id and call.id.startswith("call_") for call in searches)
    assert all(isinstance(call.arguments, dict) and "query" in call.arguments for call in searches)
