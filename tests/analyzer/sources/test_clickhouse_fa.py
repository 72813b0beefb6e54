"""An app's trace, exported through a collector into ClickHouse, analyzed where it lies: the real openai SDK against
the scripted model server, instrumented by valiqor-trace, written as the exporter writes it (on chDB), then
rebuilt and analyzed through ``ValiqorClient(trace_source=...)`` and from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb", reason="needs the clickhouse extra (pip install 'valiqor-trace[clickhouse]')")

from tests.analyzer.sources.clickhouse_tables import ChdbTables

import valiqor_trace
from valiqor_trace import ValiqorClient
from valiqor_trace.cli import main
from valiqor_trace.errors import NotFoundError, ValidationError
from valiqor_trace.testing import capture_spans
from valiqor_trace.testing.model_server import ModelServer, Reply

QUESTION = "How many days do I have to return order 42?"
CUT = "You can return order 42 within 30 days of delivery, as long as the"
DOCUMENTS = [{"id": "policy-3", "content": "Items may be returned within 30 days of delivery."}]


@valiqor_trace.retriever("policies")
def search_policies(query: str) -> list[dict[str, str]]:
    return DOCUMENTS


@valiqor_trace.tool("lookup_order")
def lookup_order(order_id: int) -> str:
    return json.dumps({"order_id": order_id, "delivered": "2026-03-02"})


def _support_agent_trace() -> tuple[str, list[Any]]:
    """A support agent: it retrieves the policy, calls a tool, and its answer is cut by the token limit."""
    script = [Reply.tool_call("lookup_order", {"order_id": 42}, call_id="call_1"), Reply(CUT, finish_reason="length")]
    with capture_spans(project_name="support") as exporter, ModelServer(script) as server:
        client = server.client()
        with valiqor_trace.trace_workflow("support_agent") as workflow:
            workflow.set_input(QUESTION)
            context = "\n".join(doc["content"] for doc in search_policies(QUESTION))
            messages: list[dict[str, Any]] = [{"role": "system", "content": f"Answer from: {context}"},
                                              {"role": "user", "content": QUESTION}]
            tools = [{"type": "function", "function": {"name": "lookup_order", "parameters": {
                "type": "object", "properties": {"order_id": {"type": "integer"}}}}}]
            first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
            call = first.choices[0].message.tool_calls[0]
            result = lookup_order(**json.loads(call.function.arguments))
            messages += [first.choices[0].message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": result}]
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools, max_tokens=16)
            workflow.set_output(answer.choices[0].message.content)
        return workflow.trace_id, list(exporter.get_finished_spans())


@pytest.fixture
def clickhouse(tmp_path: Path) -> tuple[ChdbTables, str]:
    """The exporter's tables on chDB holding the support agent's trace, and the trace's id."""
    tables = ChdbTables(tmp_path / "clickhouse")
    trace_id, spans = _support_agent_trace()
    tables.insert_spans(spans)
    return tables, trace_id


def test_the_client_rebuilds_and_analyzes_a_trace_read_from_clickhouse(clickhouse: tuple[ChdbTables, str]) -> None:
    tables, trace_id = clickhouse
    with ValiqorClient(trace_source=tables.url, trace_timeout_s=0.2) as client:  # 0.2 s: the not-found below
        item = client.traces.reconstruct(trace_id)
        assert (item.input, item.output, item.context) == (QUESTION, CUT, [DOCUMENTS[0]["content"]])
        [call] = item.tool_calls
        assert (call.id, call.name, call.arguments, call.executed) == (
            "call_1", "lookup_order", {"order_id": 42}, True)
        assert json.loads(call.output) == {"order_id": 42, "delivered": "2026-03-02"}
        assert item.metadata["token_usage"]["output_tokens"] > 0
        assert item.metadata["finish_reasons"] == ["tool_call", "length"]

        result = client.failure_analysis.run(trace_id=trace_id)
        assert result.project_name == "support" and result.inputs[0].trace_id == trace_id
        assert result.summary.primary_failure == "truncated_output"
        [tag] = [t for t in result.failure_tags if t.subcategory_id == "truncated_output" and t.decision == "fail"]
        cut_chat = max((s for s in client.traces.get(trace_id) if s.name.startswith("chat")),
                       key=lambda s: s.start_time_unix_nano)
        assert cut_chat.span_id in {e.span_id for e in tag.evidence_items}  # the evidence names the cut call

        with pytest.raises(NotFoundError, match=r"looked in: local store .*; chDB table otel\.otel_traces"):
            client.failure_analysis.run(trace_id="0af7651916cd43dd8448eb211c80319c")


def test_trace_source_takes_a_list_and_refuses_what_is_not_a_source(clickhouse: tuple[ChdbTables, str],
                                                                    tmp_path: Path) -> None:
    tables, trace_id = clickhouse
    with ValiqorClient(trace_source=[f"chdb://{tmp_path / 'elsewhere'}", tables.url]) as client:
        assert client.traces.reconstruct(trace_id).output == CUT  # the first source fails, the second has it
    with pytest.raises(ValidationError, match="trace_source must be a URL, a path or a TraceSource"):
        ValiqorClient(trace_source=[42])
    with pytest.raises(ValidationError, match="trace_source= is for the embedded client"):
        ValiqorClient(base_url="http://127.0.0.1:9", trace_source=tables.url)
    with pytest.raises(ValidationError, match="unknown option 'tabel'"):
        ValiqorClient(trace_source=f"chdb://{tables.path}?tabel=x")


def test_the_cli_runs_fa_on_lists_and_shows_a_clickhouse_trace(clickhouse: tuple[ChdbTables, str],
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    tables, trace_id = clickhouse
    assert main(["fa", "run", "--trace-id", trace_id, "--source", tables.url, "--json", "--no-gate"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert (run["project_name"], run["summary"]["primary_failure"]) == ("support", "truncated_output")

    assert main(["traces", "list", "--source", tables.url, "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["trace_id"], listed["root_name"], listed["project_name"]) == (trace_id, "support_agent", "support")
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["traces", "list", "--source", tables.url]) == 0
    assert trace_id in capsys.readouterr().out
    assert main(["traces", "show", trace_id, "--source", tables.url]) == 0
    tree = capsys.readouterr().out
    assert f"trace {trace_id}" in tree and "chDB table otel.otel_traces" in tree and "execute_tool lookup_order" in tree
    assert main(["traces", "reconstruct", trace_id, "--source", tables.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == CUT

    assert main(["traces", "show", "ab" * 16, "--source", tables.url]) == 1
    assert f"trace {'ab' * 16} is not in chDB table otel.otel_traces" in capsys.readouterr().err
    assert main(["traces", "list", "--source", "jaeger://127.0.0.1:9"]) == 1
    assert "Jaeger at http://127.0.0.1:9 cannot list traces here" in capsys.readouterr().err
    assert main(["fa", "run", "--trace-id", trace_id, "--source", "clickhouse://ch:port", "--json"]) == 1
    assert "the port is not a number" in capsys.readouterr().err
