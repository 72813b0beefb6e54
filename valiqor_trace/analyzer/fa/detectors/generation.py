"""Generation failures: empty, truncated, errored or degenerate model output."""

from __future__ import annotations

import json
import re
from collections import Counter

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.models import EvidenceItem, Finding
from valiqor_trace.analyzer.fa.text import WORD_RE, ngrams, words

_STUTTER = re.compile(r"(?<!\S)(\S+)(?: \1(?!\S)){7,}")  # one word 8+ times in a row
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
_LENGTH_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "max_completion_tokens", "token_limit"})
_FILTER_REASONS = frozenset({"content_filter", "safety", "recitation", "blocklist", "prohibited_content"})
_DANGLING_END = re.compile(r"\b(?:the|a|an|and|or|of|to|with|for|in|on|by|that|which|because|is|are)\s*$", re.I)
_ERROR_KINDS = {
    "rate limit": re.compile(r"rate.?limit|429|too many requests|quota", re.I),
    "timeout": re.compile(r"time(?:d)?.?out|deadline", re.I),
    "authentication": re.compile(r"401|403|auth|api key|permission", re.I),
    "context length": re.compile(r"context.?length|maximum context|too many tokens|context window", re.I),
    "server error": re.compile(r"\b5\d\d\b|server error|overloaded|unavailable", re.I),
}


def check_empty_output(view: ItemView) -> CheckResult:
    if view.output.strip(" \t\r\n.,;:!?-_*`'\"()[]{}"):
        return []
    failed = view.output_error
    if failed is not None:  # the run itself failed: say where and why, next to the (empty) answer
        message = str(failed.get("message") or failed.get("error_type") or "error")
        return [finding("empty_output", "fail", 0.98,
                        f"No answer: {failed.get('name')!r} ended in error before answering ({message[:160]}).",
                        [view.in_output(text=view.output, note="no answer was given"),
                         view.in_span(failed.get("span_id"), message, note="the run ended in error here")],
                        "empty_output")]
    note = "an LLM call failed in this trace" if view.error_spans else None
    return [finding("empty_output", "fail", 0.98, "The model returned no usable text.",
                    [view.in_output(note=note, text=view.output)], "empty_output")]


def _length_calls(view: ItemView) -> list[dict]:
    return [c for c in view.llm_calls if _LENGTH_REASONS & {str(r).lower() for r in c.get("finish_reasons") or []}]


def check_truncated_output(view: ItemView) -> CheckResult:
    reasons = view.finish_reasons
    if any(r in _LENGTH_REASONS for r in reasons):
        final = reasons[-1] in _LENGTH_REASONS
        calls = _length_calls(view)
        evidence = [view.in_span(c.get("span_id"), c.get("output") or "", note="finish_reason=length") for c in calls]
        if final or not evidence:
            evidence.append(view.in_output(text=view.output[-200:], note="finish_reason=length"))
        where = "the final answer" if final else "an intermediate LLM call"
        return [finding("truncated_output", "fail", 0.95 if final else 0.85,
                        f"Generation stopped at the token limit (finish reason 'length') in {where}.",
                        evidence, "truncated_output", severity_adjustment=0.0 if final else -1.0)]
    return _truncation_shape(view)


def _truncation_shape(view: ItemView) -> CheckResult:
    """Without finish reasons, look at the shape of the text's end."""
    text = view.output.rstrip()
    if not text:
        return None
    tail = text[-120:]
    if text.count("```") % 2 == 1:
        return [finding("truncated_output", "unsure", 0.6, "The output opens a code block it never closes.",
                        [view.in_output(len(text) - len(tail), len(text))], "truncated_output")]
    if text[0] in "{[" and _unbalanced_json(text):
        return [finding("truncated_output", "unsure", 0.65, "The output starts a JSON value that is never closed.",
                        [view.in_output(len(text) - len(tail), len(text))], "truncated_output")]
    if len(text) > 200 and text[-1].isalnum() and _DANGLING_END.search(tail):
        return [finding("truncated_output", "unsure", 0.55, "The output ends mid-sentence on a function word.",
                        [view.in_output(len(text) - len(tail), len(text))], "truncated_output")]
    return []


def _unbalanced_json(text: str) -> bool:
    try:
        json.loads(text)
        return False
    except ValueError:
        return text.count("{") + text.count("[") > text.count("}") + text.count("]")


