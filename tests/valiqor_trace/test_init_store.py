"""init() with no arguments writes W3C traces to ./.valiqor/traces.db, readable by trace id."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.helpers import run_python
from valiqor_trace.store import SpanStore

APP = """
import json, valiqor_trace
valiqor_trace.init()

@valiqor_trace.trace_function
def retrieve(query):
    return ["doc about " + query]

@valiqor_trace.trace_function("generate")
def generate(query, docs):
    return f"answer to {query} from {len(docs)} docs"

with valiqor_trace.trace_workflow("rag-request") as wf:
    answer = generate("refunds", retrieve("refunds"))
print(json.dumps({"trace_id": wf.trace_id, "span_id": wf.span_id, "answer": answer}))
"""


def test_fresh_directory_default_store_holds_one_trace_with_parent_links(tmp_path: Path) -> None:
    out = run_python(APP, cwd=tmp_path)  # no explicit shutdown: the exit flush must happen by itself
    result = json.loads(out.strip().splitlines()[-1])
    db = tmp_path / ".valiqor" / "traces.db"
    assert db.exists()

    spans = SpanStore(db).get_trace(result["trace_id"])
    assert [s.name for s in spans] == ["rag-request", "retrieve", "generate"]
    root, retrieve, generate = spans
    assert len(result["trace_id"]) == 32 and all(s.trace_id == result["trace_id"] for s in spans)
    assert root.parent_span_id is None and root.span_id == result["span_id"]
    assert retrieve.parent_span_id == root.span_id and generate.parent_span_id == root.span_id
    assert json.loads(retrieve.attributes["valiqor.input"]) == {"query": "refunds"}
    assert json.loads(retrieve.attributes["valiqor.output"]) == ["doc about refunds"]
    assert generate.attributes["valiqor.output"] == result["answer"]  # strings as they are, not JSON-quoted
    assert all(s.attributes["valiqor.project_name"] == "default" for s in spans)
    assert root.resource["service.name"] == "default"
    assert root.scope_name == "valiqor_trace"


def test_tr_prefix_and_listing(tmp_path: Path) -> None:
    out = run_python(APP, cwd=tmp_path)
    trace_id = json.loads(out.strip().splitlines()[-1])["trace_id"]
    store = SpanStore(tmp_path / ".valiqor" / "traces.db")
    assert [s.span_id for s in store.get_trace("tr_" + trace_id)] == [s.span_id for s in store.get_trace(trace_id)]
    [summary] = store.list_traces()
    assert (summary.trace_id, summary.root_name, summary.span_count, summary.error_count) == \
        (trace_id, "rag-request", 3, 0)


def test_list_traces_filters_by_project_time_errors_and_pages(tmp_path: Path) -> None:
    code = """
    import valiqor_trace, time
    h = valiqor_trace.init(project_name="{project}")
    for i in range(3):
        try:
            with valiqor_trace.trace_workflow(f"job-{{i}}"):
                if i == 1:
                    raise RuntimeError("boom")
        except RuntimeError:
            pass
        time.sleep(0.002)
    h.shutdown()
    """
    run_python(code.format(project="alpha"), cwd=tmp_path)
    middle = time.time_ns()
    run_python(code.format(project="beta"), cwd=tmp_path)
    store = SpanStore(tmp_path / ".valiqor" / "traces.db")

    assert len(store.list_traces()) == 6
    alpha = store.list_traces(project_name="alpha")
    assert [t.root_name for t in alpha] == ["job-2", "job-1", "job-0"]  # newest first
    assert [t.root_name for t in store.list_traces(project_name="alpha", has_error=True)] == ["job-1"]
    assert len(store.list_traces(has_error=False)) == 4
    assert {t.project_name for t in store.list_traces(start_ns=middle)} == {"beta"}
    assert {t.project_name for t in store.list_traces(end_ns=middle)} == {"alpha"}
    page1 = store.list_traces(limit=4)
    page2 = store.list_traces(limit=4, offset=4)
    assert len(page1) == 4 and len(page2) == 2
    assert not {t.trace_id for t in page1} & {t.trace_id for t in page2}


def test_unknown_trace_is_empty_and_bad_id_is_a_clear_error(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "t.db")
    assert store.get_trace("0af7651916cd43dd8448eb211c80319c") == []
    try:
        store.get_trace("not-a-trace")
    except ValueError as exc:
        assert "32 hex" in str(exc) and "not-a-trace" in str(exc)
    else:
        raise AssertionError("expected ValueError")
