"""Grounding: facts and content in the answer that no source supports.

Sources are everything the model was given: the input, the context, the outputs of the
tools it ran and the system prompt. A number that came back from a tool is grounded;
only facts found nowhere are flagged. Closed-book answers (no context, no tool output,
a short input) are not checked here: there is nothing to check them against, which is
the judge's job.
"""

from __future__ import annotations

import re

from analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from analyzer.fa.facts import (
    Mention,
    extract_dates,
    extract_entities,
    extract_identifiers,
    extract_numbers,
    extract_quotes,
    extract_times,
)
from analyzer.fa.models import Finding
from analyzer.fa.text import STOPWORDS, WORD_RE, content_terms, sentences, words

NUMERIC_KINDS = frozenset({"number", "percent", "money", "year", "time", "date"})
# The answer may always talk about the material itself without that being a claim.
_FRAMING_WORDS = frozenset(
    """summary summarize summarizes article passage passages text document documents context information
    mentioned mentions provided according states stated describes described overview details detail based
    report reports data source sources response answer question following given""".split()
)
# Share of an answer's distinct content words that may be absent from every source before the answer
# counts as carrying unsupported content. Calibrated once on half of RAGTruth and checked on the other
# half (benchmarks/fa_detection_quality.py, "calibration"); the same value serves every task.
NOVELTY_FAIL = 0.2
NOVELTY_MIN_WORDS = 8
LONG_INPUT_WORDS = 150


def grounding_applies(view: ItemView) -> bool:
    """Context, tool output, or an input long enough to be a source document."""
    return view.has_grounding_sources or len(view.input.split()) >= LONG_INPUT_WORDS


def output_mentions(text: str) -> list[Mention]:
    """Every checkable fact in ``text``; numbers inside dates/times are not counted twice."""
    times = extract_times(text)
    dates = extract_dates(text)
    taken = [(m.start, m.end) for m in (*times, *dates)]
    return [*times, *dates, *extract_numbers(text, taken), *extract_entities(text, taken),
            *extract_identifiers(text), *extract_quotes(text)]


def unsupported_facts(view: ItemView, *, include_weak: bool = True, closed_book: bool = False) -> list[Mention]:
    """Facts of the output found in no source (``closed_book``: any source at all is fine)."""
    del closed_book  # same index either way; kept for call-site clarity
    index = view.sources
    return [m for m in output_mentions(view.output) if (include_weak or m.strong) and not index.supports(m)]


def _cached_unsupported(view: ItemView) -> list[Mention]:
    return view.memo("unsupported_facts", lambda: unsupported_facts(view))  # shared by three detectors


def check_numeric_mismatch(view: ItemView) -> CheckResult:
    if not grounding_applies(view):
        return None
    missing = [m for m in _cached_unsupported(view) if m.kind in NUMERIC_KINDS]
    if not missing:
        return []
    strong = [m for m in missing if m.strong]
    shown = ", ".join(repr(m.text) for m in (strong or missing)[:6])
    evidence = [view.in_output(m.start, m.end, note=f"{m.kind} not in any source") for m in (strong or missing)[:8]]
    if strong:
        return [finding("numeric_mismatch", "fail", 0.75 if len(strong) == 1 else 0.85,
                        f"Numbers or dates in the answer appear in no source: {shown}.", evidence, "numeric_grounding")]
    return [finding("numeric_mismatch", "unsure", 0.4,
                    f"Small counts in the answer appear in no source (they may be derived): {shown}.", evidence,
                    "numeric_grounding", severity_adjustment=-1.0)]


def check_entity_fabrication(view: ItemView) -> CheckResult:
    if not grounding_applies(view):
        return None
    index = view.sources
    full, partial = [], []
    for m in _cached_unsupported(view):
        if m.kind == "identifier":
            full.append((m, "identifier"))
        elif m.kind == "entity":
            missing = index.unsupported_names(m)
            (full if len(missing) == len(m.value) else partial).append((m, " ".join(missing)))
    if not full and not partial:
        return []
    shown = ", ".join(repr(m.text) for m, _ in (full or partial)[:6])
    evidence = [view.in_output(m.start, m.end, note=f"not in any source: {what}") for m, what in (full or partial)[:8]]
    if full:
        return [finding("entity_fabrication", "fail", 0.7 if len(full) == 1 else 0.8,
                        f"Names or identifiers in the answer appear in no source: {shown}.", evidence,
                        "entity_grounding")]
    return [finding("entity_fabrication", "unsure", 0.45,
                    f"Parts of names in the answer appear in no source: {shown}.", evidence, "entity_grounding",
                    severity_adjustment=-1.0)]


