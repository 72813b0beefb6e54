"""Contradiction: an answer sentence that says the opposite of the source sentence it aligns with.

Novelty (``content_grounding``) catches what no source says; this catches what a source says
*otherwise*. Each answer sentence is aligned with its best-supporting sentences of the retrieved
passages and tool outputs (shared stemmed content words, :func:`~valiqor_trace.analyzer.fa.text.content_terms`);
on an aligned pair it checks:

- polarity: a negation (not, never, no, without, "no known X") on one side only, in a clause that
  itself carries the shared terms, while the other side negates nothing;
- antonyms: a word on one side and its opposite on the other (safe/unsafe, increase/decrease,
  allowed/forbidden, usable/unusable ...), a negation just before either flipping it;
- values: a number or date of the same kind and unit that differs, when the answer's value appears
  in no source at all (a value found elsewhere may be a different fact, quoted right);
- entities: a name in the answer where the aligned sentence has another name in the same slot (the
  same word before or after it).

Both directions: the answer may negate what a source affirms or assert what a source negates.
Only the answer sentences that can conflict (a negation, an opposite word a source answers, a value or
name found in no source, a word a source negation reaches) are aligned: most are none of these.
Lexical alignment is cheap and explainable, and it misses paraphrases; the judge covers meaning.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding
from valiqor_trace.analyzer.fa.detectors.grounding import (
    _FRAMING_WORDS,
    answer_mentions,
    grounding_applies,
    output_mentions,
    unsupported_answer_facts,
)
from valiqor_trace.analyzer.fa.facts import Mention, extract_entities
from valiqor_trace.analyzer.fa.models import Decision, EvidenceItem
from valiqor_trace.analyzer.fa.text import (
    STOPWORDS,
    FoldedPattern,
    content_terms,
    lowered,
    sentences,
    sentences_at,
    stem,
    tokens,
    vocabulary,
    words,
)

# "no-fly", "yes-or-no" are words, not negations; refusing, failing to and lacking deny too.
# Every match starts with one of "cflnruw", and the pattern opens with that class so that the regex engine
# skips from candidate to candidate (twice as fast as an alternation behind "\b"): "(?<![\w-].)" then says
# the word starts there.
NEGATION = FoldedPattern(r"[cflnruw](?:(?<![\w-].)(?:(?<=n)(?:ot|o|ever|one|othing|either|or)|(?<=w)ithout|"
                         r"(?<=c)annot|(?<=u)nable|(?<=r)efus(?:e|es|ed|ing)|(?<=f)ail(?:s|ed)? to|"
                         r"(?<=l)ack(?:s|ed|ing)?)\b(?!-)|(?<=n)['’]t\b)")
# The words NEGATION matches (whole: it needs a word boundary on both sides), besides "n't". An ASCII text whose
# vocabulary holds none of them and no "n't" has no negation: that set test saves most answers a scan.
_NEGATION_WORDS = frozenset("""not no never none nothing neither nor without cannot unable refuse refuses refused
    refusing fail fails failed lack lacks lacked lacking""".split())


def _may_negate(text: str, folded: str) -> bool:
    """Whether :data:`NEGATION` can match ``text`` (``folded``: its lower case). Exact on ASCII text; other text
    is always scanned (Unicode case folding matches "ſ" with "s", which lower-casing does not map)."""
    return not text.isascii() or "n't" in folded or not vocabulary(text).isdisjoint(_NEGATION_WORDS)


# Negation words that do not deny the clause's claim ("not only", "no more than three").
# "Not all"/"not always" deny a quantifier, which "some"/"often" on the other side do not contradict.
_IDIOM = FoldedPattern(r"(?:\bnot|n['’]t) (?:only|just|least|to mention|all|every|always|necessarily|"
                       r"(?:be )?(?:any )?(?:more|happier|better|prouder))\b|"
                       r"\b(?:no doubt|no matter|nothing but|no (?:less|more|fewer|later|earlier|sooner) than|"
                       r"without (?:a )?(?:doubt|question)|no wonder|with or without|whether or not|or not)\b")
# Words that deny without a negation word. The side a negation is compared against must hold none of them
# either ("refused to comment" and "declined to comment" agree), so they only ever prevent a finding.
_SOFT_NEGATION = FoldedPattern(r"\b(?:avoid|prevent|declin|den(?:y|ied|ies)|refus|fail|lack|stop|absen|limit|short|"
                               r"rare|rarely|hardly|barely|few|little|instead|rather|contrary|tried|attempt|"
                               r"non-?[a-z]{4,}|neither|against|free of|fewer|less|unlikely|unable|unclear|unknown|"
                               r"unaware|unwilling|improbable|doubt)")
# A negated claim under a condition or a question is not the flat denial the check compares.
_CONDITIONAL = FoldedPattern(r"\b(?:if|unless|whether|otherwise|until|despite|unclear|even though|why)\b|\?")
_CLAUSE_BREAK = FoldedPattern(r"[,;:()]|--|—|\b(?:but|while|whereas|although|though|however|yet|and)\b")
# Hedges that ride with a negation ("no known interactions", "no reported cases"): not part of what is claimed.
_HEDGES = frozenset(map(stem, "known reported documented significant evidence any".split()))
_NOT_TERMS = frozenset(map(stem, _FRAMING_WORDS)) | _HEDGES
# A negation about the material itself ("the passages do not mention X") is an abstention, not a claim.
_ABOUT_SOURCE = frozenset(map(stem, """passage passages text article document documents context information source
    sources provided provide mention mentions mentioned explicitly specify specified specific""".split()))

# Opposites: (word forms of one side, word forms of the other). Matched by stem; a small general list.
_ANTONYM_PAIRS = (
    ("safe", "unsafe dangerous hazardous"), ("allowed permitted", "forbidden prohibited banned"),
    ("increase increases increased increasing", "decrease decreases decreased decreasing"),
    ("rise rises rose risen rising", "fall falls fell fallen falling"),
    ("open opened", "closed shut"), ("true", "false"), ("legal", "illegal"), ("possible", "impossible"),
    ("available", "unavailable"), ("accepted accept", "rejected reject"), ("won win wins", "lost lose loses"),
    ("gain gains gained", "loss losses lost"), ("higher", "lower"), ("above", "below"), ("maximum", "minimum"),
    ("include included includes", "exclude excluded excludes"), ("enabled enable", "disabled disable"),
    ("success successful succeeded", "failure failed unsuccessful"), ("positive", "negative"),
    ("agree agreed agrees", "disagree disagreed disagrees"), ("support supported supports", "oppose opposed opposes"),
    ("public", "private"), ("inside", "outside"), ("strong stronger", "weak weaker"), ("older", "younger"),
    ("male", "female"), ("present", "absent"), ("alive", "dead"), ("correct", "incorrect"), ("valid", "invalid"),
    ("approved approve", "denied deny refused"), ("guilty", "innocent"), ("same", "different"),
    ("increase", "reduce reduced reduces"),
)
_ANTONYMS: dict[str, tuple[str, int]] = {}  # stem -> (pair key, side)
for _index, _pair in enumerate(_ANTONYM_PAIRS):
    for _side, _forms in enumerate(_pair):
        for _form in _forms.split():
            _ANTONYMS.setdefault(stem(_form), (f"pair{_index}", _side))
_STOPWORD_FORMS = frozenset(f for pair in _ANTONYM_PAIRS for forms in pair for f in forms.split()
                            if f in STOPWORDS or len(f) < 3)
# "unX" / "nonX" is the opposite of "X" (a base of four letters or more: not "unless"/"less").
_PREFIX = re.compile(r"(?:un|non-?)([a-z]{4,})")

# Share of an answer sentence's content terms that the aligned source sentence must hold before the
# pair counts as aligned at all, and before a conflict on it is a fail rather than "unsure".
# ALIGN_FAIL is calibrated on the calibration half of RAGTruth (benchmarks/_fa_ragtruth.py).
ALIGN_MIN = 0.5
ALIGN_FAIL = 0.55
MIN_SHARED = 2
MIN_ANSWER_TERMS = 3  # "Must be obtained from the diet": a list item without its subject claims too little
MAX_SOURCES = 20


@dataclass
class _Sentence:
    start: int
    end: int
    text: str
    owner: str  # the whole text the sentence is part of (for facts that the sentence split cuts: "$1.5")
    source: bool = True  # a source sentence (a heading or a fragment there states nothing)
    _terms: frozenset[str] | None = field(default=None, repr=False)
    _negations: list[int] | None = field(default=None, repr=False)
    _clauses: list[frozenset[str]] | None = field(default=None, repr=False)
    _cuts: list[int] | None = field(default=None, repr=False)
    _lowered: str | None = field(default=None, repr=False)
    _opposite_keys: tuple[frozenset[str], frozenset[str]] | None = field(default=None, repr=False)
    _probes: list[str] | None = field(default=None, repr=False)
    _conditional: bool | None = field(default=None, repr=False)
    _opposites: dict[str, tuple[int, int, bool]] | None = field(default=None, repr=False)
    _soft: bool | None = field(default=None, repr=False)
    _any_negation: bool | None = field(default=None, repr=False)

    # Each test below reads one sentence with one pattern; a sentence meets many others (every source sentence it is
    # aligned with, both directions), so each result is kept.
    @property
    def opposites(self) -> dict[str, tuple[int, int, bool]]:
        """:func:`_opposites` of the sentence, read once (an answer sentence meets up to three source sentences).
        Shared: copy it before changing it."""
        if self._opposites is None:
            self._opposites = _opposites(self)
        return self._opposites

    @property
    def conditional(self) -> bool:
        """A condition or a question (:data:`_CONDITIONAL`)."""
        if self._conditional is None:
            self._conditional = _CONDITIONAL.search(self.text, self.lowered) is not None
        return self._conditional

    @property
    def soft(self) -> bool:
        """A word that denies without a negation word (:data:`_SOFT_NEGATION`)."""
        if self._soft is None:
            self._soft = _SOFT_NEGATION.search(self.text, self.lowered) is not None
        return self._soft

    @property
    def any_negation(self) -> bool:
        """Any negation word, idioms included (:data:`NEGATION`)."""
        if self._any_negation is None:
            self._any_negation = NEGATION.search(self.text, self.lowered) is not None
        return self._any_negation

    @property
    def probes(self) -> list[str]:
        """The probes :func:`_best_aligned` looks for, longest first (the same for every source: read once)."""
        if self._probes is None:
            self._probes = sorted(_probes(self.text), key=len, reverse=True)[:_PROBES]
        return self._probes

    @property
    def lowered(self) -> str:
        if self._lowered is None:
            self._lowered = self.text.lower()
        return self._lowered

    @property
    def terms(self) -> frozenset[str]:
        """Content terms that align (framing words and hedges dropped); none for a source heading or a
        fragment that starts in lower case (its subject is in the previous piece)."""
        if self._terms is None:
            text = self.text
            self._terms = frozenset() if self.source and (_heading(text) or text[0].islower()) else \
                content_terms(text) - _NOT_TERMS
        return self._terms

    @property
    def cuts(self) -> list[int]:
        """0, then the start and end of each clause break, then the sentence length."""
        if self._cuts is None:
            self._cuts = [0, *(x for m in _CLAUSE_BREAK.finditer(self.text, self.lowered) for x in m.span()), len(self.text)]
        return self._cuts

    @property
    def clauses(self) -> list[frozenset[str]]:
        """The content terms of each clause."""
        if self._clauses is None:
            cuts = self.cuts
            self._clauses = [content_terms(self.text[a:b]) for a, b in zip(cuts[::2], cuts[1::2])]
        return self._clauses

    @property
    def opposite_keys(self) -> tuple[frozenset[str], frozenset[str]]:
        """(antonym pairs the sentence has a word of, stems of the bases of its un-/non- words): a cheap
        look that keeps the word-by-word reading of opposites off the pairs that cannot have any."""
        if self._opposite_keys is None:
            found = vocabulary(self.text)
            pairs = {_ANTONYMS[t][0] for t in content_terms(self.text) if t in _ANTONYMS}
            pairs.update(_ANTONYMS[stem(w)][0] for w in found & _STOPWORD_FORMS)
            bases = {stem(m.group(1)) for m in map(_PREFIX.fullmatch, (w for w in found if w[:1] in "un")) if m}
            self._opposite_keys = (frozenset(pairs), frozenset(bases))
        return self._opposite_keys

    @property
    def negations(self) -> list[int]:
        """Offsets (in the sentence) of negations that deny something (idioms dropped)."""
        if self._negations is None:
            found = [m.start() for m in NEGATION.finditer(self.text, self.lowered)]
            self._any_negation = bool(found)  # the same scan as :attr:`any_negation`'s
            idioms = [m.span() for m in _IDIOM.finditer(self.text, self.lowered)] if found else []
            self._negations = [at for at in found if not any(s <= at < e for s, e in idioms)]
        return self._negations


def _heading(text: str) -> bool:
    """A title ("Oily Skin Causes."): every longer word capitalised. It states nothing to contradict."""
    longer = [t for t in tokens(text) if len(t) >= 4]
    return bool(longer) and all(t[0].isupper() for t in longer)


class _SourceText:
    """A source text split into sentences; each sentence is built (and split into words) when first read."""

    __slots__ = ("_built", "_probed", "ends", "lowered", "spans", "starts", "text")

    def __init__(self, text: str) -> None:
        self.text, self.lowered = text, text.lower()
        self.spans = list(sentences(text))
        self.starts = [span[0] for span in self.spans]
        self.ends = [span[1] for span in self.spans]
        self._built: dict[int, _Sentence] = {}
        self._probed: dict[str, tuple[int, ...]] = {}

    def probe(self, probe: str) -> tuple[int, ...]:
        """The numbers of the sentences ``probe`` occurs in (each once; the first :data:`_PROBE_LIMIT` occurrences
        followed). Kept per probe: the answers that share a source (and the sentences of one answer) share words."""
        found = self._probed.get(probe)
        if found is None:
            lowered_text, hits = self.lowered, []
            at, seen = lowered_text.find(probe), 0
            while at != -1 and seen < _PROBE_LIMIT:
                i = self.at(at)
                if i >= 0:
                    hits.append(i)
                at, seen = lowered_text.find(probe, self.ends[i] if i >= 0 else at + 1), seen + 1
            found = self._probed[probe] = tuple(hits)
        return found

    def sentence(self, i: int) -> _Sentence:
        built = self._built.get(i)
        if built is None:
            start, end, sentence = self.spans[i]
            built = self._built[i] = _Sentence(start, end, sentence, self.text)
        return built

    def at(self, offset: int) -> int:
        """The number of the sentence holding ``offset``, or -1 (between sentences)."""
        i = bisect_right(self.starts, offset) - 1
        return i if i >= 0 and offset < self.ends[i] else -1


@lru_cache(maxsize=512)
def _source_text(text: str) -> _SourceText:
    """Cached per text: a passage is usually shared by several answers."""
    return _SourceText(text)


_Cues = tuple[dict[str, list[int]], frozenset[str]]


@lru_cache(maxsize=512)
def _source_cues(text: str) -> _Cues:
    """(term a negation reaches -> where those negations are, the opposite words of the text): what decides
    whether an answer sentence needs to be aligned with the text at all. Read from the few words after each
    negation, without splitting the text into sentences (most answers never need them)."""
    folded = lowered(text)
    reach: dict[str, list[int]] = {}
    for m in NEGATION.finditer(text, folded):
        for word in words(folded[m.start():m.start() + _SCOPE_CHARS])[1:_SCOPE_WORDS]:
            if word not in STOPWORDS and len(word) >= 3:
                reach.setdefault(stem(word), []).append(m.start())
    return reach, _opposite_cues(text)


_SCOPE_CHARS = 60  # enough for the words a negation reaches (_SCOPE_WORDS)


def _scope_terms(sentence: _Sentence, at: int) -> frozenset[str]:
    """The content terms of the few words a negation at ``at`` reaches."""
    _, end = _clause(sentence, at)
    return content_terms(" ".join(words(sentence.text[at:end])[:_SCOPE_WORDS]))


def _opposite_cues(text: str) -> frozenset[str]:
    """"pair:side" for each antonym word of ``text`` and "base:stem:1" for each un-/non- word (set operations
    on the text's cached vocabulary: no scan of the text)."""
    found = vocabulary(text)
    keys = {"%s:%d" % _ANTONYMS[stem(w)] for w in found & _CUE_FORMS}
    keys.update(f"base:{stem(m.group(1))}:1" for m in map(_PREFIX.fullmatch, _prefixed(found)) if m)
    return frozenset(keys)


def _prefixed(found: frozenset[str]) -> filter:
    """The words of a vocabulary that may be un-/non- words (the test runs at C speed: most words are not)."""
    return filter(_PREFIX_START, found)


_PREFIX_START = re.compile(r"un|non").match


_CUE_FORMS = frozenset(f for pair in _ANTONYM_PAIRS for forms in pair for f in forms.split())


@dataclass
class _Conflict:
    kind: str  # negation | antonym | value | entity
    answer: _Sentence
    source: _Sentence
    where: int  # the source number (see _sources)
    coverage: float
    detail: str


def _sources(view: ItemView) -> list[tuple[str, bool, int]]:
    """(text, is context, index) of every prose context entry and tool output. JSON (and text that opens like
    JSON but does not parse: a truncated or annotated payload) is structured_grounding's: its "sentences"
    are records, not statements."""
    found = [(text, True, i) for i, text in enumerate(view.context[:MAX_SOURCES])]
    found += [(text, False, i) for i, text in view.executed_outputs[:MAX_SOURCES]]
    return [s for s in found if s[0].strip() and s[0].lstrip()[0] not in "{["]


def _best_aligned(answer: _Sentence, text: str) -> list[tuple[float, _Sentence]]:
    """The source sentences holding the largest share of the answer sentence's terms (ties kept), if aligned
    at all. Candidates are the sentences where two of the answer's words occur (a substring search), so
    that only those are split into words."""
    source = _source_text(text)
    hits: dict[int, int] = {}
    for probe in answer.probes:
        for i in source.probe(probe):
            hits[i] = hits.get(i, 0) + 1
    terms = answer.terms
    scored = []
    # the sentences with the most probe hits are read word by word; the others share fewer words
    for _, i in sorted((c, i) for i, c in hits.items() if c >= MIN_SHARED)[-_CANDIDATES:]:
        sentence = source.sentence(i)
        shared = len(terms & sentence.terms)
        if shared >= MIN_SHARED:
            scored.append((_coverage(shared, len(terms), len(sentence.terms)), sentence))
    best = max((c for c, _ in scored), default=0.0)
    return [(c, s) for c, s in scored if c == best] if best >= ALIGN_MIN else []


def _probes(text: str) -> list[str]:
    """The first five letters of each longer content word: substrings that find the sentences sharing it."""
    return [w[:5] for w in dict.fromkeys(words(text)) if len(w) >= 4 and w not in STOPWORDS]


_PROBES = 10  # the answer sentence's longest words looked for (the rarer ones)
_CANDIDATES = 3  # source sentences per source read word by word for one answer sentence
_PROBE_LIMIT = 12  # occurrences of one probe followed in a source (a common word need not be followed further)


def _coverage(shared: int, mine: int, theirs: int) -> float:
    """Shared terms over the shorter sentence's terms (at least three): one sentence saying what the other
    does, with or without more around it."""
    return shared / max(3, min(mine, theirs))


def _clause(sentence: _Sentence, at: int) -> tuple[int, int]:
    """Bounds of the clause of the sentence around offset ``at`` (commas, semicolons, "but", "and", dashes)."""
    cuts = sentence.cuts  # [0, break start, break end, ..., length]: clause k is cuts[2k]..cuts[2k + 1]
    i = bisect_right(cuts, at)
    i -= i % 2 == 0  # inside a break: the clause before it
    return cuts[i - 1], cuts[i]


def _bears_on(sentence: _Sentence, at: int, other: _Sentence) -> bool:
    """Whether the clause at ``at`` (a negation or an opposite word) is about what ``other`` says.

    Half the clause's terms, two at least, are in ``other``, one of them within the few words after ``at``
    (a negation reaches that far: "no known drug interactions") that the rest of the sentence does not repeat;
    and the clause is not a remark about the source material ("the passages do not mention").
    """
    text = sentence.text
    start, end = _clause(sentence, at)
    clause = content_terms(text[start:end])
    if not clause or clause & _ABOUT_SOURCE:
        return False
    shared = clause & other.terms
    if len(shared) < MIN_SHARED or len(shared) < 0.5 * len(clause - _NOT_TERMS):
        return False
    subject = content_terms(text[start:at]) - _NOT_TERMS
    if subject and not subject & other.terms:
        return False  # the clause is about something else ("gravy is not ..." against "the sauce is ...")
    rest = content_terms(text[:start] + " " + text[end:])
    # what the negation reaches must meet a clause of the other sentence that is about the same thing
    return any(term in terms and len(terms & clause) >= MIN_SHARED
               for term in (_scope_terms(sentence, at) & other.terms) - rest for terms in other.clauses)


_SCOPE_WORDS = 6  # the negation word and the five after it ("never use the X200 on wet floors")


def _denies(side: _Sentence, other: _Sentence) -> bool:
    """``side`` negates, in a clause about what ``other`` says, and ``other`` negates nothing."""
    if not side.negations or other.negations or side.conditional or other.conditional:
        return False
    if other.any_negation or other.soft:  # idioms included: "not all" vs "some"
        return False
    return any(_bears_on(side, at, other) for at in side.negations)


_Polarity = dict[str, tuple[int, int, bool]]  # opposite pair -> (side, offset, flipped by a negation)


def _opposites(sentence: _Sentence) -> _Polarity:
    """Antonym pair (or un-/non- base) -> polarity for the opposite words of the sentence; a negation
    just before the word in its clause flips the side. A pair met on both sides in one sentence is dropped."""
    text = sentence.text
    found: _Polarity = {}
    mixed: set[str] = set()
    for m in _WORD.finditer(text):
        word = text[m.start():m.end()].lower()
        hit = _ANTONYMS.get(stem(word))
        base = _PREFIX.fullmatch(word) if not hit and word[:1] in ("u", "n") else None
        if not hit and not base:
            continue
        key, side = hit if hit else ("base:" + stem(base.group(1)) if base else "", 1)
        flipped = _negated_before(sentence, m.start())
        side ^= flipped
        if key in found and found[key][0] != side:
            mixed.add(key)
        found.setdefault(key, (side, m.start(), flipped))
    return {k: v for k, v in found.items() if k not in mixed}


_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


def _negated_before(sentence: _Sentence, at: int) -> bool:
    """A negation shortly before offset ``at`` in its clause ("not safe" is "unsafe")."""
    start, _ = _clause(sentence, at)
    near = max(start, at - _FLIP_CHARS)
    return any(near <= n < at for n in sentence.negations)


_FLIP_CHARS = 20  # "is not fully safe": a negation this close before an opposite word flips it


def _polarities(answer: _Sentence, source: _Sentence) -> tuple[_Polarity, _Polarity]:
    """The opposite words of both sentences; an un-/non- word on one side meets its bare base word on the
    other ("unreliable" / "reliable"), unless the prefixed side has the bare word too."""
    mine, theirs = dict(answer.opposites), dict(source.opposites)  # copies: the loop below adds to them
    for key in [k for k in mine.keys() | theirs.keys() if k.startswith("base:")]:
        for one, other, bare_side, prefixed in ((mine, theirs, source, answer), (theirs, mine, answer, source)):
            if key in one and key not in other and _bare_word(prefixed, key[5:]) is None:
                at = _bare_word(bare_side, key[5:])
                if at is not None:
                    flipped = _negated_before(bare_side, at)
                    other[key] = (int(flipped), at, flipped)
    return mine, theirs


def _may_oppose(answer: _Sentence, source: _Sentence) -> bool:
    """Whether the two sentences can hold an opposite pair (one antonym pair, or an un-/non- word on one side
    and its base word on the other)."""
    (pairs, bases), (other_pairs, other_bases) = answer.opposite_keys, source.opposite_keys
    return bool(pairs & other_pairs or bases & content_terms(source.text) or other_bases & content_terms(answer.text))


def _antonym(answer: _Sentence, source: _Sentence, mine: _Polarity, theirs: _Polarity) -> str | None:
    """An opposite pair across the two sentences, each in a clause about the other ("safe" vs "unsafe")."""
    for key, (side, at, _) in mine.items():
        if key in theirs and theirs[key][0] != side and _bears_on(answer, at, source) and \
                _bears_on(source, theirs[key][1], answer):
            return key
    return None


def _negation_explained(mine: _Polarity, theirs: _Polarity) -> bool:
    """A negation that turns an opposite word into the other side's ("not safe" / "unsafe"): agreement."""
    return any(key in theirs and theirs[key][0] == side and (flipped or theirs[key][2])
               for key, (side, _, flipped) in mine.items())


def _bare_word(sentence: _Sentence, base: str) -> int | None:
    """Offset of the first word of the sentence whose stem is ``base``, else None."""
    text = sentence.text
    for m in _WORD.finditer(text):
        if stem(text[m.start():m.end()]) == base:
            return m.start()
    return None


def _value_conflict(view: ItemView, answer: _Sentence, source: _Sentence) -> str | None:
    """A number/date of the answer found in no source, where the aligned sentence has another of the same
    kind (and unit word) that the answer sentence does not also give, and that it is not a rounding of."""
    mine = [m for m in unsupported_answer_facts(view)
            if m.kind in _VALUE_KINDS and m.strong and answer.start <= m.start < answer.end]
    if not mine:
        return None
    theirs = [m for m in _mentions(source.owner) if source.start <= m.start < source.end and m.kind in _VALUE_KINDS]
    given = {m.value for m in answer_mentions(view) if answer.start <= m.start < answer.end}
    for m in mine:
        unit = _unit_after(answer.owner, m)
        for other in theirs:
            if other.kind != m.kind or other.value in given or _rounds_to(other.value, m.value) or \
                    _rescaled(other.value, m.value):
                continue
            if m.kind != "number" or unit == _unit_after(source.owner, other):
                return f"{m.text!r} vs {other.text!r}"
    return None


@lru_cache(maxsize=256)
def _mentions(text: str) -> list[Mention]:
    return output_mentions(text)


def _rescaled(one: object, other: object) -> bool:
    """The same digits with another scale word ("$4m" read as 4 against "$4 million"): a reading, not a value."""
    if not isinstance(one, float) or not isinstance(other, float) or one <= 0 or other <= 0:
        return False
    ratio = max(one, other) / min(one, other)
    return ratio >= 1000 and any(abs(ratio - 10 ** k) < 1e-6 * ratio for k in (3, 6, 9, 12))


def _rounds_to(exact: object, rounded: object) -> bool:
    """"over 1,800" for 1,821: the answer's value is the source's, rounded to its last non-zero digit."""
    if not isinstance(exact, float) or not isinstance(rounded, float) or rounded <= 0 or exact <= 0:
        return False
    digits = len(str(int(rounded))) - len(str(int(rounded)).rstrip("0"))
    return digits > 0 and round(exact, -digits) == rounded


_VALUE_KINDS = frozenset({"number", "percent", "money", "year", "date", "time"})
_NEXT_WORD = re.compile(r"\W*([^\W\d_]+)")


def _unit_after(text: str, mention: Mention) -> str:
    m = _NEXT_WORD.match(text, mention.end)
    return stem(m.group(1)) if m else ""


def _entity_conflict(view: ItemView, answer: _Sentence, source: _Sentence) -> str | None:
    """A name of the answer found in no source, in the slot where the aligned sentence has another name
    (the same word before or after it) that the answer does not use."""
    mine = [m for m in unsupported_answer_facts(view) if m.kind == "entity" and answer.start <= m.start < answer.end]
    if not mine:
        return None  # most sentences: every name is in some source
    theirs = extract_entities(source.text)
    source_words, answer_words = vocabulary(source.text), vocabulary(answer.text)
    for m in mine:
        if any(name in source_words for name in m.value):
            continue
        before, after = _slot(answer.owner, m)
        for other in theirs:
            if any(name in answer_words for name in other.value) or _variant(m, other):
                continue
            o_before, o_after = _slot(source.text, other)
            if (before and before == o_before) or (after and after == o_after):
                return f"{m.text!r} vs {other.text!r}"
    return None


def _variant(one: Mention, other: Mention) -> bool:
    """Spellings or abbreviations of one name ("Teresa"/"Theresa", "CDC"/"Centers for Disease Control")."""
    for a, b in ((one, other), (other, one)):
        initials = "".join(name[0] for name in b.value if name)
        if len(a.value) == 1 and len(initials) > 1 and a.value[0] == initials:
            return True
    return any(x[:3] == y[:3] for x in one.value for y in other.value)


def _slot(text: str, mention: Mention) -> tuple[str, str]:
    """The word before and the word after a mention (lower case, "" at an edge)."""
    before = words(text[:mention.start])
    after = words(text[mention.end:])
    return (before[-1] if before else ""), (after[0] if after else "")


def _conflicts(view: ItemView, sources: list[tuple[str, bool, int]]) -> list[_Conflict]:
    if not sources:
        return []
    output, folded = view.output, lowered(view.output)
    cues = [_source_cues(text) for text, _, _ in sources]
    # terms a source negation reaches that the answer uses: without one, no answer sentence can state what a
    # source denies
    reach = frozenset().union(*(c[0].keys() for c in cues)) & content_terms(output)
    # what in the answer can conflict: a negation, a number/date or name found in no source, a word whose
    # opposite a source has; or a source sentence that negates what it says. Most answers' sentences have
    # none of these and are never aligned.
    negations = [m.start() for m in NEGATION.finditer(output, folded)] if _may_negate(output, folded) else []
    marks = [m.start for m in unsupported_answer_facts(view) if m.strong and m.kind in _VALUE_KINDS]
    marks += [m.start for m in unsupported_answer_facts(view) if m.kind == "entity"]
    marks += _opposite_marks(output, folded, frozenset().union(*(c[1] for c in cues)), sources)
    marks.sort()
    near = sorted(_offsets(folded, sorted(reach))) if reach else []  # words a source negation reaches
    if not marks and not near and not negations:
        return []
    found: list[_Conflict] = []
    # only the sentences holding one of these offsets are read (most sentences hold none)
    for start, end, text in sentences_at(output, sorted({*marks, *negations, *near})):
        marked, negated, reached = _within(marks, start, end), _within(negations, start, end), _within(near, start, end)
        answer = _Sentence(start, end, text, output, source=False)
        if not (marked or negated and _may_deny(answer) or reached and _near_negation(answer, reach, cues, sources)):
            continue
        if len(answer.terms) < MIN_ANSWER_TERMS:
            continue
        # the best-aligned sentences over every source: the answer may say what any one of them says
        aligned = [(coverage, sentence, where) for where, (source_text, _, _) in enumerate(sources)
                   for coverage, sentence in _best_aligned(answer, source_text)]
        if aligned:
            best = max(c for c, _, _ in aligned)
            conflict = _pair_conflict(view, answer, [a for a in aligned if a[0] == best])
            if conflict:
                found.append(conflict)
    return found


def _within(offsets: list[int], start: int, end: int) -> bool:
    i = bisect_left(offsets, start)
    return i < len(offsets) and offsets[i] < end


def _may_deny(answer: _Sentence) -> bool:
    """The answer-side conditions of :func:`_denies` (a flat denial, not a remark about the material)."""
    if not answer.negations or answer.conditional:
        return False
    return any(not _about_source(answer, at) for at in answer.negations)


def _about_source(sentence: _Sentence, at: int) -> bool:
    start, end = _clause(sentence, at)
    return bool(content_terms(sentence.text[start:end]) & _ABOUT_SOURCE)


def _opposite_marks(output: str, folded: str, theirs: frozenset[str],
                    sources: list[tuple[str, bool, int]]) -> list[int]:
    """Offsets of the answer's words whose opposite some source has: the other word of an antonym pair, the
    un-/non- form of a bare word, or the bare base of an un-/non- word (set operations on the answer's
    vocabulary first; the text is searched only for the words found that way)."""
    wanted: list[str] = []
    for word in vocabulary(output) & _CUE_FORMS:
        hit = _ANTONYMS[stem(word)]
        if f"{hit[0]}:{1 - hit[1]}" in theirs:
            wanted.append(word)
    for word in _prefixed(vocabulary(output)):  # an un-/non- word of the answer whose bare form a source uses
        base = _PREFIX.fullmatch(word)
        if base and any(base.group(1) in vocabulary(text) for text, _, _ in sources):
            wanted.append(word)
    wanted += [key[5:-2] for key in theirs if key.startswith("base:")]  # the bare base of a source's un-word
    return _offsets(folded, wanted) if wanted else []


def _offsets(folded: str, needles: list[str]) -> list[int]:
    """Where each needle starts a word of ``folded``."""
    found = []
    for needle in needles:
        at = folded.find(needle)
        while at != -1:
            if at == 0 or not folded[at - 1].isalnum():
                found.append(at)
            at = folded.find(needle, at + 1)
    return found


def _near_negation(answer: _Sentence, reach: frozenset[str], cues: list[_Cues],
                   sources: list[tuple[str, bool, int]]) -> bool:
    """Whether a source sentence that negates denies what this answer sentence says (only the sentences
    whose negation reaches a term of the answer sentence are read)."""
    if answer.soft or answer.conditional:
        return False  # the reverse direction needs an answer sentence that denies nothing, unconditionally
    terms = answer.terms
    for (reached, _), (text, _, _) in zip(cues, sources):
        offsets = {at for term in terms & reach for at in reached.get(term, ())}
        if offsets:
            source = _source_text(text)
            for i in {source.at(at) for at in offsets} - {-1}:
                sentence = source.sentence(i)
                if len(terms & sentence.terms) >= MIN_SHARED and _denies(sentence, answer):
                    return True
    return False


def _pair_conflict(view: ItemView, answer: _Sentence, aligned: list[tuple[float, _Sentence, int]]) -> _Conflict | None:
    # polarity is compared only when no equally aligned sentence agrees with the answer's
    agrees = any(bool(answer.negations) == bool(s.negations) for _, s, _ in aligned)
    for coverage, source, where in aligned[:3]:
        mine, theirs = _polarities(answer, source) if _may_oppose(answer, source) else ({}, {})
        if _negation_explained(mine, theirs):
            agrees = True
        if not agrees and _denies(answer, source):
            return _Conflict("negation", answer, source, where, coverage, "the answer negates what the source states")
        if not agrees and _denies(source, answer):
            return _Conflict("negation", answer, source, where, coverage, "the answer states what the source negates")
        if _antonym(answer, source, mine, theirs):
            return _Conflict("antonym", answer, source, where, coverage, "opposite words on aligned sentences")
        value = _value_conflict(view, answer, source)
        if value:
            return _Conflict("value", answer, source, where, coverage, f"different value: {value}")
        entity = _entity_conflict(view, answer, source)
        if entity:
            return _Conflict("entity", answer, source, where, coverage, f"a different name: {entity}")
    return None


def _evidence(view: ItemView, conflict: _Conflict, source: tuple[str, bool, int]) -> list[EvidenceItem]:
    note = f"aligned source sentence ({conflict.coverage:.0%} of the answer sentence's terms): {conflict.detail}"
    _, is_context, index = source
    s = conflict.source
    quoted = (view.in_context(index, s.start, s.end, note=note) if is_context
              else view.in_tool(index, "tool_output", text=s.text, note=note))
    return [view.in_output(conflict.answer.start, conflict.answer.end, note=conflict.kind), quoted]


def check_source_contradiction(view: ItemView) -> CheckResult:
    if not grounding_applies(view):
        return None
    sources = _sources(view)
    conflicts = _conflicts(view, sources)
    if not conflicts:
        return []
    strongest = max(c.coverage for c in conflicts)
    decision: Decision = "fail" if strongest >= ALIGN_FAIL else "unsure"
    evidence = [item for c in conflicts[:3] for item in _evidence(view, c, sources[c.where])]
    kinds = ", ".join(dict.fromkeys(c.kind for c in conflicts))
    return [finding("contradicts_source", decision, min(0.9, 0.35 + 0.5 * strongest),
                    f"The answer contradicts the source sentence it aligns with ({kinds}): "
                    f"{conflicts[0].detail}.", evidence, "source_contradiction",
                    severity_adjustment=0.0 if decision == "fail" else -1.0)]


DETECTORS = (
    Detector("source_contradiction", ("contradicts_source",), check_source_contradiction, pass_confidence=0.5),
)
