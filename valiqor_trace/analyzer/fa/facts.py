"""Checkable facts in text: numbers, dates, times, named entities, identifiers and quotes.

The grounding detectors extract these from the answer and look each one up in a
:class:`~valiqor_trace.analyzer.fa.source_index.SourceIndex` built from everything the model was given
(input, context, tool outputs, system prompt). A fact found nowhere is *unsupported*; that is evidence of a
hallucination, not proof (the judge, when configured, weighs it).

Matching is deliberately forgiving where text and data legitimately differ: ``17:00``
matches ``17:0``, ``5 PM`` matches ``17:00``, ``$49,400`` matches ``49400``, ``24``
matches ``23.7`` (rounding to the precision the answer uses), ``January 9, 2022``
matches ``2022-01-09`` and ``California`` matches ``CA``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from itertools import filterfalse
from typing import Any

from valiqor_trace.analyzer.fa.text import STOPWORDS, FoldedPattern, normalize_quotes, tokens, vocabulary, words
from valiqor_trace.analyzer.fa.vocab import MONTHS, NOT_NAMES, NUMBER_WORDS, WEEKDAYS

_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
           "trillion": 1e12}
_DIGITS_RE = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")
_UNIT_RE = re.compile(r"\s?(%|percent\b|per cent\b|k\b|thousand\b|million\b|mn\b|billion\b|bn\b|trillion\b)",
                      re.IGNORECASE)
_CURRENCY = frozenset("$€£¥")
# "17:30", "5:30 pm", "5 pm": the hour (not glued to a digit, ":" or "."), then minutes or a.m./p.m. The hour's
# first digit comes before its look-behind (two characters wide) so that the regex engine can skip from
# digit to digit instead of trying every position (~8x faster on long text).
_TIME_RE = FoldedPattern(r"(\d(?<![\d:.]\d)\d?)(?::(\d{1,2})(?::\d{2})?(?:\s*([ap])\.?m\b\.?)?|\s*([ap])\.?m\b\.?)")
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
# "[0-9][0-9][0-9][0-9]" rather than "[0-9]{4}": a pattern that opens with a plain character class lets the
# regex engine jump from digit to digit (2x faster on prose)
_ISO_DATE_RE = re.compile(r"([0-9][0-9][0-9][0-9])-([0-9]{1,2})-([0-9]{1,2})")
_SLASH_DATE_RE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_MDY_RE = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.IGNORECASE)
_DMY_RE = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_ALT})\.?(?:,?\s+(\d{{4}}))?\b",
                     re.IGNORECASE)
_MY_RE = re.compile(rf"\b({_MONTH_ALT})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_NUMBER_WORD_RE = FoldedPattern(r"\b(" + "|".join(NUMBER_WORDS) + r")\b")
_THOUSANDS_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
# The capital comes first and the "not glued to a word" look-behind after it (over two characters): a
# pattern that starts with a character class lets the regex engine skip to candidates (3x faster scan).
_CAPITALISED_RE = re.compile(r"[A-ZÀ-ÖØ-Þ](?<![\w'’-].)[^\W_]*(?:['’\-][^\W_]+)*")
_TIME_HINT = re.compile(r"\d(?::\d|\s*[aApP]\.?[mM]\b)")
# "in 200 words", "a 3-sentence summary": numbers about the answer's own form, not about the world
_META_UNIT_RE = re.compile(r"\s*-?\s*(?:words?|sentences?|characters?|paragraphs?|bullets?|bullet points?|lines?|"
                           r"tokens?)\b",
                           re.IGNORECASE)
_QUOTE_RE = re.compile(r'"([^"\n]{3,300})"')
# quantities that look like codes: "5-star", "19-year-old", "200km", "14th", "3pm"
_QUANTITY_RE = re.compile(r"\d+(?:\.\d+)?(?:[a-z]{1,3}|(?:-[a-z]+)+)", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    """One checkable fact in a text: what it is, where it is, and how it compares."""

    kind: str  # number | percent | money | year | time | date | entity | identifier | quote
    text: str
    start: int
    end: int
    value: Any = None  # float (numbers), minutes (time), (y, m, d) with None parts (date), key (others): by kind
    decimals: int = 0
    strong: bool = True  # False for facts that are often derived (small counts, number words)


_new_object, _set_attribute = object.__new__, object.__setattr__


def _mention(kind: str, text: str, start: int, end: int, value: Any = None, decimals: int = 0,
             strong: bool = True) -> Mention:
    """``Mention(kind, text, ...)``: the same object, made without the frozen dataclass's ``__init__`` (one
    ``object.__setattr__`` per field), at half the cost. The extractors make thousands."""
    mention = _new_object(Mention)
    _set_attribute(mention, "__dict__", {"kind": kind, "text": text, "start": start, "end": end, "value": value,
                                         "decimals": decimals, "strong": strong})
    return mention


def phrase_key(text: str) -> str:
    """A phrase as space-joined lower-case words, comparable with ``SourceIndex.key``."""
    return " ".join(words(text))


def _taken(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    for s, e in spans:  # a plain loop: a text holds few dates and times
        if s < end and start < e:
            return True
    return False


def extract_times(text: str) -> list[Mention]:
    out: list[Mention] = []
    if not _TIME_HINT.search(text):
        return out
    for m in _TIME_RE.finditer(text):  # groups are digits and a/p (any case): read from the match
        hour = int(m.group(1))
        minute, ampm = (int(m.group(2)), m.group(3)) if m.group(2) is not None else (0, m.group(4))
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
        if hour <= 24 and minute < 60:
            out.append(_mention("time", text[m.start():m.end()], m.start(), m.end(), (hour % 24) * 60 + minute))
    return out


def extract_dates(text: str, known_words: frozenset[str] | set[str] | None = None) -> list[Mention]:
    """Dates in ``text``; ``known_words`` (its lower-cased words, when already known) saves a pass."""
    out: list[Mention] = []
    spans: list[tuple[int, int]] = []

    def add(m: re.Match[str], y: str | None, mo: int | None, d: str | None) -> None:
        if _taken(spans, m.start(), m.end()):
            return
        value = (int(y) if y else None, mo, int(d) if d else None)
        if value[2] is not None and not 1 <= value[2] <= 31:
            return
        spans.append((m.start(), m.end()))
        out.append(_mention("date", m.group(0), m.start(), m.end(), value))

    for m in _ISO_DATE_RE.finditer(text) if "-" in text else ():
        if text[m.start() - 1:m.start()].isdigit() or text[m.end():m.end() + 1].isdigit():
            continue  # part of a longer number
        add(m, m.group(1), int(m.group(2)), m.group(3))
    for m in _SLASH_DATE_RE.finditer(text) if "/" in text else ():
        add(m, m.group(3), int(m.group(1)), m.group(2))
    present = known_words if known_words is not None else vocabulary(text)
    if MONTHS.keys().isdisjoint(present):
        return out
    # The month-name patterns are the slow ones: search only around each month word.
    lowered = text.lower()
    for at, length in _month_positions(lowered, present):
        begin, stop = max(0, at - 10), at + length + 16
        for pattern, parts in ((_MDY_RE, (3, 1, 2)), (_DMY_RE, (3, 2, 1)), (_MY_RE, (2, 1, None))):
            found = pattern.search(text, begin, stop)
            if found:
                year, month, day = parts
                add(found, found.group(year), MONTHS[found.group(month).lower()], found.group(day) if day else None)
    return out


def _month_positions(lowered: str, present: frozenset[str] | set[str]) -> list[tuple[int, int]]:
    """(offset, length) of every month name or abbreviation (among ``present`` words) standing as a word."""
    found = []
    for name in MONTHS.keys() & present:
        at = lowered.find(name)
        while at != -1:
            end = at + len(name)
            if not (at and lowered[at - 1].isalpha()) and not lowered[end:end + 1].isalpha():
                found.append((at, len(name)))
            at = lowered.find(name, end)
    return sorted(found)


def number_words(text: str, present: Collection[str]) -> list[tuple[int, int, str]]:
    """``(start, end, word)`` of every number word standing alone in ``text``, in order (what
    ``_NUMBER_WORD_RE.finditer`` finds); ``present``: the number words among the text's words.

    On ASCII text a substring search for the present words only, with the ``\\b`` test done by hand: a
    regex pass over a long passage costs several times more. Other text takes the regex.
    """
    if not present:
        return []
    if not text.isascii():
        return [(m.start(), m.end(), m.group(1).lower()) for m in _NUMBER_WORD_RE.finditer(text)]
    lowered, found = text.lower(), []
    for word in present:
        at = lowered.find(word)
        while at != -1:
            end = at + len(word)
            if not (at and _is_word_char(lowered[at - 1])) and not (end < len(lowered) and _is_word_char(lowered[end])):
                found.append((at, end, word))
            at = lowered.find(word, at + 1)
    return sorted(found)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"  # regex \w


def extract_numbers(text: str, taken: list[tuple[int, int]] | None = None) -> list[Mention]:
    """Numbers outside ``taken`` spans (dates/times), with their unit and precision.

    A plain digit scan plus a look at the characters around each hit: several times cheaper than
    one regex that encodes currency, thousands separators and units.
    """
    taken = taken or []
    out = []
    for m in _DIGITS_RE.finditer(text):
        start = m.start()
        prev = text[start - 1] if start else ""
        if prev and (prev.isalnum() or prev in "_.,/:"):
            continue  # inside a word, a decimal, a date or a time
        token = m.group(0).rstrip(",.")
        integer, _, fraction = token.partition(".")
        if "," in integer and not _THOUSANDS_RE.fullmatch(integer):
            integer, fraction = integer.split(",", 1)[0], ""  # "5,6": a list; keep the first
        end = start + len(integer) + (len(fraction) + 1 if fraction else 0)
        if text[end:end + 1] == ":" or (taken and _taken(taken, start, end)) or _META_UNIT_RE.match(text, end):
            continue
        value = float(f"{integer.replace(',', '')}.{fraction}") if fraction else float(integer.replace(",", ""))
        decimals = len(fraction)
        unit_match = _UNIT_RE.match(text, end)
        unit = unit_match.group(1).lower() if unit_match else ""
        value *= _SCALES.get(unit, 1.0)
        money = prev in _CURRENCY or (prev == " " and text[start - 2:start - 1] in _CURRENCY and start >= 2)
        begin = start - (1 if prev in _CURRENCY else 2) if money else start
        kind = "percent" if unit.startswith("per") or unit == "%" else "money" if money else "number"
        if kind == "number" and decimals == 0 and 1000 <= value <= 2100 and "," not in integer:
            kind = "year"
        strong = not (kind == "number" and decimals == 0 and value <= 10)
        stop = unit_match.end() if unit_match else end
        out.append(_mention(kind, text[begin:stop].strip(), begin, stop, value, decimals, strong))
    for start, end, word in number_words(text, NUMBER_WORDS.keys() & vocabulary(text)):
        if (taken and _taken(taken, start, end)) or _META_UNIT_RE.match(text, end):
            continue
        out.append(_mention("number", text[start:end], start, end, float(NUMBER_WORDS[word]), 0, False))
    return out


def extract_quotes(text: str) -> list[Mention]:
    """Double-quoted passages of at least two words."""
    text = normalize_quotes(text)
    out = []
    for m in _QUOTE_RE.finditer(text):
        inner = m.group(1).strip()
        if len(inner.split()) >= 2:
            out.append(_mention("quote", inner, m.start(1), m.end(1), phrase_key(inner)))
    return out


# Where a sentence (or list item, or parenthesis) starts: after ". ", a line break and its bullet, "(".
# Each alternative opens with a literal character, so the engine scans for those characters only.
_SENTENCE_START_RE = re.compile(r"\.\s+|!\s+|\?\s+|:\s+|\n\s*(?:[-*•#>]+\s*|\d+[.)]\s*)?|\(\s*|\[\s*")


def _sentence_starts(text: str) -> set[int]:
    starts = {0}
    starts.update(m.end() for m in _SENTENCE_START_RE.finditer(text))
    return starts


# Capitalised words that never start a name (one set: one look-up per capitalised word).
_NOT_ENTITY_WORDS = frozenset().union(STOPWORDS, MONTHS, WEEKDAYS, NOT_NAMES)


def extract_entities(text: str, taken: list[tuple[int, int]] | None = None) -> list[Mention]:
    """Capitalised names and acronyms that are not sentence-initial, dates or function words.

    Consecutive capitalised words form one mention (``"Game Grumps"``); its ``value``
    is the tuple of lower-cased words so support can be checked word by word.
    """
    starts = _sentence_starts(text)
    out: list[Mention] = []
    names: list[str] = []  # the current run of capitalised words (lower-cased), from run_start to run_end
    run_start = run_end = 0
    # (a run is closed in line, not by a helper: most capitalised words start a sentence and close no run)
    for w in _CAPITALISED_RE.finditer(text):  # only capitalised words; a lower-case word between two breaks a run
        start, end = w.span()
        if names and text[run_end:start].strip(" &"):
            out.append(_mention("entity", text[run_start:run_end], run_start, run_end, tuple(names)))
            names = []
        token = w.group(0)
        lower = token.lower()
        if lower in _NOT_ENTITY_WORDS or len(token) < 2 or start in starts or (taken and _taken(taken, start, end)):
            if names:
                out.append(_mention("entity", text[run_start:run_end], run_start, run_end, tuple(names)))
                names = []
            continue
        if not names:
            run_start = start
        names.append(lower)
        run_end = end
    if names:
        out.append(_mention("entity", text[run_start:run_end], run_start, run_end, tuple(names)))
    return out


def extract_identifiers(text: str) -> list[Mention]:
    """Codes mixing letters and digits (order IDs, flight numbers, SKUs): they cannot be paraphrased."""
    out = []
    for token in filterfalse(str.isalpha, dict.fromkeys(tokens(text))):  # most words: skipped at C speed
        if len(token) < 4 or token.isdigit() or not token.isascii() or _QUANTITY_RE.fullmatch(token):
            continue
        if not any(c.isdigit() for c in token) or not any(c.isalpha() for c in token) or "'" in token:
            continue
        at = text.find(token)
        while at != -1:
            end = at + len(token)
            before, after = text[at - 1:at] if at else "", text[end:end + 1]
            glued = (before and (before.isalnum() or before in "_:.-")) or (after and (after.isalnum() or after in "_-"))
            if not glued:  # a whole code, not part of a longer token
                out.append(_mention("identifier", token, at, end, token.lower()))
            at = text.find(token, at + 1)
    return sorted(out, key=lambda m: m.start)
