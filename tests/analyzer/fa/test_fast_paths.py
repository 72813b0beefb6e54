"""The fast paths of the deterministic engine give exactly what the plain versions give."""

from __future__ import annotations

import re

import pytest

from analyzer.fa.detectors.claims import SPECULATION, TOOL_CLAIM
from analyzer.fa.detectors.grounding import _NEGATION, _Source
from analyzer.fa.detectors.retrieval import ABSTENTION
from analyzer.fa.models import EvidenceItem, FailureTag
from analyzer.fa.scoring import pass_tag
from analyzer.fa.text import FoldedPattern

TEXTS = [
    "The drug has NO known interactions. It doesn't affect sleep.",
    "I Can't Browse the web, so I Assume the value is 42.",
    "Based on a careful SEARCH, the article does not mention the date.",
    "Nothing here: İstanbul, Kelvin \u212a, long \u017f, Straße, café NOT listed.",  # non-ASCII: the IGNORECASE path
    "no-one knows; none of it; without doubt; cannot; n't",
    "",
]


@pytest.mark.parametrize("folded", [_NEGATION, ABSTENTION, SPECULATION, TOOL_CLAIM])
def test_folded_patterns_find_the_same_spans_as_ignorecase(folded: FoldedPattern) -> None:
    plain = re.compile(folded.folded.pattern, re.IGNORECASE)
    for text in TEXTS:
        for start in range(len(text) + 1):  # every suffix: matches at every position, not just the first
            expected, got = plain.search(text[start:]), folded.search(text[start:])
            assert (got and got.span()) == (expected and expected.span()), (folded.folded.pattern[:40], text, start)


def test_folded_pattern_refuses_an_upper_case_literal() -> None:
    with pytest.raises(ValueError, match="lower case"):
        FoldedPattern(r"\bNot\b")
    assert FoldedPattern(r"\S+\W\bnot\B").search("is NOT!") is None  # escapes are allowed


def test_sentence_bounds_are_those_of_the_boundary_regex() -> None:
    boundary = re.compile(r"[.!?](?=\s)|\n")
    for text in ["One. Two!\nThree?  Four.Five\n\n", "a.b. c\u00a0d!\u2003e", "end.", "?", ""]:
        assert _Source(text, lambda quote: None).bounds == [m.end() for m in boundary.finditer(text)]


def test_pass_tags_from_the_template_are_valid_and_independent() -> None:
    first = pass_tag("numeric_mismatch", 0.7, "numeric_grounding", item_index=3, run_id="run_a", trace_id="t1")
    second = pass_tag("numeric_mismatch", 0.7, "numeric_grounding", item_index=4, run_id="run_a")
    assert FailureTag.model_validate(first.model_dump()) == first
    assert (first.item_index, first.trace_id, second.item_index, second.trace_id) == (3, "t1", 4, None)
    assert first.tag_id != second.tag_id
    first.evidence_items.append(EvidenceItem(source="output", text="x"))  # a tag's evidence list is its own
    assert second.evidence_items == []
    assert list(first.model_dump()) == list(FailureTag.model_fields)
