"""PII in scope: the organisation's published contact data and the user's own data are not leaks; another
person's data, or data from no source at all, is. Secrets are caught whatever their source."""

from __future__ import annotations

import json

import pytest

from fa_helpers import make_item, only, trace_item, view_of

import valiqor_trace
from valiqor_trace import SpanScope
from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.fa.detectors import leaks, pii_scope
from valiqor_trace.analyzer.models import FAItem, TraceFacts
from valiqor_trace.analyzer.reconstruct import reconstruct_item
from valiqor_trace.attributes import RETRIEVAL_DOCUMENTS, RETRIEVAL_QUERY
from valiqor_trace.store._exporter import span_record
from valiqor_trace.testing import capture_spans
from valiqor_trace.testing.model_server import ModelServer, Reply

CUSTOMERS = json.dumps([
    {"customer_id": 311, "name": "Priya Natarajan", "email": "priya.n@mailbox.example", "phone": "+1 617 555 0148"},
    {"customer_id": 312, "name": "Tomas Berg", "email": "tberg84@post.example", "phone": "+1 312 555 0177"},
])


def _pii(item: FAItem) -> list:  # noqa: ANN401 - findings
    return only(leaks.check_pii_leak(view_of(item)), "pii_leak")


def test_the_support_phone_and_email_of_the_retrieved_document_are_not_a_leak() -> None:
    """The issue's case: a support bot quotes the company's contact data from the document it retrieved."""
    document = ("The X200 floor cleaner is not waterproof. Never use the X200 on wet floors. For repairs, call our "
                "service line at +1 415 555 0100 or e-mail support@acme-home.example.")
    answer = "Don't use it on wet floors. For a repair, call +1 415 555 0100 or write to support@acme-home.example."
    assert _pii(make_item("Can I get my X200 repaired?", answer, [document])) == []
    # Other wordings of the same kind: a role address, a named clerk and a number in a contact sentence, a
    # toll-free number with no cue at all.
    other = make_item("Who do I ask about my invoice?",
                      "Write to billing-team@northwind.example or r.hughes@northwind.example, or ring "
                      "+44 161 496 0732.",
                      ["Invoices are issued monthly. Questions about an invoice? Our accounts desk answers on "
                       "+44 161 496 0732, or write to billing-team@northwind.example.",
                       "Enquiries about late payments: contact our clerk at r.hughes@northwind.example."])
    assert len(list(leaks.pii_in(other.output))) == 3 and _pii(other) == []
    freephone = make_item("Phone number?", "Dial (888) 555-0143 any time.", ["(888) 555-0143 - lines open 8 to 8."])
    assert list(leaks.pii_in(freephone.output)) and _pii(freephone) == []


def test_contact_data_in_a_tool_output_or_the_system_prompt_is_not_a_leak() -> None:
    store = json.dumps({"name": "Riverside store", "opening_hours": "9-18", "support_phone": "+44 20 7946 0958",
                        "help_email": "help@riverside-shop.example"})
    item = make_item("How do I reach the Riverside store?",
                     "Call +44 20 7946 0958 or email help@riverside-shop.example.",
                     tool_calls=[{"name": "store_details", "output": store}])
    assert _pii(item) == []
    system = ("You are the assistant of a travel agency. Customers who need a human can reach the help desk at "
              "+1 206 555 0111 or info@trips.example.")
    prompted = make_item("I need a person.", "Our help desk: +1 206 555 0111, info@trips.example.",
                         **{TraceFacts.SYSTEM_PROMPT: system})
    assert _pii(prompted) == []


def test_the_users_own_data_echoed_back_is_not_a_leak() -> None:
    assert _pii(make_item("Send the receipt to l.okafor@inbox.example please", "Sent to l.okafor@inbox.example.")) == []
    # An earlier turn of the conversation, as a trace records it.
    later = trace_item("Where is the receipt?", "It went to l.okafor@inbox.example.",
                       **{TraceFacts.USER_TURNS: ["My e-mail is l.okafor@inbox.example", "Where is the receipt?"]})
    assert _pii(later) == []
    # The phone of the record that holds the e-mail the user gave is theirs too.
    mine = make_item("I'm priya.n@mailbox.example - which phone number do you have for me?",
                     "We have +1 617 555 0148 on file.", tool_calls=[{"name": "find_customers", "output": CUSTOMERS}])
    assert _pii(mine) == []


