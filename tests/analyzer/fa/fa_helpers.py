"""Builders shared by the FA tests: realistic items in dataset and trace form."""

from __future__ import annotations

from typing import Any

from valiqor_trace.analyzer.fa.detectors import ItemView
from valiqor_trace.analyzer.fa.engine import infer_feature_kind
from valiqor_trace.analyzer.fa.models import Finding
from valiqor_trace.analyzer.models import FAItem, ToolCall, TraceFacts

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def make_item(input: str = "", output: str = "", context: list[str] | None = None,
              tool_calls: list[dict[str, Any]] | None = None, **metadata: Any) -> FAItem:
    """A dataset-mode item (``metadata`` keys are TraceFacts keys when given)."""
    return FAItem(input=input, output=output, context=context or [],
                  tool_calls=[ToolCall(**call) for call in tool_calls or []], metadata=metadata)


def trace_item(input: str = "", output: str = "", context: list[str] | None = None,
               tool_calls: list[dict[str, Any]] | None = None, *, output_span: str = "a1a1a1a1a1a1a1a1",
               input_span: str = "b2b2b2b2b2b2b2b2", context_spans: list[str] | None = None,
               **facts: Any) -> FAItem:
    """An item as reconstruction builds it from a trace: trace id, span ids and trace facts."""
    metadata = {TraceFacts.SPAN_COUNT: 5, TraceFacts.OUTPUT_SPAN_IDS: [output_span],
                TraceFacts.INPUT_SPAN_IDS: [input_span],
                TraceFacts.CONTEXT_SPAN_IDS: context_spans or ["c3c3c3c3c3c3c3c3"] * len(context or []),
                **facts}
    return FAItem(input=input, output=output, context=context or [],
                  tool_calls=[ToolCall(**call) for call in tool_calls or []], trace_id=TRACE_ID, metadata=metadata)


def view_of(item: FAItem, kind: str | None = None) -> ItemView:
    return ItemView(item, kind or infer_feature_kind(item))


def only(findings: list[Finding] | None, subcategory: str) -> list[Finding]:
    assert findings is not None, "the detector said it does not apply"
    return [f for f in findings if f.subcategory_id == subcategory]
