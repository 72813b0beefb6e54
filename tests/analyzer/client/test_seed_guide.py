"""Every call of the seed guide runs as written (import aside) on the embedded engine."""

from __future__ import annotations

from pathlib import Path

import pytest

import valiqor_trace
from valiqor_trace.errors import RateLimitError
from valiqor_trace import ValiqorClient

SEED_DATASET = [
    {
        "input": "What is the capital of France?",
        "output": "The capital of France is Berlin.",
        "context": ["The capital of France is Paris."],
    },
    {
        "input": "Summarize the climate report.",
        "output": "The report discusses economic trends in Asia.",
        "context": ["Global temperatures rose 1.1°C since pre-industrial times."],
    },
]
SUMMARY_FIELDS = ("total_items", "items_with_failures", "items_all_passed", "total_failures_detected",
                  "total_passes", "total_uncertain", "overall_severity", "overall_confidence", "primary_failure",
                  "primary_failure_name", "buckets_affected", "should_alert", "should_gate_ci", "needs_human_review")
TAG_FIELDS = ("tag_id", "bucket_id", "bucket_name", "subcategory_id", "subcategory_name", "decision", "severity",
              "confidence", "detector_type_used", "judge_rationale", "scoring_breakdown", "evidence_items",
              "item_index")


class Clock:
    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(tmp_path: Path) -> ValiqorClient:
    client = ValiqorClient(api_key="vq_...", project_name="my-app", home=str(tmp_path / "home"))
    yield client
    client.close()


def test_dataset_run_and_reading_results(client: ValiqorClient) -> None:
    result = client.failure_analysis.run(dataset=SEED_DATASET)

    summary = result.summary
    for field in SUMMARY_FIELDS:
        assert hasattr(summary, field), field
    assert summary.total_items == 2
    assert summary.items_with_failures == 2  # Berlin contradicts Paris; the summary ignores its source
    assert summary.overall_severity >= 3 and summary.should_gate_ci
    failing = [tag for tag in result.failure_tags if tag.decision == "fail"]
    assert {tag.item_index for tag in failing} == {0, 1}
    for tag in result.failure_tags:
        for field in TAG_FIELDS:
            assert hasattr(tag, field), field
        assert 0 <= tag.severity <= 5 and 0 <= tag.confidence <= 1
    assert result.tags == result.failure_tags
    berlin = [t for t in failing if t.item_index == 0 and t.bucket_id == "hallucination"]
    assert berlin and any("Berlin" in (e.text or "") for t in berlin for e in t.evidence_items)

    assert result.eval_run_id and result.eval_metrics and all(0 <= v <= 1 for v in result.eval_metrics.values())
    assert result.security_batch_id and set(result.security_flags.values()) <= {"pass", "fail"}
    assert all(key.startswith("S") for key in result.security_flags)
    assert result.status == "completed" and result.input_type == "dataset" and result.duration_ms > 0
    assert [i.item_index for i in result.inputs] == [0, 1]


def test_filtering_and_feature_kind(client: ValiqorClient) -> None:
    result = client.failure_analysis.run(dataset=SEED_DATASET, buckets=["hallucination"])
    assert {tag.bucket_id for tag in result.failure_tags} <= {"hallucination"}
    result = client.failure_analysis.run(dataset=SEED_DATASET,
                                         subcategories=["entity_fabrication", "contradicts_source"])
    assert {tag.subcategory_id for tag in result.failure_tags} <= {"entity_fabrication", "contradicts_source"}
    for kind in ("rag", "agent", "agentic_rag", "generic_llm"):
        assert client.failure_analysis.run(dataset=SEED_DATASET, feature_kind=kind).feature_kind == kind


def test_async_wait_poll_and_cancel(client: ValiqorClient) -> None:
    handle = client.failure_analysis.run_async(dataset=SEED_DATASET * 20, project_name="my-app")
    seen = []
    result = handle.wait(on_progress=lambda s: seen.append(
        f"{s.progress_percent:.0f}% ({s.current_item}/{s.total_items})"))
    assert seen[-1] == "100% (40/40)" and result.summary.total_items == 40

    handle = client.failure_analysis.run_async(dataset=SEED_DATASET, project_name="my-app")
    while handle.is_running():
        status = handle.status()
        assert f"Status: {status.status} — {status.progress_percent:.0f}%"
    assert handle.result().status == "completed"
    handle.cancel()  # cancelling a finished run changes nothing
    assert handle.result().status == "completed"


