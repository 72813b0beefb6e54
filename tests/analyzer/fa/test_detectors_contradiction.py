"""Contradiction: an answer sentence that says the opposite of the source sentence it aligns with is a fail,
with that source sentence quoted as evidence; agreement, other subjects and values found elsewhere are not."""

from __future__ import annotations

import pytest
from fa_helpers import make_item, only, trace_item, view_of

from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.fa.detectors.contradiction import check_source_contradiction
from valiqor_trace.analyzer.fa.models import Finding


def contradiction(question: str, answer: str, context: list[str]) -> Finding:
    [found] = only(check_source_contradiction(view_of(make_item(question, answer, context))), "contradicts_source")
    return found


def no_contradiction(question: str, answer: str, context: list[str]) -> None:
    assert check_source_contradiction(view_of(make_item(question, answer, context))) == []


def test_the_guide_warfarin_example_is_a_fail_quoting_the_source_sentence() -> None:
    context = ["Warfarin is an anticoagulant. Warfarin interacts with aspirin, ibuprofen, and many antibiotics. "
               "Take it at the same time every day."]
    found = contradiction("What medications interact with warfarin?", "Warfarin has no known drug interactions.",
                          context)
    assert found.decision == "fail" and found.confidence >= 0.6
    answer, source = found.evidence
    assert (answer.source, answer.text) == ("output", "Warfarin has no known drug interactions.")
    assert (source.source, source.index) == ("context", 0)
    # the sentence, not the whole passage
    assert source.text == "Warfarin interacts with aspirin, ibuprofen, and many antibiotics."


X200_DOC = ("The X200 floor cleaner is designed for dry carpets and is not waterproof. "
            "Never use the X200 on wet floors. Charge it for four hours before first use.")


def test_the_x200_answer_asserting_what_the_source_negates_is_a_fail() -> None:
    found = contradiction("Can I use the X200 on wet floors?",
                          "Yes, the X200 is fully waterproof and safe to use on wet floors.", [X200_DOC])
    assert found.decision == "fail"
    assert found.evidence[1].text == "Never use the X200 on wet floors."
    assert "states what the source negates" in found.rationale


def test_the_opposite_direction_negating_what_the_source_affirms_is_a_fail() -> None:
    found = contradiction("Is the X200 waterproof?", "No, the X200 is not waterproof, so keep it off wet floors.",
                          ["The X200 is fully waterproof and safe to use on wet floors."])
    assert found.decision == "fail" and "negates what the source states" in found.rationale


@pytest.mark.parametrize(("question", "answer", "source"), [
    # other domains, both directions, other negation words
    ("Can I bring my dog?", "Dogs are never allowed inside the hotel rooms.",
     "Dogs are allowed inside the hotel rooms for a fee of 20 euros per night."),
    ("Does the plan cover dental care?", "The premium plan covers dental care and eye exams.",
     "The premium plan does not cover dental care or eye exams."),
    ("Can the order be changed?", "Orders can be cancelled without any fee within the first hour.",
     "Orders can be cancelled for a fee within the first hour."),
    ("Did the bridge open?", "The Elm Street bridge reopened to traffic on Monday.",
     "The Elm Street bridge did not reopen to traffic on Monday because of the flooding."),
])
def test_negation_on_one_side_only_in_other_domains(question: str, answer: str, source: str) -> None:
    found = contradiction(question, answer, ["Some unrelated opening line about the place.", source])
    assert found.decision in ("fail", "unsure") and found.evidence[1].text == source
    assert found.evidence[1].index == 1


@pytest.mark.parametrize(("answer", "source"), [
    ("The museum's rooftop terrace is closed to visitors on weekends.",
     "The museum's rooftop terrace is open to visitors on weekends."),
    ("Experts say the drug increases the risk of stomach bleeding in older patients.",
     "Experts say the drug decreases the risk of stomach bleeding in older patients."),
    ("Swimming in the northern lake is unsafe for children during the summer.",
     "Swimming in the northern lake is safe for children during the summer."),
    ("Parking on the east side of the campus is forbidden for students.",
     "Parking on the east side of the campus is permitted for students."),
    ("The updated firmware makes the scanner usable with older printers.",
     "The updated firmware makes the scanner unusable with older printers."),
])
def test_opposite_words_on_aligned_sentences(answer: str, source: str) -> None:
    found = contradiction("Tell me about it.", answer, [source])
    assert found.decision == "fail" and "antonym" in found.rationale and found.evidence[1].text == source