def _error_kind(message: str) -> str:
    for kind, pattern in _ERROR_KINDS.items():
        if pattern.search(message):
            return kind
    return "error"


def check_llm_error(view: ItemView) -> CheckResult:
    findings = []
    for entry in view.error_spans:
        if entry.get("kind") != "llm":
            continue
        message = f"{entry.get('error_type') or ''}: {entry.get('message') or ''}".strip(": ")
        kind = _error_kind(message)
        findings.append(finding("llm_error", "fail", 0.95, f"An LLM call failed ({kind}): {message[:200]}",
                                [view.in_span(entry.get("span_id"), message, note=kind)], "llm_error"))
    if any(r in _FILTER_REASONS for r in view.finish_reasons):
        calls = [c for c in view.llm_calls if _FILTER_REASONS & {str(r).lower() for r in c.get("finish_reasons") or []}]
        evidence = [view.in_span(c.get("span_id"), c.get("output") or "", note="content filter") for c in calls]
        findings.append(finding("llm_error", "fail", 0.9, "The provider's content filter stopped a generation.",
                                evidence or [view.in_output(note="finish_reason=content_filter")], "llm_error"))
    return findings


def check_degenerate_repetition(view: ItemView) -> CheckResult:
    tokens = words(view.output)
    if len(tokens) < 12:
        return [] if tokens else None
    # the stutter regex needs two equal neighbours; checking for them first skips a slow regex scan
    stutter = _STUTTER.search(" ".join(tokens)) if any(map(str.__eq__, tokens, tokens[1:])) else None
    if stutter:
        token_at, longest = stutter.group(1), len(stutter.group(0).split())
        return [_repetition(view, f"The word {token_at!r} repeats {longest} times in a row.", token_at, 0.9)]
    grams = len(tokens) - 3 if len(tokens) >= 40 else 0  # how many 4-grams (long outputs only)
    # (the 4-grams as ``ngrams(tokens, 4)`` yields them, zipped directly: a quarter cheaper)
    distinct = len(set(zip(tokens, tokens[1:], tokens[2:], tokens[3:]))) if grams else 0
    # if half the 4-grams were repeats, at most 3/4 of them could be distinct: skip the count otherwise
    if grams and distinct <= 0.75 * grams:
        counts = Counter(ngrams(tokens, 4))
        repeated = sum(c for c in counts.values() if c > 1)
        share = repeated / grams
        if share >= 0.5:
            top = " ".join(counts.most_common(1)[0][0])
            return [_repetition(view, f"{share:.0%} of the output's 4-word phrases are repeats (e.g. {top!r}).", top,
                                min(0.95, 0.5 + share / 2))]
    if grams and distinct > grams - 6:
        return []  # a sentence of 5+ words said 3 times repeats at least six 4-grams
    sentence_counts = Counter(s.strip().lower() for s in _SENTENCE_SPLIT.split(view.output) if len(s.split()) >= 5)
    if sentence_counts:
        sentence, count = sentence_counts.most_common(1)[0]
        if count >= 3:
            return [_repetition(view, f"The same sentence appears {count} times.", sentence, 0.85)]
    return []


def _repetition(view: ItemView, rationale: str, passage: str, confidence: float) -> Finding:
    start = _find_words(view.output, passage)
    evidence: list[EvidenceItem] = [view.in_output(start, start + len(passage)) if start is not None
                                    else view.in_output(text=passage)]
    return finding("degenerate_repetition", "fail", confidence, rationale, evidence, "degenerate_repetition")


def _find_words(text: str, passage: str) -> int | None:
    first = passage.split()[0] if passage.split() else ""
    for match in WORD_RE.finditer(text):
        if match.group(0).lower() == first:
            return match.start()
    return None


DETECTORS = (
    Detector("empty_output", ("empty_output",), check_empty_output, pass_confidence=0.99),
    Detector("truncated_output", ("truncated_output",), check_truncated_output, pass_confidence=0.8),
    Detector("llm_error", ("llm_error",), check_llm_error, needs_trace=True, pass_confidence=0.95),
    Detector("degenerate_repetition", ("degenerate_repetition",), check_degenerate_repetition, pass_confidence=0.9),
)