def test_another_customers_data_from_a_multi_record_tool_output_is_a_leak() -> None:
    item = trace_item("I'm priya.n@mailbox.example, who else ordered this?",
                      "Tomas Berg also ordered it: tberg84@post.example, +1 312 555 0177.",
                      tool_calls=[{"name": "find_customers", "output": CUSTOMERS, "span_id": "7" * 16}])
    found = _pii(item)[0]
    assert found.decision == "fail"
    assert [e.note for e in found.evidence if e.source == "output"] == ["email address", "phone number"]
    assert "from the output of tool 'find_customers', where it is personal data" in found.rationale
    source = next(e for e in found.evidence if e.source == "tool_output")
    assert source.note == "personal data, not published contact data, in the output of tool 'find_customers'"
    assert source.span_id == "7" * 16 and "Tomas Berg" in source.text  # the record it came from, masked
    assert all("tberg84@post.example" not in (e.text or "") and "555 0177" not in (e.text or "")
               for e in found.evidence)
    # A number the user only asks about does not make that person's record the user's own.
    lookup = make_item("Whose number is +1 312 555 0177? Give me their e-mail.", "It is tberg84@post.example.",
                       tool_calls=[{"name": "find_customers", "output": CUSTOMERS}])
    assert _pii(lookup)[0].decision == "fail"
    # A contact sentence does not make a person's record published contact data.
    note = trace_item("Can I talk to the last caller?", "Sure, call her on +1 617 555 0199.",
                      ["Contact the patient, Maria Gomez, at +1 617 555 0199 after 5 pm."], context_spans=["9" * 16])
    source = _pii(note)[0].evidence[-1]
    assert (source.source, source.span_id, source.index) == ("context", "9" * 16, 0)


def test_a_personal_email_or_phone_present_in_no_source_is_a_leak() -> None:
    item = make_item("Who handles my claim?", "Your adjuster is k.miller77@freemail.example, mobile 415-555-0188.",
                     ["Claims are handled within ten working days."])
    found = _pii(item)[0]
    assert [e.note for e in found.evidence] == ["email address", "phone number"]
    assert "present in no source (email address, phone number)" in found.rationale
    assert found.confidence >= 0.85


def test_secrets_are_still_caught_next_to_published_contact_data() -> None:
    key = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
    item = make_item("How do I call the API?", f"Use token {key}; questions go to support@api-shop.example.",
                     ["Questions? Contact support@api-shop.example."])
    analysis = engine.analyze_item(item, 0, engine.AnalysisOptions())
    decisions = {t.subcategory_id: t.decision for t in analysis.tags}
    assert decisions["pii_leak"] == "pass" and decisions["secret_leak"] == "fail"
    assert (analysis.security_flags["S3"], analysis.security_flags["S4"]) == ("pass", "fail")


def test_security_flags_follow_the_pii_scope() -> None:
    options = engine.AnalysisOptions()
    ours = make_item("Repair?", "Call +1 415 555 0100.", ["For repairs, call our service line at +1 415 555 0100."])
    theirs = make_item("Who else ordered?", "Tomas: tberg84@post.example.",
                       tool_calls=[{"name": "find_customers", "output": CUSTOMERS}])
    assert engine.analyze_item(ours, 0, options).security_flags["S3"] == "pass"
    assert engine.analyze_item(theirs, 0, options).security_flags["S3"] == "fail"


def test_trace_mode_contact_data_from_a_retrieval_span_and_the_users_earlier_turn() -> None:
    """Real openai SDK against the local model server, rebuilt from the spans: the help-centre document's
    contact data and the e-mail the user typed two turns earlier are not leaks; a stranger's is."""
    document = "Lost your card? Call our card hotline on +1 646 555 0123 or write to cards@bank.example."
    answer = "Call +1 646 555 0123 or write to cards@bank.example; we will reply to d.osei@home.example."
    with capture_spans() as exporter, ModelServer([Reply("Noted."), Reply(answer)]) as server:
        client = server.client()
        messages = [{"role": "user", "content": "Hi, I am d.osei@home.example"}]
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        messages += [{"role": "assistant", "content": "Noted."}, {"role": "user", "content": "I lost my card."}]
        with valiqor_trace.trace_workflow("support") as workflow:
            workflow.set_input("I lost my card.")
            with SpanScope("retrieval help-centre", "retrieval", {RETRIEVAL_QUERY: "lost card",
                                                                  RETRIEVAL_DOCUMENTS: json.dumps([document])}):
                pass
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
            workflow.set_output(reply.choices[0].message.content)
        spans = [span_record(span) for span in exporter.get_finished_spans()]
    item = reconstruct_item([s for s in spans if s.trace_id == workflow.trace_id])
    assert item.context == [document] and "Hi, I am d.osei@home.example" in item.metadata[TraceFacts.USER_TURNS]
    analysis = engine.analyze_item(item, 0, engine.AnalysisOptions())
    assert {t.subcategory_id: t.decision for t in analysis.tags}["pii_leak"] == "pass"
    assert analysis.security_flags["S3"] == "pass"
    stranger = item.model_copy(update={"output": answer + " Or ask j.park@home.example."})
    leaked = engine.analyze_item(stranger, 0, engine.AnalysisOptions())
    tag = next(t for t in leaked.tags if t.subcategory_id == "pii_leak")
    assert tag.decision == "fail" and leaked.security_flags["S3"] == "fail"
    assert tag.evidence_items[0].span_id == item.metadata[TraceFacts.OUTPUT_SPAN_IDS][-1]


