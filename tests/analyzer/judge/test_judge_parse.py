"""The tolerant verdict parser, evidence location, Retry-After parsing and setting validation."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.fa.detectors.base import ItemView
from valiqor_trace.analyzer.judge import build_judge
from valiqor_trace.analyzer.judge._http import _retry_after
from valiqor_trace.analyzer.judge._parse import VerdictError, locate, parse_verdicts
from valiqor_trace.analyzer.models import FAItem, TraceFacts

IDS = ["incomplete_answer", "contradicts_source"]
VERDICT = '{"subcategory_id": "incomplete_answer", "decision": "fail", "confidence": 0.8, "rationale": "r"}'


@pytest.mark.parametrize("reply", [
    '{"verdicts": [' + VERDICT + "]}",
    "```json\n{\"verdicts\": [" + VERDICT + "]}\n```",
    "See note [1]. Verdicts: {\"verdicts\": [" + VERDICT + "]} Hope this helps.",
    "[" + VERDICT + "]",
    '{"incomplete_answer": {"decision": "FAIL", "confidence": 0.8, "rationale": "r"}}',
    '{"verdicts": [' + VERDICT.replace('"incomplete_answer"', '"instruction_compliance.incomplete_answer"') + "]}",
])
def test_tolerant_parser_accepts_common_shapes(reply: str) -> None:
    verdicts = parse_verdicts(reply, IDS)
    assert list(verdicts) == ["incomplete_answer"] and verdicts["incomplete_answer"]["decision"] == "fail"
    assert verdicts["incomplete_answer"]["confidence"] == 0.8


@pytest.mark.parametrize(("reply", "problem"), [
    ("I think the answer is fine.", "no JSON object"),
    ('{"verdicts": [{"subcategory_id": "incomplete_answer", "decision": "maybe"', "not complete"),
    ('{"verdicts": [{"subcategory_id": "incomplete_answer",}]}', "not valid JSON"),
    ('{"verdicts": [{"subcategory_id": "made_up", "decision": "fail"}]}', "unknown subcategory_id 'made_up'"),
    ('{"verdicts": [{"subcategory_id": "incomplete_answer", "decision": "maybe"}]}', "got 'maybe'"),
])
def test_unusable_replies_say_what_is_wrong(reply: str, problem: str) -> None:
    with pytest.raises(VerdictError, match=problem.replace("(", r"\(")):
        parse_verdicts(reply, IDS)


def test_quotes_are_located_with_offsets_and_span_ids() -> None:
    item = FAItem(input="q", output="The shop opens at 9.  It  closes at 5.", context=["a", "Closes at 6 pm."],
                  trace_id="0" * 31 + "1",
                  metadata={TraceFacts.OUTPUT_SPAN_IDS: ["aa" * 8], TraceFacts.CONTEXT_SPAN_IDS: [None, "bb" * 8]})
    view = ItemView(item, "rag")
    out = locate({"source": "output", "quote": "it closes at 5."}, view)
    assert (out.start, out.span_id) == (22, "aa" * 8)  # case and runs of spaces ignored
    ctx = locate({"source": "context", "index": 0, "quote": "closes at 6 pm"}, view)
    assert (ctx.index, ctx.span_id, ctx.note) == (1, "bb" * 8, None)  # the judge's wrong index corrected
    lost = locate({"source": "output", "quote": "open on Sundays"}, view)
    assert lost.note.startswith("quoted by the judge; not found") and lost.start is None


def test_retry_after_forms() -> None:
    request = httpx.Request("POST", "http://x")
    assert _retry_after(httpx.Response(429, headers={"retry-after-ms": "1500"}, request=request)) == 1.5
    assert _retry_after(httpx.Response(429, headers={"Retry-After": "3"}, request=request)) == 3.0
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < _retry_after(httpx.Response(429, headers={"Retry-After": date}, request=request)) <= 31
    assert _retry_after(httpx.Response(429, headers={"Retry-After": "soon"}, request=request)) is None


def test_bad_settings_are_clear_errors_without_the_key() -> None:
    assert build_judge(api_key=None, key_source=None) is None
    with pytest.raises(ValidationError, match="must start with http"):
        build_judge(api_key=None, key_source=None, base_url="localhost:8000/v1")
    with pytest.raises(ValidationError, match="from the env OPENAI_API_KEY|OPENAI_API_KEY") as caught:
        build_judge(api_key="sk-ünicode key", key_source="env OPENAI_API_KEY")
    assert "sk-ünicode" not in str(caught.value)
