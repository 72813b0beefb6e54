"""What the judge asks: one batched rubric per item, the right model and schema, sources and hints."""

from __future__ import annotations

import json

import pytest

from valiqor_trace.analyzer.fa import taxonomy
from valiqor_trace.analyzer.judge import PROMPT_VERSION
from valiqor_trace.testing import JudgeServer
from tests.analyzer.judge.judge_helpers import AGENT_ITEM, MODEL, RAG_ITEM, judge_tags


def _judge_subcategories(kind: str) -> set[str]:
    return {s["id"] for s in taxonomy.get_subcategories() if s["detector_type"] != "deterministic"
            and taxonomy.applies_to(s["id"], kind)}


def test_one_request_per_item_covers_every_judge_subcategory(make_client, judge_server: JudgeServer) -> None:
    result = make_client().failure_analysis.run(dataset=[RAG_ITEM, AGENT_ITEM])
    assert len(judge_server.requests) == 2 and all(not r.problems for r in judge_server.requests)
    rubrics = {frozenset(r.rubric) for r in judge_server.requests}  # items run concurrently: any order
    assert rubrics == {frozenset(_judge_subcategories("rag")), frozenset(_judge_subcategories("agent"))}
    assert "wrong_tool_selection" in _judge_subcategories("agent") and "missing_context" in _judge_subcategories("rag")
    body = judge_server.requests[0].body
    assert body["model"] == MODEL and body["temperature"] == 0
    assert body["response_format"]["type"] == "json_schema"
    assert result.status == "completed" and "llm_judge" in result.detectors_run
    assert not any(d.startswith("llm_judge") for d in (s.detector for s in result.detectors_skipped))
    tags = judge_tags(result)
    assert tags[(0, "incomplete_answer")].detector_type_used == "llm_judge"
    assert tags[(0, "entity_fabrication")].detector_type_used == "hybrid"


def test_claims_are_checked_against_context_and_tool_outputs(make_client, judge_server: JudgeServer) -> None:
    make_client().failure_analysis.run(dataset=[AGENT_ITEM, RAG_ITEM])
    prompts = {r.body["messages"][1]["content"].split("### INPUT\n")[1][:20]: r.body for r in judge_server.requests}
    agent = next(body for key, body in prompts.items() if key.startswith("What is the weather"))
    system, user = agent["messages"][0]["content"], agent["messages"][1]["content"]
    assert "including a tool output" in system and "never call it a hallucination" in system
    assert '### TOOL CALL [0] get_weather({"city": "Lyon"})' in user
    assert '### TOOL OUTPUT [0]\n{"city": "Lyon", "temp_c": 14, "conditions": "rain"}' in user
    rag = next(body for key, body in prompts.items() if key.startswith("What are the opening"))
    assert "### CONTEXT [0]\nThe Louvre is open from 9 am to 6 pm. It is closed on Tuesdays." in \
        rag["messages"][1]["content"]


def test_deterministic_findings_are_passed_in_to_confirm_or_clear(make_client, judge_server: JudgeServer) -> None:
    item = {"input": "Who founded the company?", "output": "It was founded by Gerald Vantrobe in Oslo.",
            "context": ["The company was founded in 1998 by two engineers."]}
    result = make_client().failure_analysis.run(dataset=[item])
    offline = make_client(openai_api_key=None, judge_base_url=None).failure_analysis.run(dataset=[item])
    deterministic = next(t for t in offline.failure_tags if t.subcategory_id == "entity_fabrication")
    assert deterministic.decision == "fail"  # the rules flag the invented name...
    user = judge_server.requests[0].body["messages"][1]["content"]
    hints = user.split("## Deterministic findings to confirm or clear\n")[1].split("## The item")[0]
    assert "`entity_fabrication`: fail" in hints and "Gerald Vantrobe" in hints  # ...and the judge is told
    tag = judge_tags(result)[(0, "entity_fabrication")]
    assert tag.decision == "pass" and "overrules entity_grounding" in tag.judge_rationale  # scripted: pass 0.9
    assert tag.scoring_breakdown.weights["llm_judge"] == 1.0


