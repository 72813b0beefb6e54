"""Grounding: facts and content in the answer that no source supports.

Sources are everything the model was given: the input, the context, the outputs of the
tools it ran and the system prompt. A number that came back from a tool is grounded;
only facts found nowhere are flagged. Closed-book answers (no context, no tool output,
a short input) are not checked here: there is nothing to check them against, which is
the judge's job.
"""

from __future__ import annotations

import re
from itertools import compress

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.facts import (
    Mention,
    extract_dates,
    extract_entities,
    extract_identifiers,
    extract_numbers,
    extract_quotes,
    extract_times,
)
from valiqor_trace.analyzer.fa.detectors.structured import parse_structured
from valiqor_trace.analyzer.fa.models import Finding
from valiqor_trace.analyzer.fa.text import STOPWORDS, WORD_RE, ascii_tokens, sentences, words
from valiqor_trace.analyzer.fa.vocab import PLACE_ABBREVIATIONS

_DIGIT = re.compile(r"\d")
NUMERIC_KINDS = frozenset({"number", "percent", "money", "year", "time", "date"})
# The answer may always talk about the material itself without that being a claim.
_FRAMING_WORDS = frozenset(
    """summary summarize summarizes article passage passages text document documents context information
    mentioned mentions provided according states stated describes described overview details detail based
    report reports data source sources response answer question following given""".split()
)
# Share of an answer's distinct content words that may be absent from every source before the answer
# counts as carrying unsupported content. Calibrated once on half of RAGTruth and checked on the other
# half (benchmarks/fa_detection_quality.py prints the calibration); one value for every prose source.
NOVELTY_FAIL: float | None = 0.16
# When every source is structured data (JSON), putting it into words necessarily brings words the
# source does not have, so the bar is higher (calibrated the same way; None turns the rule off).
# Facts and fields are still checked one by one (numbers, names, structured fields).
NOVELTY_FAIL_STRUCTURED: float | None = 0.51
NOVELTY_MIN_WORDS = 8
# A high share of a short answer is a handful of words, and a handful of novel words is most often
# paraphrase ("therefore", "various", "ensure"); a fabricated passage brings many. Below this many novel
# words a high share is reported as "unsure", not a fail (prose sources; calibrated with NOVELTY_FAIL on
# the same half; None: no minimum). Names and numbers are checked one by one whatever the count.
NOVELTY_FAIL_WORDS: int | None = 9
NOVELTY_FAIL_WORDS_STRUCTURED: int | None = 30
_NOT_CLAIM_WORDS = STOPWORDS | _FRAMING_WORDS
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


def answer_mentions(view: ItemView) -> list[Mention]:
    """The checkable facts of the item's answer (computed once per item)."""
    return view.memo("answer_mentions", lambda: output_mentions(view.output))


def unsupported_facts(view: ItemView, *, include_weak: bool = True) -> list[Mention]:
    """Facts of the answer found in no source."""
    index = view.sources
    return [m for m in answer_mentions(view) if (include_weak or m.strong) and not index.supports(m)]


def unsupported_answer_facts(view: ItemView) -> list[Mention]:
    """:func:`unsupported_facts` of the item, weak ones included, computed once per item (three detectors
    and the groundedness metric read it)."""
    return view.memo("unsupported_facts", lambda: unsupported_facts(view))


def check_numeric_mismatch(view: ItemView) -> CheckResult:
    if not grounding_applies(view):
        return None
    missing = [m for m in unsupported_answer_facts(view) if m.kind in NUMERIC_KINDS]
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
    full: list[tuple[Mention, str]] = []
    partial: list[tuple[Mention, str]] = []
    for m in unsupported_answer_facts(view):
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
                        "entity_grounding", severity_adjustment=0.0 if any(map(_strong_name, full)) else -1.0)]
    return [finding("entity_fabrication", "unsure", 0.45,
                    f"Parts of names in the answer appear in no source: {shown}.", evidence, "entity_grounding",
                    severity_adjustment=-1.0)]


def _strong_name(found: tuple[Mention, str]) -> bool:
    """A letter-digit code or a name of several words found nowhere: evidence of an invented fact strong enough
    to page for. A lone capitalised word is weaker (a heading word, a demonym, an abbreviation, a brand named in
    passing): it fails and gates CI one severity point lower, and alerts only when a judge confirms it."""
    mention, _ = found
    return mention.kind == "identifier" or len(mention.value) > 1


