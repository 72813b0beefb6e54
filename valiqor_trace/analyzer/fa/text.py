"""Small, fast text helpers shared by the deterministic detectors and eval metrics.

Everything here is pure and dependency-free. Matching is lexical on purpose: the
deterministic layer must be cheap (10,000 items in seconds) and explainable; meaning
is the judge's job. Terms are lower-cased, light-stemmed and truncated so that
"interacts"/"interaction" or "seat"/"seating" meet.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import filterfalse
from typing import cast

WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
# WORD_RE for ASCII text (most text): the same tokens, with plain ASCII classes that match ~30% faster than
# Unicode categories
_ASCII_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_CAMEL_PAIR = re.compile(r"[A-Z](?<=[a-z][A-Z])")  # "aB"; capital first: capitals are rare, so the scan is fast
_SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_SPACE_RE = re.compile(r"\s+")
_QUOTE_PAIRS = (("“", '"'), ("”", '"'), ("„", '"'), ("‘", "'"), ("’", "'"), ("–", "-"), ("—", "-"))

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because been before
    being below between both but by can cannot could couldn't did didn't do does doesn't doing don't down
    during each either else etc even ever every few for from further get gets got had hadn't has hasn't have
    haven't having he her here hers herself him himself his how however i if in into is isn't it it's its
    itself just let like made make many may me might more most much must my myself neither no nor not now of
    off often on once one only or other others our ours ourselves out over own per please rather really same
    shall she should shouldn't since so some such than that that's the their theirs them themselves then
    there there's these they this those though through thus to too under until up upon us use used using
    very via was wasn't we were weren't what when where whether which while who whom whose why will with
    within without won't would wouldn't yes yet you your yours yourself yourselves""".split()
)

_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ies", "ied", "es", "ed", "ly", "s")
STEM_LENGTH = 6


def normalize_quotes(text: str) -> str:
    """Unify typographic quotes and dashes so that quoted spans compare equal."""
    if text.isascii():
        return text
    # one fast substring pass per character beats ``str.translate`` (a dict look-up per character) 5-10x
    for typographic, plain in _QUOTE_PAIRS:
        if typographic in text:
            text = text.replace(typographic, plain)
    return text


# Tokenising is the main cost on long contexts (a regex pass is ~30 ns per character in CPython),
# so each text is tokenised once and every view of it (lower-case words, vocabulary, content terms)
# is derived from that one pass and cached per text.
@lru_cache(maxsize=64)
def lowered(text: str) -> str:
    """``text.lower()``, cached: several checks lower-case the same answer, request or passage."""
    return text.lower()


def word_pattern(text: str) -> re.Pattern[str]:
    """:data:`WORD_RE`, or its faster ASCII equivalent when ``text`` is ASCII."""
    return _ASCII_WORD_RE if text.isascii() else WORD_RE


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """Word tokens as written (letters and digits, inner hyphens/apostrophes kept); cached per text."""
    if text.isascii():
        return ascii_tokens(text)
    text = normalize_quotes(text)
    return tuple(word_pattern(text).findall(text))


# Every byte but ASCII letters, digits and the joiners ' and -, as a space: what no token holds.
_NOT_TOKEN_BYTES = bytes(b if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "'-") else 32 for b in range(256))


