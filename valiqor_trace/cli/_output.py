"""Printing for the CLI: errors, span trees (``valiqor_trace.format_trace`` is the public face of the tree), and
any table on stdout."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from valiqor_trace.attributes import GEN_AI_OPERATION_NAME, SPAN_KIND
from valiqor_trace.internal import plain, printable, render
from valiqor_trace.store import SpanRecord


def error_line(exc: BaseException) -> None:
    print(f"error: {printable(exc, newlines=True)}", file=sys.stderr)



def _label(span: SpanRecord, note: str | None = None) -> Text:
    """Name, kind, duration, ERROR and its message, ``note`` (its cost), span id: all as literal text (names
    come from traces)."""
    kind = span.attributes.get(SPAN_KIND) or span.attributes.get(GEN_AI_OPERATION_NAME) \
        or span.attributes.get("openinference.span.kind")
    label = Text.assemble(plain(span.name, "bold"), plain(f"  [{kind}]" if kind else "", "cyan"))
    if span.duration_ms is not None:
        label.append(f"  {span.duration_ms:.1f} ms")
    if span.is_error:
        label.append_text(plain(f"  ERROR {span.status_message or ''}".rstrip(), "bold red"))
    if note:
        label.append_text(plain(f"  {note}"))
    label.append_text(plain(f"  ({span.span_id})", "dim"))
    return label


def span_tree(spans: Sequence[SpanRecord], notes: Mapping[str, str] | None = None, *,
              marks: Mapping[str, str] | None = None) -> RenderableType:
    """The spans of one trace as a tree; spans whose parent is missing become roots.

    ``notes``: span id -> text shown after the span's label (``valiqor traces show``: its cost).
    ``marks`` (span id -> text, e.g. "evidence: ungrounded_claim") is shown after its span's line, after a ◆.
    """
    notes = notes or {}
    marks = marks or {}

    def label(span: SpanRecord) -> Text:
        text = _label(span, notes.get(span.span_id))
        if span.span_id in marks:
            text.append_text(plain(f"  ◆ {marks[span.span_id]}", "bold magenta"))
        return text
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in spans:
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)

    def grow(node: Tree, parent: str | None) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time_unix_nano):
            grow(node.add(label(span)), span.span_id)

    roots = []
    for root in sorted(children.get(None, []), key=lambda s: s.start_time_unix_nano):
        tree = Tree(label(root), guide_style="dim")
        grow(tree, root.span_id)
        roots.append(tree)
    return Group(*roots)


def format_trace(spans: Sequence[SpanRecord], *, width: int | None = None) -> str:
    """The spans of one trace as an indented tree, the way ``valiqor traces show`` prints them.

    One line per span: name, kind, duration, ``ERROR`` and the status message when it failed,
    and the span id; children under their parent in start order. Spans whose parent is not
    among ``spans`` are printed as roots. Lines fit ``width`` columns (default: the terminal's, or
    ``COLUMNS``); names are printed literally (control characters as ``\\x1b`` escapes).

    Example:
        print(valiqor_trace.format_trace(handle.store.get_trace(trace_id)))
    """
    return render(span_tree(spans), width=width)
