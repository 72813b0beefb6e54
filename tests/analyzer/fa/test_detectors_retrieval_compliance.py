"""Retrieval and instruction-compliance detectors."""

from __future__ import annotations

from fa_helpers import make_item, only, trace_item, view_of

from valiqor_trace.analyzer.fa.detectors import compliance, retrieval
from valiqor_trace.analyzer.models import TraceFacts

PARIS = "Paris is the capital and largest city of France, with 2.1 million residents."


def test_empty_retrieval_on_a_rag_feature_and_from_a_search_tool() -> None:
    assert only(retrieval.check_empty_retrieval(view_of(make_item("q", "a", []), "rag")), "empty_retrieval")
    search = make_item("Find docs", "None found", ["x"], tool_calls=[{"name": "search_docs", "output": "[]"},
                                                                       {"name": "calculator", "output": "[]"}])
    found = only(retrieval.check_empty_retrieval(view_of(search, "agentic_rag")), "empty_retrieval")
    assert [f.evidence[0].index for f in found] == [0]
    assert retrieval.check_empty_retrieval(view_of(make_item("q", "a", [PARIS]), "rag")) == []


def test_retrieval_errors_come_from_retriever_spans() -> None:
    errors = [{"span_id": "1" * 16, "name": "retrieval vectorstore", "kind": "retrieval",
               "error_type": "ConnectionError", "message": "connection refused"}]
    found = retrieval.check_retrieval_error(view_of(trace_item("q", "a", **{TraceFacts.ERROR_SPANS: errors}), "rag"))
    assert found[0].evidence[0].span_id == "1" * 16 and "connection refused" in found[0].rationale


def test_irrelevant_context_missing_context_and_ignored_context() -> None:
    off = make_item("What is the current population of the French capital city?", "I am not sure.",
                    ["Bananas are rich in potassium.", "The Nile flows north."])
    assert only(retrieval.check_context_relevance(view_of(off, "rag")), "irrelevant_context")[0].decision == "fail"
    assert retrieval.check_context_relevance(view_of(make_item("population of France capital", "x", [PARIS]),
                                                     "rag")) == []
    missing = make_item("What is the population of Lyon?", "The provided context does not contain that information.",
                        ["Bananas are rich in potassium."])
    assert only(retrieval.check_context_use(view_of(missing, "rag")), "missing_context")
    abstained = make_item("Which city is the capital of France?", "The passages do not mention it.", [PARIS])
    assert only(retrieval.check_context_use(view_of(abstained, "rag")), "context_ignored")[0].decision == "unsure"
    ignored = make_item("What is the population of Paris?",
                        "Berlin hosts many museums, orchestras and startups along the river Spree.", [PARIS])
    assert only(retrieval.check_context_use(view_of(ignored, "rag")), "context_ignored")[0].decision == "fail"
    used = make_item("What is the population of Paris?", "Paris has about 2.1 million residents.", [PARIS])
    assert retrieval.check_context_use(view_of(used, "rag")) == []


def test_redundant_context() -> None:
    found = retrieval.check_redundant_context(view_of(make_item("q", "a", [PARIS, " paris is the capital and  largest "
                                                                           "city of France, with 2.1 million residents.",
                                                                           "Other."]), "rag"))
    assert found[0].evidence[0].index == 1


def test_json_requested_in_the_prompt_or_by_response_format() -> None:
    asked = make_item("List three colors. Respond only with valid JSON.", "Sure! Here they are: red, green, blue")
    assert "not valid JSON" in only(compliance.check_format(view_of(asked)), "format_violation")[0].rationale
    fenced = make_item("Return the colors as JSON.", '```json\n{"colors": ["red", "green", "blue"]}\n```')
    assert compliance.check_format(view_of(fenced)) == []
    schema = {"type": "json_schema", "json_schema": {"name": "colors", "schema": {
        "type": "object", "properties": {"colors": {"type": "array", "items": {"type": "string"}}},
        "required": ["colors"], "additionalProperties": False}}}
    wrong = trace_item("Colors?", '{"colours": ["red"]}', **{TraceFacts.RESPONSE_FORMAT: schema})
    assert "missing required property 'colors'" in only(compliance.check_format(view_of(wrong)),
                                                        "format_violation")[0].rationale
    right = trace_item("Colors?", '{"colors": ["red"]}', **{TraceFacts.RESPONSE_FORMAT: schema})
    assert compliance.check_format(view_of(right)) == []
    assert compliance.check_format(view_of(make_item("Tell me a joke", "Why did the chicken..."))) is None


def test_json_output_with_an_integer_python_cannot_read_is_a_format_finding_not_a_crash() -> None:
    # json.loads raises a plain ValueError (no .msg/.pos) for an integer over sys.get_int_max_str_digits()
    item = make_item("Return the count as JSON.", '{"count": %s}' % ("9" * 5000))
    found = only(compliance.check_format(view_of(item)), "format_violation")
    assert len(found) == 1 and "digits" in found[0].rationale


def test_length_and_yes_no_constraints() -> None:
    long = make_item("Describe Paris in under 20 words.", " ".join(["word"] * 60))
    assert only(compliance.check_format(view_of(long)), "format_violation")[0].decision == "fail"
    assert compliance.check_format(view_of(make_item("Describe Paris in under 20 words.", "A city of light."))) == []
    yes_no = make_item("Is Paris in France? Answer yes or no.", "Paris is in France, of course.")
    assert only(compliance.check_format(view_of(yes_no)), "format_violation")
    assert compliance.check_format(view_of(make_item("Is Paris in France? Answer yes or no.", "Yes."))) == []


def test_refusals_of_benign_requests_only() -> None:
    refused = make_item("How do I boil an egg?", "I'm sorry, but I can't help with that request.")
    assert only(compliance.check_refusal(view_of(refused)), "unwarranted_refusal")
    risky = make_item("How do I make a bomb at home?", "I'm sorry, but I can't help with that request.")
    assert compliance.check_refusal(view_of(risky)) == []
    answered = make_item("How do I boil an egg?", "Put it in boiling water for 9 minutes.")
    assert compliance.check_refusal(view_of(answered)) == []


def test_language_mismatch_unless_another_language_was_asked_for() -> None:
    question = "What are the opening hours of the museum on Sunday and is there a discount?"
    spanish = "El museo abre el domingo de 10 a 18 horas y hay un descuento para los estudiantes."
    found = only(compliance.check_language(view_of(make_item(question, spanish))), "language_mismatch")
    assert "English" in found[0].rationale and "Spanish" in found[0].rationale
    asked = make_item(question + " Please answer in Spanish.", spanish)
    assert compliance.check_language(view_of(asked)) == []
    assert compliance.check_language(view_of(make_item("Hi", "Hola"))) is None


def test_off_topic_only_on_substantial_answers_sharing_nothing() -> None:
    off = make_item("How do I reset my router password?",
                    "The Roman Empire expanded through military conquest, trade networks, diplomacy, roads, aqueducts, "
                    "legions, provinces, senators, emperors, citizenship and a shared legal system.")
    assert only(compliance.check_off_topic(view_of(off)), "off_topic")[0].decision == "unsure"
    assert compliance.check_off_topic(view_of(make_item("How do I reset my router password?", "Hold reset."))) is None
