"""A model call whose prompt requires an end marker its output lacks is a format violation at that call."""

from __future__ import annotations

import json

from valiqor_trace.analyzer.fa.detectors.base import ItemView
from valiqor_trace.analyzer.fa.detectors.calls import check_required_end_marker, required_end_marker
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.store import SpanRecord


def _span(span_id: str, kind: str, *, parent: str | None = None, start: int, **attributes: object) -> SpanRecord:
    attrs = {key.replace("__", "."): value for key, value in attributes.items()}
    attrs["openinference.span.kind"] = kind
    return SpanRecord(trace_id="ef" * 16, span_id=span_id, parent_span_id=parent, name=kind.lower(),
                      start_time_unix_nano=start, end_time_unix_nano=start + 5, attributes=attrs, status_code="OK")


def _run(prompt: str, output: str, params: dict[str, object] | None = None) -> list[SpanRecord]:
    llm = {"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": prompt,
           "llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": output}
    if params is not None:
        llm["llm.invocation_parameters"] = json.dumps(params)
    return [_span("a" * 16, "AGENT", start=0, input__value='{"task": "Plan the trip."}', output__value="done"),
            _span("b" * 16, "LLM", parent="a" * 16, start=1, **{k.replace(".", "__"): v for k, v in llm.items()})]


def _findings(spans: list[SpanRecord]) -> list[object]:
    return check_required_end_marker(ItemView(reconstruct_item(spans), "agent")) or []


PROMPT = ("List the steps to book the trip, one per line.\nWhen you are finished, write '<DONE>' at the end.\n"
          "Here are the tools you can use: ...")


def test_a_missing_end_marker_fails_at_the_call_that_left_it_out() -> None:
    findings = _findings(_run(PROMPT, "1. Pick dates\n2. Book the flight\n"))
    assert len(findings) == 1
    finding = findings[0]
    assert finding.subcategory_id == "format_violation" and finding.decision == "fail"
    assert [e.span_id for e in finding.evidence] == ["b" * 16]
    assert "'<DONE>'" in finding.rationale


def test_the_marker_present_or_cut_off_as_a_stop_sequence_is_fine() -> None:
    assert _findings(_run(PROMPT, "1. Pick dates\n2. Book the flight\n<DONE>")) == []
    # The API removes a stop sequence from the output: its absence is expected.
    assert _findings(_run(PROMPT, "1. Pick dates\n2. Book the flight\n", {"stop": ["<DONE>"]})) == []


def test_other_phrasings_of_an_end_marker_instruction() -> None:
    assert required_end_marker('Close every reply with "-- Support bot".') == "-- Support bot"
    assert required_end_marker("Finish your answer with </answer>.") == "</answer>"
    assert required_end_marker("After the last step, append the `[[end]]` token and stop.") == "[[end]]"
    assert required_end_marker('Write "yes" or "no".') is None  # an answer format, not an end marker
    assert required_end_marker("Print the total at the end of the report.") is None  # no literal marker
    assert _findings(_run("Summarise the policy in two lines.", "Refunds within 30 days.")) == []