@pytest.mark.parametrize(("answer", "source", "values"), [
    ("Customers can return unworn shoes within 14 days of delivery for a full refund.",
     "Customers can return unworn shoes within 30 days of delivery for a full refund.", ("14", "30")),
    ("The new stadium, which seats 42,000 fans, opened in 2019.",
     "The new stadium, which seats 42,000 fans, opened in 2021.", ("2019", "2021")),
    ("The city's unemployment rate fell to 4.2% last quarter.",
     "The city's unemployment rate fell to 3.8% last quarter.", ("4.2%", "3.8%")),
])
def test_a_different_value_of_the_same_kind_on_an_aligned_sentence(answer: str, source: str,
                                                                   values: tuple[str, str]) -> None:
    found = contradiction("What does it say?", answer, [source])
    assert found.decision == "fail" and all(v in found.rationale for v in values)


def test_a_name_swapped_for_another_in_the_same_slot() -> None:
    found = contradiction("Who wrote the report?", "The audit report was written by Martinez for the board.",
                          ["The audit report was written by Okafor for the board in March."])
    assert "'Martinez' vs 'Okafor'" in found.rationale


def test_a_contradiction_in_a_tool_output_points_at_the_tool_span() -> None:
    calls = [{"name": "get_policy", "span_id": "d4d4d4d4d4d4d4d4",
              "output": "Policy summary. Flood damage to the basement is not covered by this policy."}]
    item = trace_item("Am I covered for flooding?",
                      "Good news: flood damage to the basement is covered by your policy.", tool_calls=calls)
    [found] = only(check_source_contradiction(view_of(item)), "contradicts_source")
    answer, source = found.evidence
    assert answer.span_id == "a1a1a1a1a1a1a1a1"
    assert (source.source, source.span_id) == ("tool_output", "d4d4d4d4d4d4d4d4")
    assert source.text == "Flood damage to the basement is not covered by this policy."


@pytest.mark.parametrize(("answer", "source"), [
    # the same negation on both sides (a paraphrase)
    ("Warfarin should never be taken together with aspirin.", "Never take warfarin together with aspirin."),
    ("The X200 is not waterproof, so it must not be used on wet floors.",
     "The X200 isn't waterproof and must not be used on wet floors."),
    # a negation about a different subject than the source sentence's
    ("The museum is open on Sundays, but the gift shop is not.", "The museum is open on Sundays from 10 to 5."),
    ("Sauce is used in cooking, whereas gravy is not used in cooking.", "The sauce is used in cooking and serving."),
    # "not only", "no wonder", "not all": not denials
    ("The clinic treats not only adults but also children with asthma.",
     "The clinic treats adults and children with asthma."),
    ("Not all branches open on Saturdays.", "Some branches open on Saturdays."),
    # the answer only says what the material lacks
    ("The passages do not mention the dosage of warfarin for children.",
     "Warfarin dosage depends on the patient's response and the clinical situation."),
    # agreement with an equivalent negative word
    ("Representatives for the actress declined to comment.", "The actress's representatives refused to comment."),
    ("Swimming in the lake is not safe for children.", "Swimming in the lake is unsafe for children."),
    ("The old bridge is not reliable in winter storms.", "The old bridge is unreliable in winter storms."),
])
def test_agreement_and_other_subjects_do_not_fire(answer: str, source: str) -> None:
    no_contradiction("What does it say?", answer, [source])


def test_a_number_found_elsewhere_in_the_source_is_not_a_contradiction() -> None:
    context = ["Customers can return unworn shoes within 30 days of delivery. Sale items can be returned within 14 "
               "days of delivery."]
    no_contradiction("Return window for sale items?", "Sale items can be returned within 14 days of purchase.", context)
    # and a rounded value is the same value
    no_contradiction("How many?", "The photographer has identified over 1,800 names on the walls.",
                     ["The photographer has identified 1,821 names on the walls."])


def test_a_heading_or_fragment_is_not_a_statement_to_contradict() -> None:
    no_contradiction("What causes oily skin?", "Oily skin is not caused by diet alone, according to dermatologists.",
                     ["Oily Skin Causes\nGenetics and hormones drive oil production."])


def test_the_engine_reports_it_as_a_hallucination_fail() -> None:
    item = make_item("What medications interact with warfarin?", "Warfarin has no known drug interactions.",
                     ["Warfarin interacts with aspirin, ibuprofen, and many antibiotics."])
    result = engine.analyze_item(item, 0, engine.AnalysisOptions(feature_kind="rag", run_eval=False))
    [tag] = [t for t in result.tags if t.subcategory_id == "contradicts_source" and t.decision == "fail"]
    assert tag.bucket_id == "hallucination" and tag.detector == "source_contradiction"
    assert tag.evidence_items[1].text == "Warfarin interacts with aspirin, ibuprofen, and many antibiotics."
