"""Instructions about the response, from the system prompt and the user turn, each checked against the answer.

Each kind is tested with several phrasings and languages (a rule fitted to one sentence fails the others),
satisfied instructions give no finding, and sentences that only mention a language or a format are not
instructions.
"""

from __future__ import annotations

import pytest

from tests.analyzer.fa.fa_helpers import make_item, only, trace_item, view_of
from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.fa.detectors import instructions as det
from valiqor_trace.analyzer.fa.instructions import extract
from valiqor_trace.analyzer.models import FAItem, TraceFacts

ENGLISH_HOURS = "We are open from 10 am to 6 pm on Sundays, and the shop is closed on public holidays."
GERMAN_HOURS = "Wir haben am Sonntag von 10 bis 18 Uhr geöffnet, und an Feiertagen ist das Geschäft geschlossen."
FRENCH_HOURS = "Nous sommes ouverts le dimanche de 10 h à 18 h, et le magasin est fermé les jours fériés."
SPANISH_HOURS = "Abrimos el domingo de 10 a 18 horas, y la tienda está cerrada los días festivos."


def _failing(item: FAItem) -> dict[str, object]:
    analysis = engine.analyze_item(item, 0, engine.AnalysisOptions())
    return {t.subcategory_id: t for t in analysis.tags if t.decision != "pass"}


# --- the cases: an English answer to a German instruction ---------------------------------------------

def test_always_answer_in_german_in_the_system_prompt_fails_an_english_answer() -> None:
    item = make_item("What are your opening hours on Sunday?", ENGLISH_HOURS,
                     system_prompt="You are the support assistant of a hardware store. Always answer in German.")
    tag = _failing(item)["language_mismatch"]
    assert tag.bucket_id == "instruction_compliance" and tag.decision == "fail"
    assert '"Always answer in German."' in tag.judge_rationale and "English" in tag.judge_rationale
    instruction = tag.evidence_items[0]
    assert (instruction.source, instruction.text) == ("system_prompt", "Always answer in German.")


def test_answer_in_german_in_the_question_fails_an_english_answer() -> None:
    question = "What medications interact with warfarin? Answer in German."
    tag = _failing(make_item(question, "Warfarin interacts with aspirin, ibuprofen and many antibiotics, so the "
                                       "dose is checked often."))["language_mismatch"]
    assert tag.decision == "fail"
    instruction = tag.evidence_items[0]
    assert instruction.source == "input" and question[instruction.start:instruction.end] == "Answer in German."


@pytest.mark.parametrize(("instruction", "wrong", "right", "language"), [
    ("Respond in Spanish, please.", ENGLISH_HOURS, SPANISH_HOURS, "Spanish"),
    ("Your answers must always be in French.", ENGLISH_HOURS, FRENCH_HOURS, "French"),
    ("You must reply to the customer in English only.", GERMAN_HOURS, ENGLISH_HOURS, "English"),
    ("Antworte bitte immer auf Deutsch.", ENGLISH_HOURS, GERMAN_HOURS, "German"),
    ("Responde siempre en español.", FRENCH_HOURS, SPANISH_HOURS, "Spanish"),
    ("Can you answer in French?", SPANISH_HOURS, FRENCH_HOURS, "French"),
])
def test_language_instructions_in_other_languages_and_phrasings(instruction: str, wrong: str, right: str,
                                                                language: str) -> None:
    for prompt in ({"system_prompt": instruction}, {}):
        question = "When are you open on Sundays?" if prompt else f"When are you open on Sundays? {instruction}"
        found = only(det.check_language_instruction(view_of(make_item(question, wrong, **prompt))),
                     "language_mismatch")
        assert len(found) == 1 and f"not {language}" in found[0].rationale
        assert det.check_language_instruction(view_of(make_item(question, right, **prompt))) == []


def test_a_rule_that_holds_even_if_the_user_writes_otherwise_and_a_user_override() -> None:
    system = "Always respond in German, even if the user writes in English."
    assert only(det.check_language_instruction(view_of(make_item("Sunday hours?", ENGLISH_HOURS,
                                                                 system_prompt=system))), "language_mismatch")
    # the user asked for French while the system prompt says German: an answer in either follows an instruction
    asked = make_item("Sunday hours? Answer in French.", FRENCH_HOURS, system_prompt=system)
    assert det.check_language_instruction(view_of(asked)) == []


