"""Printing for the CLI: errors, span trees (``valiqor_trace.format_trace`` is the public face of the tree)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from valiqor_trace.attributes import GEN_AI_OPERATION_NAME, SPAN_KIND
from valiqor_trace.store import SpanRecord


def error_line(exc: BaseException) -> None:
    print(f"error: {exc}", file=sys.stderr)


def _label(span: SpanRecord) -> str:
    parts = [span.name]
    kind = span.attributes.get(SPAN_KIND) or span.attributes.get(GEN_AI_OPERATION_NAME) \
        or span.attributes.get("openinference.span.kind")
    if kind:
        parts.append(f"[{kind}]")
    if span.duration_ms is not None:
        parts.append(f"{span.duration_ms:.1f} ms")
    if span.is_error:
        parts.append(f"ERROR {span.status_message or ''}".rstrip())
    return "  ".join(parts)


def span_tree_lines(spans: Sequence[SpanRecord], notes: Mapping[str, str] | None = None, *,
                    marks: Mapping[str, str] | None = None) -> list[str]:
    """The spans of one trace as an indented tree; spans whose parent is missing become roots.

    ``notes``: span id -> text printed after the span's label (``valiqor traces show``: its cost).
    ``marks`` (span id -> text, e.g. "evidence: ungrounded_claim") is shown after its span's line, after a ◆.
    """
    notes = notes or {}
    marks = marks or {}
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, prefix: str) -> None:
        kids = sorted(children.get(parent, []), key=lambda s: s.start_time_unix_nano)
        for index, span in enumerate(kids):
            last = index == len(kids) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            note = f"  {notes[span.span_id]}" if span.span_id in notes else ""
            mark = f"  ◆ {marks[span.span_id]}" if span.span_id in marks else ""
            lines.append(f"{prefix}{branch}{_label(span)}{note}  ({span.span_id}){mark}")
            walk(span.span_id, prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    return lines


def format_trace(spans: Sequence[SpanRecord]) -> str:
    """The spans of one trace as an indented tree, the way ``valiqor traces show`` prints them.

    One line per span: name, kind, duration, ``ERROR`` and the status message when it failed,
    and the span id; children under their parent in start order. Spans whose parent is not
    among ``spans`` are printed as roots.

    Example:
        print(valiqor_trace.format_trace(handle.store.get_trace(trace_id)))
    """
    return "\n".join(span_tree_lines(spans))
