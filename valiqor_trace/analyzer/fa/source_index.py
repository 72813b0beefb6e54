"""Everything the model was given, indexed for fast support look-ups (:class:`SourceIndex`).

Each part (words, numbers, times, dates) is computed per source text and cached per text, so a
system prompt or a tool output shared by many items of a run is analysed once. See
:mod:`valiqor_trace.analyzer.fa.facts` for what counts as support.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain

from valiqor_trace.analyzer.fa.facts import (
    _SCALES,
    _THOUSANDS_RE,
    Mention,
    extract_dates,
    extract_times,
    number_words,
    phrase_key,
)
from valiqor_trace.analyzer.fa.text import stem, vocabulary, words
from valiqor_trace.analyzer.fa.vocab import MONTHS, NUMBER_WORDS, PLACE_ABBREVIATIONS

# A plain digit-led pattern: a "1,234 or 1234" alternation costs 4x more per character.
_SOURCE_NUM_RE = re.compile(r"([0-9][0-9,]*)(?:\.([0-9]+))?( ?(?:k|thousand|million|mn|billion|bn|trillion)\b)?")
_ACRONYM_RE = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_ACRONYM_HINT = re.compile(r"\.[A-Za-z]\.")


# A colon followed by a letter or digit: the only colons that can be a clock time (JSON's ": " is not).
_COLON_BEFORE_ALNUM = re.compile(r":(?=[^\W_])")


def _clock_numbers(text: str) -> set[float]:
    """Hours and minutes of every "H:MM" in ``text`` (a look around each candidate colon: cheaper than a regex
    for the whole shape)."""
    found: set[float] = set()
    for colon in _COLON_BEFORE_ALNUM.finditer(text):
        i = colon.start()
        before, after = text[max(0, i - 2):i], text[i + 1:i + 3]
        hour = before[1:] if len(before) == 2 and not before[0].isdigit() else before
        minute = after[:1] if len(after) == 2 and not after[1].isdigit() else after
        if hour.isdecimal() and minute.isdecimal():  # isdigit() admits "²", which float() refuses
            found.update((float(hour), float(minute)))
    return found


@lru_cache(maxsize=4096)
def _text_words(text: str) -> frozenset[str]:
    found = vocabulary(text)
    if _ACRONYM_HINT.search(text):  # every dotted acronym holds ".X." (the full pattern scans slowly)
        acronyms = {m.group(0).replace(".", "").lower() for m in _ACRONYM_RE.finditer(text)}
        if acronyms:
            found = found | acronyms
    return found


@lru_cache(maxsize=4096)
def _text_sorted_words(text: str) -> list[str]:
    """:func:`_text_words` in sorted order (treat as read-only): the runs :attr:`SourceIndex._sorted_words` merges."""
    return sorted(_text_words(text))


@lru_cache(maxsize=4096)
def _text_numbers(text: str) -> frozenset[float]:
    """A lighter pass than :func:`extract_numbers`: units and positions do not matter for sources."""
    values: set[float] = set()
    lowered = text.lower()
    for integer, fraction, unit in set(_SOURCE_NUM_RE.findall(lowered)):
        if not (fraction or unit or "," in integer):  # most numbers: a plain integer
            values.add(float(integer))
            continue
        integer = integer.strip(",")
        scale = _SCALES.get(unit.strip(), 1.0)
        if "," in integer and not _THOUSANDS_RE.fullmatch(integer):  # "1,2,3": a list, not 123
            values.update(float(part) * scale for part in integer.split(",") if part)
            continue
        value = float(f"{integer.replace(',', '')}.{fraction}") if fraction else float(integer.replace(",", ""))
        values.add(value * scale)
    values.update(_clock_numbers(lowered))  # "17:30" also holds 17 and 30
    present = NUMBER_WORDS.keys() & _text_words(text)
    values.update(float(NUMBER_WORDS[word]) for _, _, word in number_words(text, present))
    return frozenset(values)


@lru_cache(maxsize=4096)
def _text_times(text: str) -> frozenset[int]:
    return frozenset(m.value for m in extract_times(text))


@lru_cache(maxsize=4096)
def _text_dates(text: str) -> tuple[tuple[int | None, int | None, int | None], ...]:
    return tuple(m.value for m in extract_dates(text, set(_text_words(text))))


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
        """Every source word in order (a word in several texts is listed once per text). Each text's words are
        sorted once per text; sorting their concatenation only merges those runs, several times cheaper than
        sorting the item's word set."""
        if len(self.texts) == 1:
            return _text_sorted_words(self.texts[0])
        return sorted(chain.from_iterable(map(_text_sorted_words, self.texts)))

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
        head = name[:4]
        words = self._sorted_words
        i = bisect_left(words, head)
        if i == len(words) or not words[i].startswith(head):
            return False  # most often: no source word starts the same way
        target = stem(name)
        five = name[:5] if len(name) >= 5 else None  # the cheap test first: five shared letters
        for i in range(i, len(words)):
            other = words[i]
            if not other.startswith(head):
                break
            if other[:5] == five or stem(other) == target:
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
        year_ok = year is None or float(year) in self.numbers
        day_ok = day is None or float(day) in self.numbers
        return bool(month_ok and year_ok and day_ok
                    and (year is not None or day is not None))