def ascii_tokens(text: str) -> tuple[str, ...]:
    """The word tokens of an ASCII text (``_ASCII_WORD_RE.findall(text)``, uncached) at less than half the cost of
    the regex scan: a token never crosses a character that no token holds, so the text is cut at those (one byte
    translation, one split) and each piece is read alone. A piece of letters and digits is one token, and so is
    one the pattern matches whole ("don't", "e-mail"); only other pieces ("--", "'quoted'") go through the
    pattern."""
    pieces = text.encode("ascii").translate(_NOT_TOKEN_BYTES).decode("ascii").split()
    if ("'" in text or "-" in text) and not all(map(_ASCII_WORD_RE.fullmatch, filterfalse(str.isalnum, pieces))):
        found: list[str] = []
        for piece in pieces:
            if piece.isalnum():
                found.append(piece)
            else:
                found.extend(_ASCII_WORD_RE.findall(piece))
        return tuple(found)
    return tuple(pieces)


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens; cached per text."""
    found = tokens(text)
    return tuple(" ".join(found).lower().split(" ")) if found else ()


@lru_cache(maxsize=4096)
def vocabulary(text: str) -> frozenset[str]:
    """Every lower-cased word of ``text``, plus the parts of camelCase and hyphenated words
    ("OutdoorSeating" -> outdoor, seating; "take-out" -> take, out, takeout)."""
    found = set(words(text))
    if _CAMEL_PAIR.search(text):
        # lower-case words (most) are dropped at C speed before the per-word test
        camel = [t for t in filterfalse(str.islower, tokens(text)) if not t.isupper() and t[1:] != t[1:].lower()]
        found.update(" ".join(split_camel(t) for t in camel).lower().split())
    # words with a joiner are the ones that are not alphanumeric (``filterfalse`` runs the test at C speed;
    # any other such word splits into itself, a no-op)
    joined = list(filterfalse(str.isalnum, found))
    for word in joined:  # parts between joiners (' ’ -), and the word without them (string methods beat a regex)
        parts = word.replace("'", "-").replace("’", "-").split("-")
        found.update(parts)
        found.add("".join(parts))
    return frozenset(found)


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """Light stemming: strip one common English suffix, then truncate to :data:`STEM_LENGTH`.

    Truncation stemming is crude but language-agnostic and fast; collisions only make
    overlap measures a little more lenient, which is the safe direction for detectors
    that flag *missing* support.
    """
    token = token.lower().replace("'s", "").replace("’s", "")
    if token.isdigit():
        return token
    for suffix in _SUFFIXES:
        if len(token) - len(suffix) >= 4 and token.endswith(suffix):
            token = token[: -len(suffix)]
            break
    return token[:STEM_LENGTH]


def is_content_word(token: str) -> bool:
    return token not in STOPWORDS and (len(token) >= 3 or token.isdigit())


# word -> its content term: the stem, or "" for a stopword or a word too short to count. Reading a plain
# dict through ``map`` costs a third of filtering each word and calling the lru-cached :func:`stem`; the
# dict is emptied when it gets large (only lookups and single stores touch it, so threads may share it).
_TERMS: dict[str, str] = {}
_TERMS_MAX = 200_000


def _term(word: str) -> str:
    return stem(word) if word not in STOPWORDS and (len(word) >= 3 or word.isdigit()) else ""


@lru_cache(maxsize=8192)
def content_terms(text: str) -> frozenset[str]:
    """Stemmed content words of ``text`` (stopwords and 1-2 letter words dropped); cached per text."""
    found = vocabulary(text)
    terms = set(map(_TERMS.get, found))
    if None in terms:  # some words not met before: stem those only (``filterfalse`` finds them at C speed)
        if len(_TERMS) >= _TERMS_MAX:
            _TERMS.clear()
        for word in list(filterfalse(_TERMS.__contains__, found)):
            _TERMS[word] = _term(word)
        terms = set(map(_TERMS.get, found))
        if None in terms:  # another thread emptied the dict meanwhile
            terms = set(map(_term, found))
    terms.discard("")  # stopwords and short words (no word stems to "")
    return frozenset(cast("set[str]", terms))  # no None: a set that had one was rebuilt above


def content_term_list(text: str) -> list[str]:
    """Like :func:`content_terms` but ordered and with repeats (for coverage ratios)."""
    return [stem(t) for t in words(text) if is_content_word(t)]


def split_camel(text: str) -> str:
    """``"OutdoorSeating"`` -> ``"Outdoor Seating"`` so structured keys match prose."""
    return _CAMEL_RE.sub(" ", text)


def sentences(text: str) -> Iterator[tuple[int, int, str]]:
    """Yield ``(start, end, sentence)`` for each sentence or line of ``text``."""
    for match in _SENTENCE_RE.finditer(text):
        chunk = match.group(0)
        stripped = chunk.strip()
        if stripped:
            start = match.start() + (len(chunk) - len(chunk.lstrip()))
            yield start, start + len(stripped), stripped


def sentences_at(text: str, offsets: list[int]) -> Iterator[tuple[int, int, str]]:
    """The sentences of :func:`sentences` that hold one of ``offsets`` (sorted) in ``[start, end)``.

    A sentence is a trimmed piece of one match of the sentence pattern: a match that holds no offset cannot give
    one, and is passed over without being trimmed (most of them, when the offsets are few).
    """
    if not offsets:
        return
    last = offsets[-1]
    for match in _SENTENCE_RE.finditer(text):
        first, stop = match.span()
        if first > last:
            return  # every offset is behind
        i = bisect_left(offsets, first)
        if i == len(offsets) or offsets[i] >= stop:
            continue
        chunk = match.group(0)
        stripped = chunk.strip()
        if stripped:
            start = first + (len(chunk) - len(chunk.lstrip()))
            end = start + len(stripped)
            i = bisect_left(offsets, start)
            if i < len(offsets) and offsets[i] < end:
                yield start, end, stripped


class FoldedPattern:
    """A case-insensitive regex that runs case-sensitively on lower-cased ASCII text.

    ``re.IGNORECASE`` roughly halves the speed of a scan; on ASCII text, lower-casing first and
    matching a lower-case pattern finds exactly the same spans (other text uses the
    ``IGNORECASE`` pattern). The match may be on the lower-cased text: read its positions and
    slice the original, never ``group()``.
    """

    __slots__ = ("folded", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        if _UPPER_LITERAL.search(pattern):
            raise ValueError(f"a folded pattern must be written in lower case: {pattern!r}")
        self.pattern = re.compile(pattern, flags | re.IGNORECASE)
        # The folded pattern only ever reads ASCII text, where ASCII-only classes (\w, \b, \d) match exactly as
        # the Unicode ones, ~30% faster. Not \s: Unicode \s also matches the ASCII separators \x1c-\x1f.
        uses_space_class = "\\s" in pattern or "\\S" in pattern
        self.folded = re.compile(pattern, flags if uses_space_class else flags | re.ASCII)

    def search(self, text: str, lowered: str | None = None) -> re.Match[str] | None:
        """The first match in ``text`` (``lowered``: ``text.lower()`` when the caller has it)."""
        if text.isascii():
            return self.folded.search(text.lower() if lowered is None else lowered)
        return self.pattern.search(text)

    def finditer(self, text: str, lowered: str | None = None) -> Iterator[re.Match[str]]:
        """Every match in ``text``, left to right (as :meth:`search`: read positions, not ``group()``)."""
        if text.isascii():
            return self.folded.finditer(text.lower() if lowered is None else lowered)
        return self.pattern.finditer(text)


def may_contain(text: str, lowered: str, hints: tuple[str, ...]) -> bool:
    """Whether a case-insensitive pattern, every match of which contains one of ``hints`` (lower case), can
    match ``text`` (``lowered``: ``text.lower()``): a substring test that saves the regex scan.

    Exact on ASCII text. Other text always may: Unicode case folding matches a few letters with non-ASCII
    ones ("ſ" with "s", the Kelvin sign with "k"), which lower-casing does not map.
    """
    return not text.isascii() or any(hint in lowered for hint in hints)


_UPPER_LITERAL = re.compile(r"(?<!\\)[A-Z]")  # an upper-case letter that is not an escape (\b, \S, \W...)


def overlap(needle: set[str], haystack: set[str]) -> float:
    """Share of ``needle`` terms found in ``haystack`` (1.0 when ``needle`` is empty)."""
    if not needle:
        return 1.0
    return len(needle & haystack) / len(needle)


def ngrams(tokens: tuple[str, ...] | list[str], n: int) -> Iterable[tuple[str, ...]]:
    return zip(*(tokens[i:] for i in range(n)))


def clip(text: str, limit: int = 160) -> str:
    """A short quote for evidence: whitespace collapsed, cut with an ellipsis."""
    # ``" ".join(text.split())`` is ``_SPACE_RE.sub(" ", text).strip()`` (both split at ``str.isspace``
    # characters) at a fraction of the cost
    if len(text) > 4 * limit:
        # Evidence often quotes a whole passage or answer: collapse only a head of it. The collapsed head
        # is a prefix of the collapsed text, so once it is longer than the quote, the quote is known.
        cut = text[:4 * limit]
        head = " ".join(cut.split())
        if len(head) + cut[-1].isspace() > limit + 1:  # (a head cut in whitespace has one more space to come)
            return head[: limit - 1] + "…"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