def novel_words(view: ItemView) -> tuple[list[str], int]:
    """(content words of the answer found in no source, distinct content words of the answer)."""
    index = view.sources
    distinct = {w for w in words(view.output) if w not in STOPWORDS and len(w) >= 3 and not any(c.isdigit() for c in w)
                and w not in _FRAMING_WORDS}
    novel = sorted(w for w in distinct if not index._known_word(w))
    return novel, len(distinct)


def check_unsupported_claim(view: ItemView) -> CheckResult:
    if not grounding_applies(view):
        return None
    findings: list[Finding] = []
    quotes = [m for m in _cached_unsupported(view) if m.kind == "quote"]
    if quotes:
        findings.append(finding(
            "unsupported_claim", "fail", 0.75,
            f"Quoted text does not appear in any source: {', '.join(repr(m.text[:60]) for m in quotes[:3])}.",
            [view.in_output(m.start, m.end, note="quote not found") for m in quotes[:5]], "content_grounding"))
    novel, total = novel_words(view)
    if total >= NOVELTY_MIN_WORDS and len(novel) / total >= NOVELTY_FAIL:
        share = len(novel) / total
        findings.append(finding(
            "unsupported_claim", "fail", min(0.8, 0.45 + share / 2),
            f"{share:.0%} of the answer's content words ({len(novel)} of {total}) appear in no source, e.g. "
            f"{', '.join(novel[:8])}.", _novel_sentences(view, set(novel)), "content_grounding"))
    return findings


def _novel_sentences(view: ItemView, novel: set[str], limit: int = 3) -> list:
    scored = []
    for start, end, sentence in sentences(view.output):
        hits = [w.group(0) for w in WORD_RE.finditer(sentence) if w.group(0).lower() in novel]
        if hits:
            scored.append((len(hits), start, end, hits))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [view.in_output(start, end, note="unsupported words: " + ", ".join(dict.fromkeys(hits))[:120])
            for _, start, end, hits in sorted(scored[:limit], key=lambda s: s[1])]


_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|neither|nor|without|cannot)\b|n't\b", re.IGNORECASE)


def check_negation_conflict(view: ItemView) -> CheckResult:
    """An answer sentence that negates what a source sentence on the same terms affirms (or the reverse)."""
    if not grounding_applies(view):
        return None
    source_sentences = _source_sentences(view)
    for start, end, sentence in sentences(view.output):
        terms = content_terms(sentence)
        if len(terms) < 2:
            continue
        negated = bool(_NEGATION.search(sentence))
        for src_terms, src_negated, src_text, where in source_sentences:
            if src_negated == negated:
                continue
            shared = len(terms & src_terms)
            if shared >= 2 and shared / len(terms) >= (0.5 if negated else 0.75):
                return [finding("contradicts_source", "unsure", 0.5,
                                "The answer " + ("negates" if negated else "affirms") + " what a source "
                                + ("affirms" if negated else "negates") + " about the same terms.",
                                [view.in_output(start, end), where(src_text)], "negation_conflict")]
    return []


def _source_sentences(view: ItemView) -> list[tuple[set[str], bool, str, object]]:
    found = []
    for i, text in enumerate(view.context[:20]):
        for _, _, sentence in list(sentences(text))[:200]:
            found.append((content_terms(sentence), bool(_NEGATION.search(sentence)), sentence,
                          lambda quote, i=i: view.in_context(i, note=quote[:120])))
    for i, text in view.executed_outputs[:20]:
        for _, _, sentence in list(sentences(text))[:200]:
            found.append((content_terms(sentence), bool(_NEGATION.search(sentence)), sentence,
                          lambda quote, i=i: view.in_tool(i, "tool_output", text=quote)))
    return found


DETECTORS = (
    Detector("numeric_grounding", ("numeric_mismatch",), check_numeric_mismatch, pass_confidence=0.7),
    Detector("entity_grounding", ("entity_fabrication",), check_entity_fabrication, pass_confidence=0.6),
    Detector("content_grounding", ("unsupported_claim",), check_unsupported_claim, pass_confidence=0.55),
    Detector("negation_conflict", ("contradicts_source",), check_negation_conflict, pass_confidence=0.5),
)