@pytest.mark.parametrize("text", [
    "He answered in German, so I could not read the letter.",
    "The letter was written in German.",
    "Is German harder to learn than French?",
    "How do you say 'good morning' in French?",
    "I will write in Spanish to my landlord tomorrow.",
    "Do not answer in English.",
    "Tell me about life in German cities.",
    "If the user writes in French, answer in French.",
])
def test_sentences_that_mention_a_language_are_not_language_instructions(text: str) -> None:
    assert [i for i in extract(text, "input") if i.kind == "language" and not i.conditional] == []
    item = make_item(text, "Here is what I found about that question, in a short English answer for you.")
    assert det.check_language_instruction(view_of(item)) is None


# --- format ----------------------------------------------------------------------------------------------------

PROSE = ("The planets are Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus and Neptune, listed in order "
         "of their distance from the sun.")
BULLETS = "- Mercury, the closest\n- Venus, the hottest\n- Earth, our home\n- Mars, the red one\n- Jupiter, the largest"
NUMBERED = "1. Mercury\n2. Venus\n3. Earth\n4. Mars\n5. Jupiter"
TABLE = "| planet | moons |\n|---|---|\n| Earth | 1 |\n| Mars | 2 |"


@pytest.mark.parametrize(("instruction", "wrong", "right"), [
    ("Use bullet points.", PROSE, BULLETS),
    ("Please format your answer as a bulleted list.", PROSE, BULLETS),
    ("Answer in a numbered list.", PROSE, NUMBERED),
    ("Present the results in a table.", PROSE, TABLE),
    ("Your answer should be a markdown table.", BULLETS, TABLE),
    ("Do not use bullet points.", BULLETS, PROSE),
    ("Never use tables.", TABLE, PROSE),
])
def test_format_instructions(instruction: str, wrong: str, right: str) -> None:
    for item in (make_item(f"Which planets are there? {instruction}", wrong),
                 make_item("Which planets are there?", wrong, system_prompt=instruction)):
        found = only(det.check_format_instructions(view_of(item)), "format_violation")
        assert found and found[0].decision == "fail" and instruction in found[0].rationale
    assert det.check_format_instructions(view_of(make_item(f"Which planets are there? {instruction}", right))) == []


@pytest.mark.parametrize("text", ["Is this shopping list complete?", "The table shows last year's sales.",
                                  "My teacher asked us to use bullet points in essays, is that good style?"])
def test_sentences_that_mention_a_format_are_not_format_instructions(text: str) -> None:
    assert det.check_format_instructions(view_of(make_item(text, PROSE))) is None


# --- length ----------------------------------------------------------------------------------------------------

def test_sentence_limits() -> None:
    three = "Paris is the capital of France. It lies on the Seine. About two million people live there."
    for instruction in ("Answer in one sentence.", "Reply in no more than two sentences.",
                        "Keep it to a single sentence."):
        found = only(det.check_format_instructions(view_of(make_item("Tell me about Paris.", three,
                                                                     system_prompt=instruction))),
                     "format_violation")
        assert found and "3 sentences" in found[0].rationale
    # abbreviations do not end sentences
    one = "Dr. Smith moved to Paris, the capital of France, e.g. for its museums."
    assert det.check_format_instructions(view_of(make_item("Tell me. Answer in one sentence.", one))) == []


def test_word_limits_in_the_system_prompt_and_bullet_limits() -> None:
    long = " ".join(["word"] * 90)
    found = only(det.check_format_instructions(view_of(make_item("Describe Paris.", long,
                                                                 system_prompt="Keep answers under 50 words."))),
                 "format_violation")
    assert found[0].decision == "fail" and "90 words" in found[0].rationale
    short = "Paris is the capital of France, known for art, food and the Eiffel Tower."
    assert det.check_format_instructions(view_of(make_item("Describe Paris.", short,
                                                           system_prompt="Keep answers under 50 words."))) == []
    six = "\n".join(f"- point {n}" for n in range(6))
    found = only(det.check_format_instructions(view_of(make_item("Pros of Paris? Use at most 3 bullet points.", six))),
                 "format_violation")
    assert "6 bullet points (allowed: 3)" in found[0].rationale


# --- do not mention / must include ----------------------------------------------------------------------------

