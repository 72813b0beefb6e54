"""Fact extraction and source look-ups: forgiving where text and data legitimately differ, strict otherwise."""

from __future__ import annotations

from valiqor_trace.analyzer.fa.facts import (
    Mention,
    extract_dates,
    extract_entities,
    extract_identifiers,
    extract_numbers,
    extract_quotes,
    extract_times,
)
from valiqor_trace.analyzer.fa.source_index import SourceIndex


def _values(mentions: list[Mention]) -> list[tuple[str, object]]:
    return [(m.kind, m.value) for m in mentions]


def test_numbers_carry_kind_scale_and_precision() -> None:
    found = extract_numbers("It cost $49,400 (1.2 million visitors), 25% more than in 2012 and 3 times 4.0 stars.")
    assert _values(found) == [("money", 49400.0), ("number", 1_200_000.0), ("percent", 25.0), ("year", 2012.0),
                              ("number", 3.0), ("number", 4.0)]
    assert [m.strong for m in found] == [True, True, True, True, False, True]


def test_numbers_about_the_answer_itself_and_inside_codes_are_not_facts() -> None:
    assert extract_numbers("Here is a summary in 200 words; flight HAT028 leaves at 10:30.") == []


def test_dates_in_any_common_form() -> None:
    text = "Opened January 9, 2022, renovated 9th of March 2021, sold 2023-05-01 and again in May 2024."
    assert [m.value for m in extract_dates(text)] == [(2023, 5, 1), (2022, 1, 9), (2021, 3, 9), (2024, 5, None)]


def test_times_normalise_to_minutes() -> None:
    assert [m.value for m in extract_times("from 5 PM to 9:30pm, or 17:00")] == [17 * 60, 21 * 60 + 30, 17 * 60]


def test_entities_skip_sentence_starts_dates_and_function_words() -> None:
    found = extract_entities("The capital of France is Berlin. Sunday at Game Grumps. However, Paris, May 5.")
    assert [m.text for m in found] == ["France", "Berlin", "Game Grumps", "Paris"]


def test_identifiers_and_quotes() -> None:
    assert [m.text for m in extract_identifiers("Reservation 3FRNFB on HAT028, a 5-star, 200km trip")] == [
        "3FRNFB", "HAT028"]
    assert [m.value for m in extract_quotes('He said “mimosa madness” was "great"')] == ["mimosa madness"]


def test_source_index_matches_what_the_text_and_the_data_share() -> None:
    index = SourceIndex(['{"hours": {"Monday": "17:0-21:0"}, "state": "CA", "pay": 23.70, "OutdoorSeating": false}',
                         "Revenue was $1.2 million, up 25 percent, on 2022-01-09."])
    supported = {
        "time 5 PM": Mention("time", "5 PM", 0, 4, 17 * 60),
        "rounded 24": Mention("number", "24", 0, 2, 24.0, 0),
        "1,200,000": Mention("number", "1,200,000", 0, 9, 1_200_000.0, 0),
        "25%": Mention("percent", "25%", 0, 3, 25.0, 0),
        "January 9, 2022": Mention("date", "January 9, 2022", 0, 15, (2022, 1, 9)),
        "California": Mention("entity", "California", 0, 10, ("california",)),
        "seating (camelCase key)": Mention("entity", "Seating", 0, 7, ("seating",)),
    }
    for label, mention in supported.items():
        assert index.supports(mention), label
    unsupported = {
        "time 6 PM": Mention("time", "6 PM", 0, 4, 18 * 60),
        "23.9": Mention("number", "23.9", 0, 4, 23.9, 1),
        "year 2021": Mention("year", "2021", 0, 4, 2021.0, 0),
        "January 10, 2022": Mention("date", "January 10, 2022", 0, 16, (2022, 1, 10)),
        "Texas": Mention("entity", "Texas", 0, 5, ("texas",)),
    }
    for label, mention in unsupported.items():
        assert not index.supports(mention), label


def test_known_words_meet_their_stems_and_demonyms() -> None:
    index = SourceIndex(["Korea imports seats and interacts with Mexico."])
    assert all(index._known_word(w) for w in ["korean", "seating", "interaction", "mexican", "seats"])
    assert not any(index._known_word(w) for w in ["japan", "falafel", "brewery"])
