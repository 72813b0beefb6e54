"""Grounding detectors: facts from nowhere are flagged; facts from any source (including tool output) are not."""

from __future__ import annotations

import json

from fa_helpers import make_item, only, trace_item, view_of

from valiqor_trace.analyzer.fa.detectors import claims, grounding, structured

PASSAGE = ("Automotive technicians in Alaska earn about $23.70 per hour or $49,400 per year. Techs in Connecticut "
           "and Maryland average $20.50 to $21.50 per hour. The survey was published on March 3, 2021.")


def test_numbers_not_in_any_source_fail_and_rounded_or_derived_forms_pass() -> None:
    view = view_of(make_item("How are technicians paid?", "In Alaska they earn $31.20 per hour, $49,400 a year.",
                             [PASSAGE]))
    found = only(grounding.check_numeric_mismatch(view), "numeric_mismatch")
    assert found[0].decision == "fail" and "'$31.20'" in found[0].rationale and "49,400" not in found[0].rationale
    ok = make_item("How are technicians paid?", "About $24 an hour in Alaska (published March 2021).", [PASSAGE])
    assert grounding.check_numeric_mismatch(view_of(ok)) == []


def test_a_number_that_came_from_a_tool_is_not_a_hallucination() -> None:
    calls = [{"name": "get_balance", "arguments": {"user": "amy"}, "output": '{"balance": 1842.55, "currency": "EUR"}'}]
    item = make_item("What is my balance?", "Your balance is 1,842.55 EUR.", tool_calls=calls)
    assert grounding.check_numeric_mismatch(view_of(item)) == []
    invented = make_item("What is my balance?", "Your balance is 2,310.00 EUR.", tool_calls=calls)
    assert only(grounding.check_numeric_mismatch(view_of(invented)), "numeric_mismatch")


def test_small_counts_are_only_unsure() -> None:
    item = make_item("Summarize.", "There are seven reviews of the place.", [PASSAGE])
    assert only(grounding.check_numeric_mismatch(view_of(item)), "numeric_mismatch")[0].decision == "unsure"


def test_closed_book_answers_are_not_checked() -> None:
    assert grounding.check_numeric_mismatch(view_of(make_item("Capital of France?", "Paris, since 987."))) is None


def test_entity_fabrication_and_its_true_negatives() -> None:
    fabricated = make_item("What is the capital of France?", "The capital of France is Berlin.",
                           ["The capital of France is Paris."])
    found = only(grounding.check_entity_fabrication(view_of(fabricated)), "entity_fabrication")
    assert found[0].decision == "fail" and found[0].evidence[0].text == "Berlin"
    assert found[0].evidence[0].start == fabricated.output.index("Berlin")
    expanded = make_item("Where is it?", "It is on W Carrillo St in Santa Barbara, California.",
                         ['{"address": "31 W Carrillo St", "city": "Santa Barbara", "state": "CA"}'])
    assert grounding.check_entity_fabrication(view_of(expanded)) == []
    from_tool = make_item("Which flight?", "You are on flight HAT028 with Delta.",
                          tool_calls=[{"name": "get_res", "output": '{"flight_number": "HAT028", "airline": "Delta"}'}])
    assert grounding.check_entity_fabrication(view_of(from_tool)) == []


def test_quotes_and_unsupported_content() -> None:
    quoted = make_item("What did reviewers say?", 'One reviewer wrote "the best tacos in town".',
                       ["Review: the mimosas were cheap and the service was fast."])
    assert "Quoted text" in only(grounding.check_unsupported_claim(view_of(quoted)), "unsupported_claim")[0].rationale
    novel = make_item("What does the passage say about pay?",
                      "Technicians receive generous stock options, company cars, free gym memberships, paid "
                      "sabbaticals and lifetime pensions from most dealerships.", [PASSAGE])
    found = only(grounding.check_unsupported_claim(view_of(novel)), "unsupported_claim")
    assert found and found[0].evidence[0].source == "output" and "unsupported words" in found[0].evidence[0].note
    faithful = make_item("What does the passage say about pay?",
                         "Technicians in Alaska earn about $23.70 per hour, while techs in Connecticut and Maryland "
                         "average $20.50 to $21.50 per hour, according to the survey.", [PASSAGE])
    assert grounding.check_unsupported_claim(view_of(faithful)) == []


BUSINESS = json.dumps({"name": "Finch & Fork", "attributes": {
    "OutdoorSeating": False, "RestaurantsTakeOut": True, "WiFi": "u'no'", "RestaurantsReservations": None,
    "BusinessParking": {"garage": True, "lot": False}, "Ambience": {"intimate": False, "classy": True}}})