def test_do_not_mention() -> None:
    system = "You sell our own phones. Never mention competitors or discounts."
    item = make_item("Which phone should I buy?", "Our Nova 5 is great. Competitors charge more for less.",
                     system_prompt=system)
    found = only(det.check_content_instructions(view_of(item)), "ignored_instruction")
    assert found and '"competitors"' in found[0].rationale
    assert found[0].evidence[1].text == "Competitors charge more for less."
    clean = make_item("Which phone should I buy?", "Our Nova 5 has the best camera in its class.", system_prompt=system)
    assert det.check_content_instructions(view_of(clean)) == []
    declined = make_item("Is the Nova cheaper than its competitors?",
                         "I can't discuss competitors, but the Nova 5 costs 399 euros.", system_prompt=system)
    assert det.check_content_instructions(view_of(declined)) == []
    user = make_item("Explain photosynthesis for a child. Don't mention chlorophyll.",
                     "Plants use sunlight and their green chlorophyll to make food from air and water.")
    assert only(det.check_content_instructions(view_of(user)), "ignored_instruction")


def test_required_elements() -> None:
    system = "Always end every reply with 'Is there anything else I can help with?'"
    missing = make_item("Where is my parcel?", "It left the depot this morning.", system_prompt=system)
    found = only(det.check_content_instructions(view_of(missing)), "ignored_instruction")
    assert found and "does not contain" in found[0].rationale
    present = make_item("Where is my parcel?", "It left the depot this morning. Is there anything else I can "
                                               "help with?", system_prompt=system)
    assert det.check_content_instructions(view_of(present)) == []
    link = "Include a link to the documentation."
    assert only(det.check_content_instructions(view_of(make_item(f"How do I install it? {link}", "Run the "
                                                                 "installer and restart."))), "ignored_instruction")
    assert det.check_content_instructions(view_of(make_item(f"How do I install it? {link}", "See "
                                                            "https://example.org/docs/install."))) == []
    name = make_item("Does it have a warranty?", "Yes, two years.", system_prompt="Always mention Nordlicht Care.")
    assert "Nordlicht Care" in only(det.check_content_instructions(view_of(name)), "ignored_instruction")[0].rationale
    # a descriptor ("the order number") is satisfied by a value, not by its words: not checked
    assert det.check_content_instructions(view_of(make_item("Status? Include the order number.", "A-1 shipped."))) \
        is None


def test_conditional_rules_are_not_checked() -> None:
    system = "Do not mention the loyalty programme unless the user asks about it. When asked about prices, " \
             "always mention Nordlicht Care."
    item = make_item("Do you have a loyalty programme?", "Yes, the loyalty programme gives 5% back.",
                     system_prompt=system)
    assert det.check_content_instructions(view_of(item)) is None


def test_satisfied_instructions_give_no_failure_through_the_engine() -> None:
    system = "Always answer in German. Use bullet points. Never mention competitors."
    answer = "- Wir haben am Sonntag von 10 bis 18 Uhr geöffnet.\n- An Feiertagen ist das Geschäft geschlossen."
    failing = _failing(make_item("Wann haben Sie am Sonntag geöffnet?", answer, system_prompt=system))
    assert not {"language_mismatch", "format_violation", "ignored_instruction"} & set(failing)


def test_trace_mode_evidence_points_at_the_span_with_the_system_message() -> None:
    item = trace_item("What are your opening hours on Sunday?", ENGLISH_HOURS, output_span="a1a1a1a1a1a1a1a1",
                      **{TraceFacts.SYSTEM_PROMPT: "Always answer in German.",
                         TraceFacts.SYSTEM_PROMPT_SPAN_ID: "d4d4d4d4d4d4d4d4"})
    found = only(det.check_language_instruction(view_of(item)), "language_mismatch")
    assert [e.span_id for e in found[0].evidence] == ["d4d4d4d4d4d4d4d4", "a1a1a1a1a1a1a1a1"]


@pytest.mark.parametrize("system", [
    'Here is an example task.\nTask: "What is the oldest city in the world? Let\'s answer in one word."',
    "The article you will summarise was written in under 500 words.",
    "Our previous assistant often answered in three sentences or fewer.",
])
def test_limits_in_examples_or_descriptions_are_not_instructions(system: str) -> None:
    long = "Damascus is often named. " * 12
    assert det.check_format_instructions(view_of(make_item("Which city is oldest?", long, system_prompt=system))) \
        is None


@pytest.mark.parametrize("text", [
    "Respond to emails written in Spanish with a short summary.",
    "Answer the question using the table below.",
    "Use the table provided to answer.",
    "Ich habe die Antwort auf Deutsch nicht verstanden, was bedeutet sie?",
])
def test_instructions_about_other_things_are_not_response_instructions(text: str) -> None:
    assert [i for i in extract(text, "system_prompt") if i.kind in ("language", "format")] == []
