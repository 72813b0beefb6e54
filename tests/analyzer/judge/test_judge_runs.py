"""Runs with a judge: cached, budgeted, concurrent (monotone progress, item order, cancel), or skipped."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from valiqor_trace.analyzer.fa.judge import NO_JUDGE_REASON
from valiqor_trace.testing import JudgeServer
from tests.analyzer.judge.judge_helpers import AGENT_ITEM, EMPTY_ITEM, MODEL, RAG_ITEM, judge_tags, skipped


def _verdicts(result) -> list[tuple[int, str, str, float]]:
    return [(t.item_index, t.subcategory_id, t.decision, t.confidence) for t in result.failure_tags]


def test_identical_requests_are_answered_from_the_run_store(make_client, judge_server: JudgeServer,
                                                            tmp_path: Path) -> None:
    judge_server.decisions["incomplete_answer"] = ("fail", 0.8)
    client = make_client()
    first = client.failure_analysis.run(dataset=[RAG_ITEM, AGENT_ITEM])
    second = client.failure_analysis.run(dataset=[RAG_ITEM, AGENT_ITEM])
    assert len(judge_server.requests) == 2  # the second run asked nothing
    assert first.tokens_used > 0 and second.tokens_used == 0
    assert _verdicts(first) == _verdicts(second)
    with sqlite3.connect(tmp_path / "home" / "runs.db") as db:
        rows = db.execute("SELECT cache_key, model, prompt_version FROM judge_cache").fetchall()
    assert len(rows) == 2 and all(len(key) == 64 and model == MODEL for key, model, _ in rows)
    with JudgeServer(model="judge-model-2") as server:
        other = make_client(judge_model="judge-model-2", judge_base_url=server.base_url, openai_api_key=None)
        other.failure_analysis.run(dataset=[RAG_ITEM])
        assert len(server.requests) == 1  # another model (and server) is another cache entry


def test_the_token_budget_stops_the_judge_not_the_run(make_client, judge_server: JudgeServer) -> None:
    result = make_client(judge_token_budget=1, judge_concurrency=1).failure_analysis.run(
        dataset=[RAG_ITEM, EMPTY_ITEM, AGENT_ITEM])
    assert len(judge_server.requests) == 1 and result.status == "completed"
    assert "token budget of 1 is spent" in skipped(result)["llm_judge:incomplete_answer"]
    assert {i for i, _ in judge_tags(result)} == {0}
    assert any(t.item_index == 1 and t.subcategory_id == "empty_output" and t.decision == "fail"
               for t in result.failure_tags)


def test_items_are_judged_concurrently_with_monotone_progress_in_item_order(tmp_path: Path, make_client) -> None:
    items = [dict(RAG_ITEM, input=f"{RAG_ITEM['input']} ({n})") for n in range(12)]
    with JudgeServer(model=MODEL, delay_s=0.1) as server:
        client = make_client(judge_base_url=server.base_url, openai_api_key=None, judge_concurrency=4)
        seen: list[int] = []
        result = client.failure_analysis.run_async(dataset=items).wait(lambda s: seen.append(s.current_item))
        assert 1 < server.max_in_flight <= 4
    assert seen == sorted(seen) and seen[-1] == 12
    assert [i.item_index for i in result.inputs] == list(range(12))
    assert [t.item_index for t in result.failure_tags] == sorted(t.item_index for t in result.failure_tags)
    assert [i.input for i in result.inputs] == [item["input"] for item in items]
    with JudgeServer(model=MODEL) as server:  # run() on a fresh store (no cache): the same verdicts
        same = make_client(home=str(tmp_path / "other"), judge_base_url=server.base_url, openai_api_key=None,
                           judge_concurrency=4)
        assert _verdicts(same.failure_analysis.run(dataset=items)) == _verdicts(result)


def test_cancel_keeps_the_finished_items(make_client) -> None:
    items = [dict(RAG_ITEM, input=f"question {n}") for n in range(40)]
    with JudgeServer(model=MODEL, delay_s=0.1) as server:
        client = make_client(judge_base_url=server.base_url, openai_api_key=None, judge_concurrency=2)
        handle = client.failure_analysis.run_async(dataset=items)
        result = handle.wait(lambda s: handle.cancel() if s.current_item >= 1 else None)
    assert result.status == "cancelled" and result.partial
    assert 1 <= len(result.inputs) < 40
    assert [i.item_index for i in result.inputs] == list(range(len(result.inputs)))  # a prefix, in order
    assert len(server.requests) == len(result.inputs)  # nothing was asked that was not kept


def test_without_key_or_server_judge_subcategories_are_skipped_with_the_reason(make_client,
                                                                                judge_server: JudgeServer) -> None:
    client = make_client(openai_api_key=None, judge_base_url=None)
    assert client._judge(None) is None
    result = client.failure_analysis.run(dataset=[RAG_ITEM, AGENT_ITEM, EMPTY_ITEM])
    reasons = skipped(result)
    for sub in ("incomplete_answer", "harmful_content", "wrong_tool_selection"):
        assert reasons[f"llm_judge:{sub}"] == NO_JUDGE_REASON
    assert not judge_tags(result) and not judge_server.requests and result.tokens_used == 0
    assert result.status == "completed" and "llm_judge" not in result.detectors_run
    assert any(t.subcategory_id == "empty_output" and t.decision == "fail" for t in result.failure_tags)
    assert {t.subcategory_id for t in result.failure_tags} >= {"entity_fabrication", "numeric_mismatch", "tool_error"}


def test_a_local_server_without_a_key_sends_no_authorization(make_client) -> None:
    with JudgeServer(model=MODEL) as server:  # like vLLM / Ollama: no key needed
        client = make_client(judge_base_url=server.base_url, openai_api_key=None)
        result = client.failure_analysis.run(dataset=[RAG_ITEM])
    assert result.status == "completed" and judge_tags(result)
    assert [r.authorization_sent for r in server.requests] == [False]


def test_a_run_with_only_deterministic_subcategories_never_asks_the_judge(make_client,
                                                                          judge_server: JudgeServer) -> None:
    from valiqor_trace.analyzer.fa.engine import AnalysisOptions, needs_judge

    client = make_client()
    judge = client._judge(None)
    assert needs_judge(AnalysisOptions(judge=judge))
    assert not needs_judge(AnalysisOptions(judge=judge, subcategories=["empty_output"], run_security=False))
    result = client.failure_analysis.run(dataset=[EMPTY_ITEM, RAG_ITEM], subcategories=["empty_output"],
                                         run_security=False)
    assert not judge_server.requests and [t.subcategory_id for t in result.failure_tags] == ["empty_output"] * 2