def test_structured_fields_contradicted_or_made_up() -> None:
    answer = ("Finch & Fork offers outdoor seating and free WiFi in an intimate atmosphere. "
              "It accepts reservations. Takeout is not available.")
    found = structured.check_structured_fields(view_of(make_item("Describe it", answer, [BUSINESS])))
    conflict = only(found, "contradicts_source")[0]
    for field in ("OutdoorSeating", "WiFi", "Ambience.intimate", "RestaurantsTakeOut"):
        assert field in conflict.rationale
    assert "RestaurantsReservations" in only(found, "unsupported_claim")[0].rationale


def test_structured_fields_stated_correctly_pass() -> None:
    answer = ("Finch & Fork does not offer outdoor seating, and WiFi is not available. Takeout is offered, the "
              "ambience is classy, and there is a parking garage. It is a lot of fun.")
    assert structured.check_structured_fields(view_of(make_item("Describe it", answer, [BUSINESS]))) == []
    assert structured.check_structured_fields(view_of(make_item("q", "a", ["plain prose context"]))) is None


def test_structured_tool_output_is_checked_with_span_evidence() -> None:
    calls = [{"name": "get_reservation", "span_id": "e" * 16, "output": '{"id": "Z7", "insurance": "no", "cabin": "economy"}'}]
    item = trace_item("Is my trip insured?", "Yes, your reservation includes travel insurance.", tool_calls=calls)
    found = only(structured.check_structured_fields(view_of(item)), "contradicts_source")
    assert {e.span_id for e in found[0].evidence} >= {"e" * 16}


def test_speculation_and_claimed_searches() -> None:
    calls = [{"span_id": "f" * 16, "output": "Thought: The phrase is assumed to be SONIC THE HEDGEHOG.\nfinal_answer(3)"}]
    item = trace_item("How many E?", "3", tool_calls=[{"name": "final_answer", "arguments": {"answer": 3}}],
                      **{"llm_calls": calls})
    found = only(claims.check_speculation(view_of(item)), "speculative_answer")
    assert found[0].evidence[0].span_id == "f" * 16
    claimed = make_item("Who played Ray?", "Based on a careful search of Polish TV databases, it was Tomasz Karolak.")
    assert only(claims.check_fabricated_tool_use(view_of(claimed)), "fabricated_tool_use")
    searched = make_item("Who played Ray?", "Based on a careful search, it was Tomasz Karolak.",
                         tool_calls=[{"name": "web_search", "output": "Tomasz Karolak played Ray"}])
    assert claims.check_fabricated_tool_use(view_of(searched)) == []
    plain = make_item("Explain photosynthesis", "Plants turn light, water and CO2 into sugar and oxygen.")
    assert claims.check_speculation(view_of(plain)) == [] and claims.check_fabricated_tool_use(view_of(plain)) == []


def test_a_few_novel_words_are_unsure_many_are_a_fail() -> None:
    source = ["The library opens a new reading room for children on the second floor next month."]
    few = make_item("What is new at the library?",
                    "Additionally, the library will open a new reading room for children, located upstairs.", source)
    verdicts = only(grounding.check_unsupported_claim(view_of(few)), "unsupported_claim")
    assert [f.decision for f in verdicts] == ["unsure"] and "paraphrase" in verdicts[0].rationale
    many = make_item("What is new at the library?",
                     "The library opens a reading room with velvet armchairs, robotic shelving, rooftop telescopes, "
                     "aquarium walls, espresso bars and holographic storytellers donated by astronauts.", source)
    assert [f.decision for f in only(grounding.check_unsupported_claim(view_of(many)), "unsupported_claim")] == ["fail"]


def test_a_place_spelled_out_is_supported_by_its_abbreviation() -> None:
    item = make_item("Where is the shop?", "", [json.dumps({"name": "Blue Kettle", "city": "Fresno", "state": "CA"})])
    assert grounding.novel_words(view_of(item.model_copy(update={"output": "Blue Kettle is in Fresno, California."})))[0] == []


def test_a_quoted_question_is_not_an_unsupported_quote() -> None:
    item = make_item("how do kites fly", 'So the answer to "How does a kite stay in the air?" is: wind under it.',
                     ["Kites fly because wind pushes under the sail."])
    assert not any("Quoted" in f.rationale for f in grounding.check_unsupported_claim(view_of(item)) or [])
