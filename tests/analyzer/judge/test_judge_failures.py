"""A misbehaving judge: malformed JSON, 429, 5xx, timeouts, a refused key. Runs finish or fail clearly."""

from __future__ import annotations

import pytest

from valiqor_trace.errors import AuthenticationError
from valiqor_trace.analyzer.judge import JudgeSettings, OpenAIJudge
from valiqor_trace.testing import JudgeServer, JudgeStep
from tests.analyzer.judge.judge_helpers import EMPTY_ITEM, KEY, MODEL, RAG_ITEM, judge_tags, skipped


def test_malformed_json_gets_one_repair_retry(make_client, judge_server: JudgeServer) -> None:
    judge_server.decisions["incomplete_answer"] = ("fail", 0.8)
    judge_server.enqueue(JudgeStep.malformed())
    result = make_client().failure_analysis.run(dataset=[RAG_ITEM])
    assert len(judge_server.requests) == 2
    repair = judge_server.requests[1].body["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-2]["content"].startswith("Sure! Here are my verdicts")
    assert "could not be used" in repair[-1]["content"] and "incomplete_answer" in repair[-1]["content"]
    assert judge_tags(result)[(0, "incomplete_answer")].decision == "fail"
    assert result.tokens_used > 0


def test_malformed_twice_keeps_the_deterministic_tags(make_client, judge_server: JudgeServer) -> None:
    judge_server.enqueue(JudgeStep.malformed(), JudgeStep.text_reply("I cannot produce JSON today."))
    result = make_client(judge_concurrency=1).failure_analysis.run(dataset=[EMPTY_ITEM, RAG_ITEM])
    assert result.status == "completed" and len(judge_server.requests) == 3  # 2 for item 0, 1 for item 1
    assert "unreadable after one repair retry" in skipped(result)["llm_judge"]
    by_item = {(t.item_index, t.subcategory_id): t for t in result.failure_tags}
    assert by_item[(0, "empty_output")].decision == "fail"  # the deterministic verdict survives
    assert not any(t.item_index == 0 and t.detector_type_used != "deterministic" for t in result.failure_tags)
    assert judge_tags(result)[(1, "incomplete_answer")].decision == "pass"  # the next item was judged


def test_429_honours_retry_after(judge_server: JudgeServer) -> None:
    waits: list[float] = []
    judge = OpenAIJudge(JudgeSettings(model=MODEL, base_url=judge_server.base_url, api_key=KEY, key_source="argument"),
                        sleep=waits.append)
    judge_server.enqueue(JudgeStep.error(429, {"Retry-After": "37"}), JudgeStep.error(503, {"retry-after-ms": "250"}),
                         JudgeStep.error(500))
    from valiqor_trace.analyzer.fa.engine import AnalysisOptions, analyze_item
    from valiqor_trace.analyzer.models import FAItem

    analysis = analyze_item(FAItem(**RAG_ITEM), 0, AnalysisOptions(judge=judge))
    assert waits == [37.0, 0.25, 2.0]  # the header (beyond the 20 s backoff cap), the ms header, backoff 0.5 * 2**2
    assert judge.requests == 4 and "llm_judge" in analysis.detectors_run
    judge.close()


def test_5xx_after_every_retry_skips_the_judge_not_the_run(make_client, judge_server: JudgeServer) -> None:
    fast = {"retry-after-ms": "1"}
    judge_server.enqueue(*[JudgeStep.error(500, fast)] * 3)  # max_retries=2: three attempts, all 500
    result = make_client(judge_concurrency=1).failure_analysis.run(dataset=[EMPTY_ITEM, RAG_ITEM])
    assert result.status == "completed"
    reason = skipped(result)["llm_judge"]
    assert "item 0" in reason and "after 3 attempt(s): HTTP 500" in reason
    assert {(t.item_index, t.subcategory_id) for t in result.failure_tags if t.decision == "fail"} >= {
        (0, "empty_output")}
    assert (1, "incomplete_answer") in judge_tags(result)


def test_a_slow_judge_times_out_instead_of_hanging(make_client) -> None:
    with JudgeServer(model=MODEL) as server:
        server.enqueue(JudgeStep.hang(3.0))
        client = make_client(judge_base_url=server.base_url, openai_api_key=None, judge_timeout_s=0.3,
                             judge_max_retries=0)
        result = client.failure_analysis.run_async(dataset=[EMPTY_ITEM]).wait(timeout=10)
    assert result.status == "completed" and "timed out after 0.3s" in skipped(result)["llm_judge"]
    assert [t.decision for t in result.failure_tags if t.subcategory_id == "empty_output"] == ["fail"]


@pytest.mark.parametrize(("source", "named"), [
    ("argument", "openai_api_key="),
    ("VALIQOR_OPENAI_API_KEY", "VALIQOR_OPENAI_API_KEY environment variable"),
    ("OPENAI_API_KEY", "OPENAI_API_KEY environment variable"),
])
def test_a_refused_key_fails_the_run_naming_its_source(make_client, judge_server: JudgeServer,
                                                       monkeypatch: pytest.MonkeyPatch, source: str,
                                                       named: str) -> None:
    wrong = "sk-wrong-0123456789abcdef"
    if source == "argument":
        client = make_client()
        run = lambda: client.failure_analysis.run(dataset=[RAG_ITEM] * 3, openai_api_key=wrong)
    else:
        monkeypatch.setenv(source, wrong)
        client = make_client(openai_api_key=None)
        run = lambda: client.failure_analysis.run(dataset=[RAG_ITEM] * 3)
    with pytest.raises(AuthenticationError) as caught:
        run()
    message = str(caught.value)
    assert named in message and "HTTP 401" in message and wrong not in message and judge_server.base_url in message
    runs = client.failure_analysis.list_runs()
    assert runs[0].status == "failed"
    assert wrong not in (client.failure_analysis.get_status(runs[0].run_id).error or "")


def test_per_call_key_overrides_the_configured_one(make_client, judge_server: JudgeServer) -> None:
    client = make_client(openai_api_key="sk-configured-but-wrong")
    result = client.failure_analysis.run(dataset=[RAG_ITEM], openai_api_key=KEY)
    assert result.status == "completed" and (0, "incomplete_answer") in judge_tags(result)
