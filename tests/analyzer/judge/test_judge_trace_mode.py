"""Trace mode: the judge's evidence quotes point at the spans they came from."""

from __future__ import annotations

import valiqor_trace
from valiqor_trace.testing import JudgeServer
from valiqor_trace.analyzer.models import TraceFacts
from tests.analyzer.judge.judge_helpers import judge_tags


def test_judge_evidence_carries_the_answers_span_id(make_client, judge_server: JudgeServer) -> None:
    client = make_client()
    handle = valiqor_trace.init(store_path=client.config.trace_store_file, instrument=False)
    with valiqor_trace.trace_workflow("opening-hours") as wf:
        wf.set_input("When does the Louvre open, and is it open on Tuesdays?")
        wf.set_output("The Louvre opens at 9 am. Enjoy your visit!")
    handle.shutdown()
    judge_server.decisions["incomplete_answer"] = ("fail", 0.85)
    result = client.failure_analysis.run(trace_id=wf.trace_id)
    item = client.traces.reconstruct(wf.trace_id)
    output_span = item.metadata[TraceFacts.OUTPUT_SPAN_IDS][-1]
    tag = judge_tags(result)[(0, "incomplete_answer")]
    assert tag.decision == "fail" and tag.trace_id == wf.trace_id
    quote = tag.evidence_items[0]
    assert (quote.source, quote.text, quote.span_id, quote.start) == ("output", "The Louvre opens at 9 am", output_span, 0)
    assert "When does the Louvre open" in judge_server.requests[0].body["messages"][1]["content"]