def test_prompts_are_versioned_files(make_client, judge_server: JudgeServer) -> None:
    from importlib import resources

    make_client().failure_analysis.run(dataset=[RAG_ITEM])
    prompts = resources.files("valiqor_trace.analyzer.judge").joinpath("prompts")
    system = prompts.joinpath(f"{PROMPT_VERSION}_system.md").read_text("utf-8")
    assert judge_server.requests[0].body["messages"][0]["content"] == system


def test_schema_less_server_falls_back_to_the_tolerant_parser(make_client) -> None:
    with JudgeServer(model=MODEL, supports_schema=False, usage=False) as server:
        server.decisions["incomplete_answer"] = ("fail", 0.85)
        client = make_client(judge_base_url=server.base_url, openai_api_key=None)
        result = client.failure_analysis.run(dataset=[RAG_ITEM, RAG_ITEM | {"input": "And on Mondays?"}])
    assert [("response_format" in r.body) for r in server.requests] == [False, False]  # 400s are not recorded
    tag = judge_tags(result)[(0, "incomplete_answer")]
    assert tag.decision == "fail" and tag.evidence_items[0].text == "The Louvre opens at 9 am"
    assert tag.evidence_items[0].source == "output" and tag.evidence_items[0].start == 0
    assert result.tokens_used > 0  # no usage reported: estimated from the characters, never claimed free


def test_tolerant_parser_reads_fenced_prose_wrapped_json(make_client, judge_server: JudgeServer) -> None:
    from valiqor_trace.testing import JudgeStep

    verdict = {"subcategory_id": "retrieval.missing_context", "decision": "FAIL", "confidence": "0.7",
               "rationale": "The context does not say whether it opens on Tuesdays... it does.",
               "evidence": [{"source": "context", "index": 0, "quote": "closed on Tuesdays"}]}
    judge_server.enqueue(JudgeStep.text_reply("Here you go:\n```json\n" + json.dumps({"verdicts": [verdict]}) + "\n```"))
    result = make_client().failure_analysis.run(dataset=[RAG_ITEM])
    assert len(judge_server.requests) == 1  # no repair needed
    tag = judge_tags(result)[(0, "missing_context")]
    assert tag.decision == "fail" and tag.confidence == 0.7
    evidence = next(e for e in tag.evidence_items if e.source == "context")
    assert evidence.index == 0 and evidence.text == "closed on Tuesdays" and evidence.start is not None


def test_long_sources_are_cut_to_a_per_request_budget(make_client, judge_server: JudgeServer) -> None:
    passages = [f"Passage {n}: " + "the museum keeps long records. " * 300 for n in range(20)]  # ~9 kB each
    make_client().failure_analysis.run(dataset=[dict(RAG_ITEM, context=passages)])
    user = judge_server.requests[0].body["messages"][1]["content"]
    assert "### CONTEXT [0]\nPassage 0:" in user and "[...truncated]" in user
    assert "### CONTEXT [19]\n[omitted: the request's source budget is used up]" in user
    assert len(user) < 50_000


def test_the_scripted_judge_server_speaks_what_the_openai_sdk_expects(judge_server: JudgeServer) -> None:
    openai = pytest.importorskip("openai")
    from valiqor_trace.analyzer.fa.judge import JudgeRequest
    from valiqor_trace.analyzer.judge._prompt import messages, verdict_schema
    from valiqor_trace.analyzer.models import FAItem
    from tests.analyzer.judge.judge_helpers import KEY

    request = JudgeRequest(item=FAItem(**RAG_ITEM), item_index=0, feature_kind="rag",
                           subcategories=[taxonomy.subcategory("incomplete_answer")])
    sdk = openai.OpenAI(api_key=KEY, base_url=judge_server.base_url, max_retries=0)
    reply = sdk.chat.completions.create(model=MODEL, temperature=0, messages=messages(request, 6000),
                                        response_format=verdict_schema(["incomplete_answer"]))
    verdicts = json.loads(reply.choices[0].message.content)["verdicts"]
    assert [v["subcategory_id"] for v in verdicts] == ["incomplete_answer"] and reply.usage.total_tokens > 0
    assert judge_server.requests[0].problems == []
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(api_key="sk-wrong", base_url=judge_server.base_url, max_retries=0).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "x"}])
