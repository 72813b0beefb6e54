"""Human-readable FA reports for the terminal (summary, failures table), their CSV rows, and run progress."""

from __future__ import annotations

from typing import IO, Any

from rich.console import Group, RenderableType
from rich.text import Text

from valiqor_trace.analyzer.fa.models import EvidenceItem, FailureTag
from valiqor_trace.analyzer.runs import FAResult, RunStatus
from valiqor_trace.internal import ProgressBar, TableColumn, longest_word, plain, render, table, write_csv

GATE_EXIT_CODE = 3
CSV_FIELDS = ("run_id", "item_index", "trace_id", "decision", "bucket_id", "bucket_name", "subcategory_id",
              "subcategory_name", "severity", "confidence", "detector_type_used", "detector", "rationale",
              "evidence", "span_ids", "tag_id")


def format_result(result: FAResult, *, max_rows: int = 50, width: int | None = None) -> str:
    """The report ``valiqor fa run`` prints: a summary block and one row per failing (or unsure) tag.

    Rows are most severe first, at most ``max_rows`` of them, each with its full rationale and its
    evidence (quotes and span ids); the summary names the run, the gates (alert, CI, human review),
    security and eval results, and skipped detectors with why. Lines fit ``width`` columns (default:
    the terminal's, or ``COLUMNS``), wrapping rather than cutting. Public as ``valiqor_trace.format_result``.

    Example:
        print(valiqor_trace.format_result(client.failure_analysis.run(dataset=items)))
    """
    return render(result_report(result, max_rows=max_rows), width=width)


def result_report(result: FAResult, *, max_rows: int = 50) -> RenderableType:
    """:func:`format_result` as a rich renderable, for a console that may colour it."""
    parts: list[RenderableType] = [_summary(result)]
    rows = failing_tags(result)
    if not rows:
        parts.append(Text("\nno failures found"))
        return Group(*parts)
    parts.append(Text(""))
    parts.append(failures_table(rows[:max_rows]))
    if len(rows) > max_rows:
        parts.append(Text(f"... {len(rows) - max_rows} more (--json, --output FILE or --format csv for all)"))
    return Group(*parts)


def failing_tags(result: FAResult) -> list[FailureTag]:
    """The failing and unsure tags, failing first, most severe first, then by item."""
    return sorted((t for t in result.failure_tags if t.decision != "pass"),
                  key=lambda t: (t.decision != "fail", -t.severity, t.item_index))


def _summary(result: FAResult) -> Text:
    s = result.summary
    lines = [
        plain(f"run {result.run_id}  [{result.status}{', partial' if result.partial else ''}]  project "
              f"{result.project_name}  {result.input_type}{' ' + result.trace_id if result.trace_id else ''}  "
              f"{result.duration_ms:.0f} ms"),
        plain(f"items {s.total_items}  with failures {s.items_with_failures}  all passed {s.items_all_passed}  "
              f"failures {s.total_failures_detected}  unsure {s.total_uncertain}"),
        Text.assemble(plain(f"severity {s.overall_severity:.1f}/5  confidence {s.overall_confidence:.2f}  "
                            f"primary "), plain(s.primary_failure_name or "-", "bold")),
        # the gates on a line of their own: whole at 80 columns, where a longer line would wrap among them
        Text.assemble(f"alert {_yes(s.should_alert)}  gate CI ", _gate(s.should_gate_ci),
                      f"  human review {_yes(s.needs_human_review)}"),
    ]
    if result.input_type == "trace" and result.cost.llm_calls:
        lines.append(plain(f"cost of the traced calls: {result.cost.describe()}"))
    if result.security_flags:
        failing = [code for code, verdict in result.security_flags.items() if verdict == "fail"]
        lines.append(plain(f"security: {', '.join(failing) + ' failed' if failing else 'all passed'}"
                           f" ({len(result.security_flags)} categories)"))
    if result.eval_metrics:
        lines.append(plain("eval: " + "  ".join(f"{k} {v:.2f}" for k, v in sorted(result.eval_metrics.items()))))
    by_reason: dict[str, list[str]] = {}
    for skipped in result.detectors_skipped:
        by_reason.setdefault(skipped.reason, []).append(skipped.detector)
    lines += [plain(f"skipped {', '.join(detectors)}: {reason}") for reason, detectors in by_reason.items()]
    lines += [plain(note) for note in _root_missing_notes(result)]
    return Text("\n").join(lines)