def structured_sources_only(view: ItemView) -> bool:
    """Whether every context entry and tool output is JSON data (input aside)."""
    def compute() -> bool:
        texts = [c for c in view.context if c.strip()] + [text for _, text in view.executed_outputs]
        return bool(texts) and all(parse_structured(t) is not None for t in texts)
    return view.memo("structured_only", compute)


def novel_words(view: ItemView) -> tuple[list[str], int]:
    """(content words of the answer found in no source, distinct content words of the answer)."""
    return view.memo("novel_words", lambda: _novel_words(view))


def _novel_words(view: ItemView) -> tuple[list[str], int]:
    index = view.sources
    # ``isalpha`` first: most words are plain letters, and a string method is far cheaper than a regex call
    distinct = {w for w in set(words(view.output)) - _NOT_CLAIM_WORDS
                if len(w) >= 3 and (w.isalpha() or _DIGIT.search(w) is None)}
    novel = sorted(w for w in distinct - index.word_set  # known as is: no call
                   if not index._known_word(w) and PLACE_ABBREVIATIONS.get(w) not in index.word_set)
    return novel, len(distinct)


def check_unsupported_claim(view: ItemView) -> CheckResult:
    if not grounding_applies(view):
        return None
    findings: list[Finding] = []
    # a quoted question ("the answer to the question "What is X?" is") restates what was asked: no claim
    quotes = [m for m in unsupported_answer_facts(view) if m.kind == "quote" and not m.text.rstrip().endswith("?")]
    if quotes:
        findings.append(finding(
            "unsupported_claim", "fail", 0.75,
            f"Quoted text does not appear in any source: {', '.join(repr(m.text[:60]) for m in quotes[:3])}.",
            [view.in_output(m.start, m.end, note="quote not found") for m in quotes[:5]], "content_grounding"))
    if not any(c.strip() for c in view.context):
        return findings  # novelty is measured against retrieved passages; an agent's reply also carries dialogue
    novel, total = novel_words(view)
    structured = structured_sources_only(view)
    threshold = NOVELTY_FAIL_STRUCTURED if structured else NOVELTY_FAIL
    if threshold is not None and total >= NOVELTY_MIN_WORDS and len(novel) / total >= threshold:
        share = len(novel) / total
        least = NOVELTY_FAIL_WORDS_STRUCTURED if structured else NOVELTY_FAIL_WORDS
        summary = (f"{share:.0%} of the answer's content words ({len(novel)} of {total}) appear in no source, e.g. "
                   f"{', '.join(novel[:8])}.")
        if least is None or len(novel) >= least:
            findings.append(finding("unsupported_claim", "fail", min(0.8, 0.45 + share / 2), summary,
                                    _novel_sentences(view, set(novel)), "content_grounding"))
        else:
            findings.append(finding("unsupported_claim", "unsure", 0.4, summary + " Few words: may be paraphrase.",
                                    _novel_sentences(view, set(novel)), "content_grounding",
                                    severity_adjustment=-1.0))
    return findings


def _novel_sentences(view: ItemView, novel: set[str], limit: int = 3) -> list:
    scored = []
    for start, end, sentence in sentences(view.output):
        found = ascii_tokens(sentence) if sentence.isascii() else WORD_RE.findall(sentence)
        hits = list(compress(found, map(novel.__contains__, map(str.lower, found))))  # the words in ``novel``
        if hits:
            scored.append((len(hits), start, end, hits))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [view.in_output(start, end, note="unsupported words: " + ", ".join(dict.fromkeys(hits))[:120])
            for _, start, end, hits in sorted(scored[:limit], key=lambda s: s[1])]


DETECTORS = (
    Detector("numeric_grounding", ("numeric_mismatch",), check_numeric_mismatch, pass_confidence=0.7),
    Detector("entity_grounding", ("entity_fabrication",), check_entity_fabrication, pass_confidence=0.6),
    Detector("content_grounding", ("unsupported_claim",), check_unsupported_claim, pass_confidence=0.55),
)
