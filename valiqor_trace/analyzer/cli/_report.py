"""Human-readable FA reports for the terminal: summary, failures table, progress bar."""

from __future__ import annotations

import shutil
import sys
import textwrap

from valiqor_trace.analyzer.runs import FAResult, RunStatus

GATE_EXIT_CODE = 3


def _width() -> int:
    return max(80, min(shutil.get_terminal_size((120, 24)).columns, 160))


def format_result(result: FAResult, *, max_rows: int = 50) -> str:
    """The report ``valiqor fa run`` prints: a summary block and one row per failing (or unsure) tag.

    Rows are most severe first, at most ``max_rows`` of them; the summary names the run, the
    gates (alert, CI, human review), security and eval results, and skipped detectors with why.
    Public as ``valiqor_trace.format_result``.

    Example:
        print(valiqor_trace.format_result(client.failure_analysis.run(dataset=items)))
    """
    s = result.summary
    lines = [
        f"run {result.run_id}  [{result.status}{', partial' if result.partial else ''}]  project {result.project_name}"
        f"  {result.input_type}{' ' + result.trace_id if result.trace_id else ''}  {result.duration_ms:.0f} ms",
        f"items {s.total_items}  with failures {s.items_with_failures}  all passed {s.items_all_passed}  "
        f"failures {s.total_failures_detected}  unsure {s.total_uncertain}",
        f"severity {s.overall_severity:.1f}/5  confidence {s.overall_confidence:.2f}  "
        f"primary {s.primary_failure_name or '-'}  alert {_yes(s.should_alert)}  gate CI {_yes(s.should_gate_ci)}  "
        f"human review {_yes(s.needs_human_review)}",
    ]
    if result.input_type == "trace" and result.cost.llm_calls:
        lines.append(f"cost of the traced calls: {result.cost.describe()}")
    if result.security_flags:
        failing = [code for code, verdict in result.security_flags.items() if verdict == "fail"]
        lines.append(f"security: {', '.join(failing) + ' failed' if failing else 'all passed'}"
                     f" ({len(result.security_flags)} categories)")
    if result.eval_metrics:
        lines.append("eval: " + "  ".join(f"{k} {v:.2f}" for k, v in sorted(result.eval_metrics.items())))
    by_reason: dict[str, list[str]] = {}
    for skipped in result.detectors_skipped:
        by_reason.setdefault(skipped.reason, []).append(skipped.detector)
    for reason, detectors in by_reason.items():
        lines.append(f"skipped {', '.join(detectors)}: {reason}")
    lines.extend(_root_missing_notes(result))
    rows = sorted((t for t in result.failure_tags if t.decision != "pass"),
                  key=lambda t: (t.decision != "fail", -t.severity, t.item_index))
    if not rows:
        lines.append("\nno failures found")
        return "\n".join(lines)
    width = _width()
    rationale_width = max(30, width - 66)
    lines.append("")
    lines.append(f"{'item':>4}  {'bucket':<22} {'subcategory':<30} {'sev':>3} {'conf':>4}  rationale")
    for tag in rows[:max_rows]:
        rationale = textwrap.shorten(" ".join((tag.judge_rationale or "").split()), rationale_width,
                                     placeholder="…")
        mark = "" if tag.decision == "fail" else "?"
        lines.append(f"{tag.item_index:>4}  {tag.bucket_name[:22]:<22} {(mark + tag.subcategory_name)[:24]:<24} "
                     f"{tag.severity:>3.0f} {tag.confidence:>4.2f}  {rationale}")
    if len(rows) > max_rows:
        lines.append(f"... {len(rows) - max_rows} more (use --json or --output for all)")
    return "\n".join(lines)


def _root_missing_notes(result: FAResult) -> list[str]:
    """One line per item whose trace had no root span: what it read may be short of the whole request."""
    return [f"note: item {item.item_index}"
            + (f" (trace {item.trace_id})" if item.trace_id else "")
            + ": the root span is missing (it lived in another service, or the exporter dropped it); "
              "analyzed from the spans there are" for item in result.inputs if item.root_missing]


def _yes(flag: bool) -> str:
    return "YES" if flag else "no"


class ProgressBar:
    """A one-line progress bar on stderr, redrawn in place; silent when stderr is not a terminal."""

    def __init__(self, stream=None, *, force: bool = False) -> None:  # noqa: ANN001 - a text stream
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self._last = -1

    def __call__(self, status: RunStatus) -> None:
        if not self.enabled or status.total_items <= 1:
            return
        percent = int(status.progress_percent)
        if percent == self._last and status.status == "running":
            return
        self._last = percent
        filled = percent * 30 // 100
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {percent:3d}% "
                          f"{status.current_item}/{status.total_items} items")
        if status.status != "running":
            self.stream.write("\n")
        self.stream.flush()