def test_taxonomy_browsing(client: ValiqorClient) -> None:
    taxonomy = client.failure_analysis.get_taxonomy()
    ids = [bucket["id"] for bucket in taxonomy]
    assert {"hallucination", "retrieval", "tool_use", "instruction_compliance", "generation",
            "safety_security"} <= set(ids)
    for bucket in taxonomy:
        assert bucket["name"] and bucket.get("subcategories")
        for sub in bucket["subcategories"]:
            assert sub["scope"] in ("rag", "agent", "agentic_rag", "generic_llm")
            assert sub["detector_type"] in ("deterministic", "llm_judge", "hybrid")
    subs = client.failure_analysis.get_subcategories(bucket_id="hallucination", scope="rag",
                                                      detector_type="llm_judge")
    assert all(s["detector_type"] == "llm_judge" for s in subs)
    details = client.failure_analysis.get_bucket_details(bucket_id="hallucination")
    assert details["id"] == "hallucination" and details["subcategories"]


def test_history_insights_and_trends(client: ValiqorClient) -> None:
    first = client.failure_analysis.run(dataset=SEED_DATASET)
    client.failure_analysis.run(dataset=SEED_DATASET[:1])
    runs = client.failure_analysis.list_runs(project_name="my-app", limit=10, offset=0)
    assert [r.run_id for r in runs][1] == first.run_id and runs[0].total_items == 1
    assert client.failure_analysis.count_runs(project_name="my-app") == 2
    inputs = client.failure_analysis.get_run_inputs(run_id=first.run_id)
    assert [i.input for i in inputs] == [item["input"] for item in SEED_DATASET]
    tags = client.failure_analysis.get_tags(run_id=first.run_id)
    assert [t.item_index for t in tags] == sorted(t.item_index for t in tags)
    assert {t.tag_id for t in tags} == {t.tag_id for t in first.failure_tags}

    insights = client.failure_analysis.get_insights(project_name="my-app")
    assert insights["total_runs"] == 2 and insights["total_items"] == 3
    assert insights["top_failures"] and insights["top_failures"][0]["count"] >= 1
    trends = client.failure_analysis.get_trends(project_name="my-app", period="7d")
    assert len(trends["points"]) == 7 and trends["points"][-1]["runs"] == 2
    sec = client.failure_analysis.get_security_insights(project_name="my-app")
    assert sec["total_runs"] == 2 and sec["categories"]


def test_playground_rate_limits(tmp_path: Path) -> None:
    clock = Clock()
    client = ValiqorClient(project_name="my-app", home=str(tmp_path), clock=clock)
    call = dict(input_text="What medications interact with warfarin?",
                output_text="Warfarin has no known drug interactions.",
                context=["Warfarin interacts with aspirin, ibuprofen, and many antibiotics."])
    result = client.failure_analysis.playground(**call)
    # the answer negates what the source sentence it aligns with affirms: a fail quoting that sentence
    [flag] = [t for t in result.failure_tags if t.decision != "pass"]
    assert (flag.subcategory_id, flag.decision) == ("contradicts_source", "fail")
    assert flag.evidence_items[1].text == "Warfarin interacts with aspirin, ibuprofen, and many antibiotics."
    assert result.summary.primary_failure == "contradicts_source" and result.summary.items_with_failures == 1
    assert result.source == "playground"
    client.failure_analysis.playground(**call)
    with pytest.raises(RateLimitError) as caught:
        client.failure_analysis.playground(**call)
    assert "2 calls a minute" in str(caught.value) and 0 < caught.value.retry_after_s <= 60
    for minute in range(1, 5):  # 8 more calls, two a minute: 10 in the day
        clock.now += 61
        client.failure_analysis.playground(**call)
        client.failure_analysis.playground(**call)
    clock.now += 61
    with pytest.raises(RateLimitError, match="10 a day"):
        client.failure_analysis.playground(**call)
    clock.now += 86_400
    client.failure_analysis.playground(**call)


def test_ci_gating_as_in_the_guide(client: ValiqorClient) -> None:
    test_cases = [{"input": "What is 2+2?", "output": "2+2 is 4.", "context": ["2+2 equals 4."]}]
    result = client.failure_analysis.run(dataset=test_cases)
    assert not result.summary.should_gate_ci
    assert client.failure_analysis.run(dataset=SEED_DATASET).summary.should_gate_ci


def test_trace_run_by_id(client: ValiqorClient, tmp_path: Path) -> None:
    handle = valiqor_trace.init(store_path=client.config.trace_store_file, instrument=False)
    with valiqor_trace.trace_workflow("capital-question") as wf:
        wf.set_input("What is the capital of France?")
        wf.set_output("The capital of France is Berlin.")
    handle.shutdown()
    result = client.failure_analysis.run(trace_id="tr_" + wf.trace_id)
    assert result.input_type == "trace" and result.trace_id == wf.trace_id
    assert result.inputs[0].trace_id == wf.trace_id and result.inputs[0].input.startswith("What is the capital")
