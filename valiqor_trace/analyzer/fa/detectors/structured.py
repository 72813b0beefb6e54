"""Structured grounding: yes/no and empty fields of JSON sources vs. what the answer says.

Tool outputs and data-to-text contexts are often JSON. When a field is ``false`` (or
``"no"``) and the answer says the thing is offered, that is a contradiction; when it is
``true`` and the answer denies it, too; when it is ``null`` and the answer states
anything about it, that statement has no basis. Field names are matched in prose by
their words (``OutdoorSeating`` -> "outdoor seating", ``RestaurantsTakeOut`` -> "take out",
"takeout", "take-out"), and polarity is read from the clause: the predicate after the
mention ("X is not available") wins, else a negation shortly before it ("does not offer X").
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.models import EvidenceItem, Finding
from valiqor_trace.analyzer.fa.text import split_camel

_GENERIC_KEY_WORDS = frozenset({"restaurants", "restaurant", "business", "has", "is", "the"})
_CONTAINERS = frozenset({"attributes", "data", "info", "details", "properties", "metadata", "fields", "result",
                         "results", "items", "item", "value", "values"})
_TRUE = frozenset({"true", "yes", "y"})
_FALSE = frozenset({"false", "no", "n", "none"})
_SEGMENT_BREAK = re.compile(r"[.;!?\n]|\b(?:but|however|although|though|while|whereas|except)\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|no|never|without|lacks?|lacking|neither|nor|unavailable|none)\b|n't\b", re.I)
_CLAUSE_CUT = re.compile(r",\s*(?:and\s+|or\s+)?(?:there|it|they|the|this|which|who|its|their|with|making|a|an)\b",
                         re.IGNORECASE)
_PREDICATE = re.compile(r"[^.;]{0,40}?\b(?:is|are|was|were)(n't)?\s+(?:also\s+|currently\s+)?(not\b)?\s*(\w+)?",
                        re.IGNORECASE)
_UNKNOWN = re.compile(
    r"\b(?:not (?:specified|mentioned|stated|listed|indicated|clear|known|provided)|no (?:information|details|data|"
    r"mention)|unclear|unknown|(?:information|details) (?:on|about|regarding))\b", re.IGNORECASE)
_NEGATIVE_WORDS = frozenset({"unavailable", "absent", "not"})
MAX_LEAVES = 400


@lru_cache(maxsize=2048)
def parse_structured(text: str) -> Any:
    """A JSON object/array parsed from ``text``, or ``None`` when it is not one (cached per text:
    several detectors ask; treat the result as read-only)."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def _lenient(value: Any) -> Any:
    """Nested Python-repr dicts ("{'dj': None}") inside JSON strings, as some exporters write them."""
    if isinstance(value, str) and value.strip().startswith("{") and len(value) < 2000:
        try:
            return ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return value
    return value


