"""Checkable facts in text: numbers, dates, times, named entities, identifiers and quotes.

The grounding detectors extract these from the answer and look each one up in a
:class:`SourceIndex` built from everything the model was given (input, context, tool
outputs, system prompt). A fact found nowhere is *unsupported*; that is evidence of a
hallucination, not proof (the judge, when configured, weighs it).

Matching is deliberately forgiving where text and data legitimately differ: ``17:00``
matches ``17:0``, ``5 PM`` matches ``17:00``, ``$49,400`` matches ``49400``, ``24``
matches ``23.7`` (rounding to the precision the answer uses), ``January 9, 2022``
matches ``2022-01-09`` and ``California`` matches ``CA``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property, lru_cache

from analyzer.fa.text import STOPWORDS, WORD_RE, normalize_quotes, stem, tokens, vocabulary, words
from analyzer.fa.vocab import MONTHS, NOT_NAMES, NUMBER_WORDS, PLACE_ABBREVIATIONS, WEEKDAYS

_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
           "trillion": 1e12}
_DIGITS_RE = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?")
_UNIT_RE = re.compile(r"\s?(%|percent\b|per cent\b|k\b|thousand\b|million\b|mn\b|billion\b|bn\b|trillion\b)",
                      re.IGNORECASE)
_CURRENCY = frozenset("$€£¥")
_TIME_RE = re.compile(r"(?<![\d:.])(\d{1,2}):(\d{1,2})(?::\d{2})?(?:\s*([ap])\.?m\b\.?)?|(?<![\d:.])(\d{1,2})\s*([ap])\.?m\b\.?",
                      re.IGNORECASE)
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_ISO_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_SLASH_DATE_RE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_MDY_RE = re.compile(rf"\b({_MONTH_ALT})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b", re.IGNORECASE)
_DMY_RE = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_ALT})\.?(?:,?\s+(\d{{4}}))?\b", re.IGNORECASE)
_MY_RE = re.compile(rf"\b({_MONTH_ALT})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_NUMBER_WORD_RE = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
# A plain digit-led pattern: a "1,234 or 1234" alternation costs 4x more per character.
_SOURCE_NUM_RE = re.compile(r"([0-9][0-9,]*)(?:\.([0-9]+))?( ?(?:k|thousand|million|mn|billion|bn|trillion)\b)?")
_THOUSANDS_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_CAPITALISED_RE = re.compile(r"(?<![\w'’-])[A-ZÀ-ÖØ-Þ][^\W_]*(?:['’\-][^\W_]+)*")
_TIME_HINT = re.compile(r"\d(?::\d|\s*[aApP]\.?[mM]\b)")
_ALPHA_RE = re.compile(r"[A-Za-z]+")
_ACRONYM_RE = re.compile(r"\b(?:[A-Za-z]\.){2,}")
# "in 200 words", "a 3-sentence summary": numbers about the answer's own form, not about the world
_META_UNIT_RE = re.compile(r"\s*-?\s*(?:words?|sentences?|characters?|paragraphs?|bullets?|bullet points?|lines?|tokens?)\b",
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
    value: object = None  # float (numbers), minutes (time), (y, m, d) with None parts (date), key (others)
    decimals: int = 0
    strong: bool = True  # False for facts that are often derived (small counts, number words)


def phrase_key(text: str) -> str:
    """A phrase as space-joined lower-case words, comparable with :attr:`SourceIndex.key`."""
    return " ".join(words(text))


def _taken(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def extract_times(text: str) -> list[Mention]:
    out: list[Mention] = []
    if not _TIME_HINT.search(text):
        return out
    for m in _TIME_RE.finditer(text):
        if m.group(1) is not None:
            hour, minute, ampm = int(m.group(1)), int(m.group(2)), m.group(3)
        else:
            hour, minute, ampm = int(m.group(4)), 0, m.group(5)
        if ampm:
            hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
        if hour <= 24 and minute < 60:
            out.append(Mention("time", m.group(0), m.start(), m.end(), (hour % 24) * 60 + minute))
    return out


def extract_dates(text: str, vocabulary: set[str] | None = None) -> list[Mention]:
    """Dates in ``text``; ``vocabulary`` (its lower-cased words, when already known) saves a pass."""
    out: list[Mention] = []
    spans: list[tuple[int, int]] = []

    def add(m: re.Match[str], y: str | None, mo: int | None, d: str | None) -> None:
        if _taken(spans, m.start(), m.end()):
            return
        value = (int(y) if y else None, mo, int(d) if d else None)
        if value[2] is not None and not 1 <= value[2] <= 31:
            return
        spans.append((m.start(), m.end()))
        out.append(Mention("date", m.group(0), m.start(), m.end(), value))

    for m in _ISO_DATE_RE.finditer(text) if "-" in text else ():
        if text[m.start() - 1:m.start()].isdigit() or text[m.end():m.end() + 1].isdigit():
            continue  # part of a longer number
        add(m, m.group(1), int(m.group(2)), m.group(3))
    for m in _SLASH_DATE_RE.finditer(text) if "/" in text else ():
        add(m, m.group(3), int(m.group(1)), m.group(2))
    has_month = not MONTHS.keys().isdisjoint(vocabulary) if vocabulary is not None else _has_word(text, MONTHS)
    if not has_month:
        return out
    # The month-name patterns are the slow ones: search only around each month word.
    lowered = text.lower()
    for at, length in _month_positions(lowered):
        begin, stop = max(0, at - 10), at + length + 16
        for pattern, parts in ((_MDY_RE, (3, 1, 2)), (_DMY_RE, (3, 2, 1)), (_MY_RE, (2, 1, None))):
            m = pattern.search(text, begin, stop)
            if m:
                year, month, day = parts
                add(m, m.group(year), MONTHS[m.group(month).lower()], m.group(day) if day else None)
    return out


def _clock_numbers(text: str) -> set[float]:
    """Hours and minutes of every "H:MM" in ``text`` (a scan from each colon: much cheaper than a regex)."""
    found: set[float] = set()
    i = text.find(":")
    while i != -1:
        before, after = text[max(0, i - 2):i], text[i + 1:i + 3]
        hour = before[1:] if len(before) == 2 and not before[0].isdigit() else before
        minute = after[:1] if len(after) == 2 and not after[1].isdigit() else after
        if hour.isdigit() and minute.isdigit():
            found.update((float(hour), float(minute)))
        i = text.find(":", i + 1)
    return found


@lru_cache(maxsize=4096)
def _text_words(text: str) -> frozenset[str]:
    found = vocabulary(text)
    if "." in text:
        acronyms = {m.group(0).replace(".", "").lower() for m in _ACRONYM_RE.finditer(text)}
        if acronyms:
            found = found | acronyms
    return found


@lru_cache(maxsize=4096)
def _text_numbers(text: str) -> frozenset[float]:
    """A lighter pass than :func:`extract_numbers`: units and positions do not matter for sources."""
    values: set[float] = set()
    lowered = text.lower()
    for integer, fraction, unit in set(_SOURCE_NUM_RE.findall(lowered)):
        integer = integer.strip(",")
        scale = _SCALES.get(unit.strip(), 1.0)
        if "," in integer and not _THOUSANDS_RE.fullmatch(integer):  # "1,2,3": a list, not 123
            values.update(float(part) * scale for part in integer.split(",") if part)
            continue
        value = float(f"{integer.replace(',', '')}.{fraction}") if fraction else float(integer.replace(",", ""))
        values.add(value * scale)
    values.update(_clock_numbers(lowered))  # "17:30" also holds 17 and 30
    if not NUMBER_WORDS.keys().isdisjoint(_text_words(text)):
        values.update(float(NUMBER_WORDS[w.lower()]) for w in _NUMBER_WORD_RE.findall(text))
    return frozenset(values)


@lru_cache(maxsize=4096)
def _text_times(text: str) -> frozenset[int]:
    return frozenset(m.value for m in extract_times(text))


@lru_cache(maxsize=4096)
def _text_dates(text: str) -> tuple[tuple[int | None, int | None, int | None], ...]:
    return tuple(m.value for m in extract_dates(text, set(_text_words(text))))


def _month_positions(lowered: str) -> list[tuple[int, int]]:
    """(offset, length) of every month name or abbreviation standing as a word in ``lowered``."""
    found = []
    for name in MONTHS.keys() & set(_ALPHA_RE.findall(lowered)):
        at = lowered.find(name)
        while at != -1:
            end = at + len(name)
            if not (at and lowered[at - 1].isalpha()) and not lowered[end:end + 1].isalpha():
                found.append((at, len(name)))
            at = lowered.find(name, end)
    return sorted(found)


def _has_word(text: str, vocabulary: dict[str, int]) -> bool:
    return not vocabulary.keys().isdisjoint(set(_ALPHA_RE.findall(text.lower())))


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
        if text[end:end + 1] == ":" or _taken(taken, start, end) or _META_UNIT_RE.match(text, end):
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
        out.append(Mention(kind, text[begin:stop].strip(), begin, stop, value, decimals, strong))
    for m in _NUMBER_WORD_RE.finditer(text) if _has_word(text, NUMBER_WORDS) else ():
        if _taken(taken, m.start(), m.end()) or _META_UNIT_RE.match(text, m.end()):
            continue
        out.append(Mention("number", m.group(0), m.start(), m.end(), float(NUMBER_WORDS[m.group(1).lower()]), 0, False))
    return out


def extract_quotes(text: str) -> list[Mention]:
    """Double-quoted passages of at least two words."""
    text = normalize_quotes(text)
    out = []
    for m in _QUOTE_RE.finditer(text):
        inner = m.group(1).strip()
        if len(inner.split()) >= 2:
            out.append(Mention("quote", inner, m.start(1), m.end(1), phrase_key(inner)))
    return out


def _sentence_starts(text: str) -> set[int]:
    starts = {0}
    for m in re.finditer(r"(?:[.!?:]\s+|\n\s*(?:[-*•#>]+\s*|\d+[.)]\s*)?|[(\[]\s*)", text):
        starts.add(m.end())
    return starts


def extract_entities(text: str, taken: list[tuple[int, int]] | None = None) -> list[Mention]:
    """Capitalised names and acronyms that are not sentence-initial, dates or function words.

    Consecutive capitalised words form one mention (``"Game Grumps"``); its ``value``
    is the tuple of lower-cased words so support can be checked word by word.
    """
    starts = _sentence_starts(text)
    taken = taken or []
    out: list[Mention] = []
    run: list[re.Match[str]] = []

    def flush() -> None:
        if run:
            names = tuple(w.group(0).lower() for w in run)
            out.append(Mention("entity", text[run[0].start():run[-1].end()], run[0].start(), run[-1].end(), names))
            run.clear()

    for w in _CAPITALISED_RE.finditer(text):  # only capitalised words; a lower-case word between two breaks a run
        token = w.group(0)
        lower = token.lower()
        plain = lower in STOPWORDS or lower in MONTHS or lower in WEEKDAYS or lower in NOT_NAMES or len(token) < 2
        if run and text[run[-1].end():w.start()].strip(" &"):
            flush()
        if plain or w.start() in starts or _taken(taken, w.start(), w.end()):
            flush()
            continue
        run.append(w)
    flush()
    return out


def extract_identifiers(text: str) -> list[Mention]:
    """Codes mixing letters and digits (order IDs, flight numbers, SKUs): they cannot be paraphrased."""
    out = []
    for token in dict.fromkeys(tokens(text)):
        if len(token) < 4 or token.isalpha() or token.isdigit() or not token.isascii() or _QUANTITY_RE.fullmatch(token):
            continue
        if not any(c.isdigit() for c in token) or not any(c.isalpha() for c in token) or "'" in token:
            continue
        at = text.find(token)
        while at != -1:
            before, after = text[at - 1:at] if at else "", text[at + len(token):at + len(token) + 1]
            if not (before and (before.isalnum() or before in "_:.-")) and not (after and (after.isalnum() or after in "_-")):
                out.append(Mention("identifier", token, at, at + len(token), token.lower()))
            at = text.find(token, at + 1)
    return sorted(out, key=lambda m: m.start)


@dataclass
class SourceIndex:
    """Everything the model was given, indexed for fast support look-ups."""

    texts: list[str]

    @cached_property
    def joined(self) -> str:
        return "\n".join(self.texts)

    @cached_property
    def key(self) -> str:
        """Every source word in order, space-joined (for phrase look-ups via :func:`phrase_key`)."""
        return " " + " ".join(" ".join(words(t)) for t in self.texts) + " "

    # Each part is computed per source text and cached per text (lru): a system prompt or a tool output
    # shared by many items of a run is analysed once.
    @cached_property
    def word_set(self) -> set[str]:
        """Every source word (lower-cased), with camelCase and hyphen parts and dotted acronyms."""
        return set().union(*(_text_words(t) for t in self.texts))

    @cached_property
    def _sorted_words(self) -> list[str]:
        return sorted(self.word_set)

    @cached_property
    def numbers(self) -> set[float]:
        """Every numeric value in the sources (scale words applied, clock times split into hours and minutes)."""
        return set().union(*(_text_numbers(t) for t in self.texts))

    @cached_property
    def times(self) -> set[int]:
        return set().union(*(_text_times(t) for t in self.texts))

    @cached_property
    def dates(self) -> list[tuple[int | None, int | None, int | None]]:
        return [d for t in self.texts for d in _text_dates(t)]

    @cached_property
    def _sorted_numbers(self) -> list[float]:
        return sorted(self.numbers)

    def _near(self, value: float, decimals: int) -> bool:
        """Some source number rounds to ``value`` at ``decimals`` places ("24" for 23.7)."""
        half = 0.5 * 10 ** -decimals
        numbers = self._sorted_numbers
        i = bisect_left(numbers, value - half)
        return any(round(numbers[j], decimals) == round(value, decimals)
                   for j in range(i, min(i + 3, len(numbers))) if numbers[j] <= value + half)

    def supports(self, mention: Mention) -> bool:
        """True when the fact appears in the sources (see the module docstring for what counts)."""
        kind = mention.kind
        if kind in ("number", "percent", "money", "year"):
            return self._supports_number(mention)
        if kind == "time":
            return mention.value in self.times or float(mention.value // 60) in self.numbers and mention.value % 60 == 0
        if kind == "date":
            return self._supports_date(mention.value)
        if kind == "quote":
            return f" {mention.value} " in self.key
        if kind == "identifier":
            return mention.value in self.word_set or f" {phrase_key(mention.text)} " in self.key
        if kind == "entity":
            return not self.unsupported_names(mention)
        raise ValueError(f"unknown mention kind {kind!r}")

    def unsupported_names(self, mention: Mention) -> list[str]:
        """The words of an entity mention that appear nowhere in the sources."""
        whole = PLACE_ABBREVIATIONS.get(" ".join(mention.value))
        if whole and whole in self.word_set:
            return []
        missing = []
        for name in mention.value:
            if self._known_word(name):
                continue
            abbreviation = PLACE_ABBREVIATIONS.get(name)
            if abbreviation and abbreviation in self.word_set:
                continue
            missing.append(name)
        if missing and len(mention.value) > 1 and f" {phrase_key(mention.text)} " in self.key:
            return []
        return missing

    def _known_word(self, name: str) -> bool:
        """In the sources as is, with the same stem ("seating"/"seats"), or sharing five letters with a
        source word ("Korean"/"Korea", "Mexican"/"Mexico")."""
        if name in self.word_set:
            return True
        if "-" in name or "'" in name:
            return all(self._known_word(part) for part in re.split(r"[-']", name) if part and part != "s")
        if len(name) < 4:
            return False
        # words with the same stem share their first four letters (stems keep at least four)
        head, target = name[:4], stem(name)
        words = self._sorted_words
        for i in range(bisect_left(words, head), len(words)):
            other = words[i]
            if not other.startswith(head):
                break
            if stem(other) == target or (len(name) >= 5 and other[:5] == name[:5]):
                return True
        return False

    def _supports_number(self, mention: Mention) -> bool:
        value = float(mention.value)
        if value in self.numbers:
            return True
        if mention.kind == "year":
            return False
        candidates = {value}
        if mention.kind == "percent":
            candidates.add(round(value / 100, 6))
        elif value < 1:
            candidates.add(round(value * 100, 6))
        return any(self._near(c, mention.decimals) for c in candidates)

    def _supports_date(self, value: tuple[int | None, int | None, int | None]) -> bool:
        year, month, day = value
        for sy, sm, sd in self.dates:
            if (year is None or sy is None or year == sy) and (month is None or month == sm) and (
                day is None or sd is None or day == sd
            ) and (year == sy or month == sm):
                return True
        # a partial date whose parts all appear as plain numbers/month words is supported too
        month_ok = month is None or any(name in self.word_set for name, num in MONTHS.items() if num == month)
        return bool(month_ok and (year is None or float(year) in self.numbers) and (day is None or float(day) in self.numbers)
                    and (year is not None or day is not None))