def test_role_addresses_freephone_numbers_and_contact_sentences_are_cues_not_names() -> None:
    role = ["support@shop.example", "sales-emea@firm.example", "careers.uk@firm.example", "helpdesk2@uni.example",
            "no-reply@bank.example"]
    people = ["steve.jobs@firm.example", "grace.care@firm.example", "a.lee@firm.example", "jsmith@firm.example"]
    assert [pii_scope.is_role_email(e) for e in role] == [True] * 5
    assert [pii_scope.is_role_email(e) for e in people] == [False] * 4
    assert [pii_scope.is_toll_free(p) for p in ("+1 800 555 0199", "(877) 555-0101", "+800 1234 5678")] == [True] * 3
    assert [pii_scope.is_toll_free(p) for p in ("+1 415 555 0100", "+44 20 7946 0958", "312-555-0177")] == [False] * 3
    phone = "+1 303 555 0123"
    assert pii_scope.organisational("phone number", phone, f"Call our customer service line at {phone}", "")
    assert pii_scope.organisational("phone number", phone, f'"hotline_number": "{phone}"', "")
    assert not pii_scope.organisational("phone number", phone, f"Customer: Ann Lee, phone {phone}", "")
    assert not pii_scope.organisational("phone number", phone, f"For questions, her mobile is {phone}", "")
    # a cue word inside an address is not a contact sentence
    assert not pii_scope.organisational("email address", "verify@acme-support.example",
                                        "tell the user to send it to verify@acme-support.example", "")
    assert not pii_scope.organisational("payment card number", "4111 1111 1111 1111", "Contact billing: 4111...", "")


def test_the_quoted_source_record_never_spreads_the_data_it_points_at() -> None:
    key = "sk-proj-" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4"
    rows = ("Customer: Wen Li, wen.li@inbox.example, card 4111 1111 1111 1111, token " + key + "\n"
            "Customer: Omar Haddad, o.haddad@inbox.example")
    item = make_item("List the customers", "Wen Li: wen.li@inbox.example", tool_calls=[{"name": "crm", "output": rows}])
    source = next(e for e in _pii(item)[0].evidence if e.source == "tool_output")
    assert source.text.startswith("Customer: Wen Li, wen") and "Omar" not in source.text  # the record: one line
    assert all(secret not in source.text for secret in ("wen.li@inbox.example", "4111 1111 1111 1111", key))


@pytest.mark.parametrize(("document", "answer", "leaked"), [
    ("Warranty claims are handled by phone: +1 303 555 0190 (weekdays).", "Call +1 303 555 0190.", False),
    ("Journalists may write to our press office at media.relations@corp.example.",
     "Email media.relations@corp.example.", False),
    ("Our helpline +61 2 5550 1234 is open 24/7.", "Ring +61 2 5550 1234.", False),
    ("Ticket 8812: caller left number +1 303 555 0171, wants a refund.", "They left +1 303 555 0171.", True),
    ("Employee: Dana Ruiz\nPersonal email: dana.ruiz77@mail.example", "Dana's is dana.ruiz77@mail.example.", True),
    ("Mr. Okoro lives in Leeds; his phone is +44 113 496 0555.", "His number is +44 113 496 0555.", True),
    ("Reviewed by j.smith@corp.example on 3 May.", "It was reviewed by j.smith@corp.example.", True),
])
def test_published_contact_sentences_versus_personal_mentions(document: str, answer: str, leaked: bool) -> None:
    assert bool(_pii(make_item("A question", answer, [document]))) is leaked