def _truth(value: Any) -> bool | None | str:
    """True/False for yes/no values, None for null, "skip" for anything else."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        text = value.strip().strip("'\"").lower()
        if text.startswith("u'") or text.startswith('u"'):
            text = text[2:]
        text = text.strip("'\"")
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return "skip"


def leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], bool | None]]:
    """(key path, True/False/None) for every yes/no or null field."""
    value = _lenient(value)
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value[:50]:
            yield from leaves(item, path)
    elif path:
        truth = _truth(value)
        if truth != "skip":
            yield path, truth  # type: ignore[misc]


def _key_words(key: str) -> list[str]:
    found = [w.lower() for w in split_camel(key).replace("_", " ").replace("-", " ").split()]
    return [w for w in found if w not in _GENERIC_KEY_WORDS] or found


@lru_cache(maxsize=4096)
def _key_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    forms = {" ".join(words), "".join(words), "-".join(words)}
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})s?\b", re.IGNORECASE)


def _segments(text: str) -> list[tuple[int, int]]:
    cuts = [0]
    for m in _SEGMENT_BREAK.finditer(text):
        cuts.extend((m.start(), m.end()))
    cuts.append(len(text))
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2) if text[cuts[i]:cuts[i + 1]].strip()]


def affirmed(segment: str, start: int, end: int) -> bool:
    """Whether the clause asserts the mention at ``segment[start:end]`` (False: it denies it)."""
    rest = segment[end:]
    cut = _CLAUSE_CUT.search(rest)
    if cut:
        rest = rest[: cut.start()]
    predicate = _PREDICATE.match(rest)
    if predicate:
        word = (predicate.group(3) or "").lower()
        return not (predicate.group(1) or predicate.group(2) or word in _NEGATIVE_WORDS)
    before = " ".join(segment[:start].split()[-6:])
    return not _NEGATION.search(before)


def json_sources(view: ItemView) -> list[tuple[Any, Any]]:
    found = []
    for i, text in enumerate(view.context):
        data = parse_structured(text)
        if data is not None:
            found.append((data, lambda note, i=i: view.in_context(i, note=note)))
    for i, text in view.executed_outputs:
        data = parse_structured(text)
        if data is not None:
            found.append((data, lambda note, i=i: view.in_tool(i, "tool_output", note=note)))
    return found


def check_structured_fields(view: ItemView) -> CheckResult:
    sources = json_sources(view)
    if not sources or not view.output.strip():
        return None
    output = view.output
    segments = [(s, e) for s, e in _segments(output) if not _UNKNOWN.search(output[s:e])]
    lowered = output.lower()
    conflicts: list[tuple[str, EvidenceItem, EvidenceItem]] = []
    baseless: list[tuple[str, EvidenceItem, EvidenceItem]] = []
    for data, source_evidence in sources:
        for n, (path, truth) in enumerate(leaves(data)):
            if n >= MAX_LEAVES:
                break
            hit = _mention(output, lowered, segments, path)
            if hit is None:
                continue
            seg_start, seg_end, says = hit
            field = ".".join(path)
            if truth is None:
                note = f"{field} is null"
                baseless.append((field, view.in_output(seg_start, seg_end, note=note), source_evidence(note)))
            elif truth != says:
                note = f"{field} is {str(truth).lower()}"
                conflicts.append((field, view.in_output(seg_start, seg_end, note=note), source_evidence(note)))
    return _findings(conflicts, baseless)


def _mention(output: str, lowered_output: str, segments: list[tuple[int, int]],
             path: tuple[str, ...]) -> tuple[int, int, bool] | None:
    words = _key_words(path[-1])
    if not words or not all(w in lowered_output for w in words):
        return None  # cheap pre-check before any regex
    parent = [w for w in _key_words(path[-2]) if w not in _CONTAINERS] if len(path) > 1 else []
    pattern = _key_pattern(tuple(words))
    for start, end in segments:
        segment = output[start:end]
        match = pattern.search(segment)
        if match is None:
            continue
        lowered = segment.lower()
        if len(words) == 1 and len(words[0]) < 5 and parent and not all(p in lowered for p in parent):
            continue  # "lot", "dj", "live" alone are ordinary words; need "parking", "music" nearby
        if re.search(r"\ba\s*$", segment[: match.start()]) and re.match(r"\s*of\b", segment[match.end():]):
            continue  # "a lot of"
        return start, end, affirmed(segment, match.start(), match.end())
    return None


def _findings(conflicts: list, baseless: list) -> list[Finding]:
    findings = []
    if conflicts:
        fields = ", ".join(dict.fromkeys(f for f, _, _ in conflicts))
        evidence = [item for _, out, src in conflicts[:4] for item in (out, src)]
        findings.append(finding("contradicts_source", "fail", 0.75 if len(conflicts) == 1 else 0.85,
                                f"The answer states the opposite of the source's fields: {fields}.", evidence,
                                "structured_grounding"))
    if baseless:
        fields = ", ".join(dict.fromkeys(f for f, _, _ in baseless))
        evidence = [item for _, out, src in baseless[:4] for item in (out, src)]
        findings.append(finding("unsupported_claim", "fail", 0.6,
                                f"The answer states facts about fields the source leaves empty: {fields}.", evidence,
                                "structured_grounding"))
    return findings


DETECTORS = (
    Detector("structured_grounding", ("contradicts_source", "unsupported_claim"), check_structured_fields,
             pass_confidence=0.7),
)