def failures_table(tags: list[FailureTag]) -> RenderableType:
    """One row per tag: item, severity, confidence, the failure (subcategory, then its bucket), and the
    rationale in full with the evidence under it. Names wrap at word boundaries, never mid-word."""
    names = [tag.subcategory_name for tag in tags] + [tag.bucket_name for tag in tags]
    columns = [
        TableColumn("item", lambda t: str(t.item_index), justify="right", no_wrap=True),
        TableColumn("sev", lambda t: Text(f"{t.severity:.0f}", style=_severity_style(t)), justify="right",
                    no_wrap=True),
        TableColumn("conf", lambda t: f"{t.confidence:.2f}", justify="right", no_wrap=True),
        TableColumn("failure", _failure_cell, min_width=min(longest_word(names) + 2, 30)),
        TableColumn("rationale and evidence", _rationale_cell, min_width=24),
    ]
    return table(columns, tags)


def _failure_cell(tag: FailureTag) -> Text:
    mark = "" if tag.decision == "fail" else "? "  # unsure: the detector could not decide
    return Text.assemble(plain(mark + tag.subcategory_name, _severity_style(tag)), "\n",
                         plain(tag.bucket_name, "dim"))


def _rationale_cell(tag: FailureTag) -> Text:
    lines = [plain(" ".join((tag.judge_rationale or "-").split()))]
    lines += [plain(evidence_line(evidence), "dim") for evidence in tag.evidence_items]
    return Text("\n").join(lines)


def evidence_line(evidence: EvidenceItem) -> str:
    """One piece of evidence as a line: where it is (source, position, span) and the quote."""
    where = evidence.source + (f"[{evidence.index}]" if evidence.index is not None else "")
    if evidence.span_id:
        where = f"span {evidence.span_id}" if where == "span" else f"{where}, span {evidence.span_id}"
    quote = f' "{" ".join(evidence.text.split())}"' if evidence.text else ""
    note = f" ({evidence.note})" if evidence.note else ""
    return f"↳ {where}:{quote}{note}" if quote or note else f"↳ {where}"


def _severity_style(tag: FailureTag) -> str:
    if tag.decision != "fail":
        return "cyan"
    return "bold red" if tag.severity >= 4 else "yellow" if tag.severity >= 3 else ""


def _gate(block: bool) -> Text:
    return Text("YES", style="bold red") if block else Text("no")


def _root_missing_notes(result: FAResult) -> list[str]:
    """One line per item whose trace had no root span: what it read may be short of the whole request."""
    return [f"note: item {item.item_index}"
            + (f" (trace {item.trace_id})" if item.trace_id else "")
            + ": the root span is missing (it lived in another service, or the exporter dropped it); "
              "analyzed from the spans there are" for item in result.inputs if item.root_missing]


def _yes(flag: bool) -> str:
    return "YES" if flag else "no"


def write_result_csv(result: FAResult, stream: IO[str]) -> None:
    """The failing and unsure tags of ``result`` as CSV, one row per tag (``CSV_FIELDS``)."""
    write_csv(stream, CSV_FIELDS, (_csv_row(result, tag) for tag in failing_tags(result)))


def _csv_row(result: FAResult, tag: FailureTag) -> dict[str, Any]:
    row: dict[str, Any] = tag.model_dump(include=set(CSV_FIELDS))
    row.update(run_id=result.run_id, rationale=tag.judge_rationale,
               evidence=[evidence_line(e).removeprefix("↳ ") for e in tag.evidence_items],
               span_ids=list(dict.fromkeys(e.span_id for e in tag.evidence_items if e.span_id)))
    return row


class RunProgress:
    """``on_progress`` for ``handle.wait``: a progress bar of the run's items on stderr (when a terminal)."""

    def __init__(self) -> None:
        self.bar = ProgressBar("analyzing")

    @property
    def enabled(self) -> bool:
        return self.bar.enabled

    def __call__(self, status: RunStatus) -> None:
        if status.total_items <= 1:
            return
        self.bar.update(status.current_item, status.total_items, description=f"run {status.run_id}")
        if status.status != "running":
            self.bar.stop()

    def note(self, message: str) -> None:
        self.bar.note(message)

    def stop(self) -> None:
        self.bar.stop()
