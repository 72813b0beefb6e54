"""Shared items and helpers of the judge tests."""

from __future__ import annotations

from typing import Any

JUDGE_ENV = ("OPENAI_API_KEY", "VALIQOR_OPENAI_API_KEY", "VALIQOR_JUDGE_MODEL", "VALIQOR_JUDGE_BASE_URL",
             "VALIQOR_JUDGE_CONCURRENCY", "VALIQOR_JUDGE_TIMEOUT_S", "VALIQOR_JUDGE_MAX_RETRIES",
             "VALIQOR_JUDGE_TOKEN_BUDGET")
KEY = "sk-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
MODEL = "judge-model"

RAG_ITEM = {"input": "What are the opening hours of the Louvre, and is it open on Tuesdays?",
            "output": "The Louvre opens at 9 am. It is open every day of the week.",
            "context": ["The Louvre is open from 9 am to 6 pm. It is closed on Tuesdays."]}
AGENT_ITEM = {"input": "What is the weather in Lyon right now?",
              "output": "It is 14 degrees and raining in Lyon.",
              "tool_calls": [{"name": "get_weather", "arguments": {"city": "Lyon"},
                              "output": '{"city": "Lyon", "temp_c": 14, "conditions": "rain"}'}]}
EMPTY_ITEM = {"input": "Summarise the report.", "output": ""}


def judge_tags(result: Any) -> dict[tuple[int, str], Any]:
    return {(t.item_index, t.subcategory_id): t for t in result.failure_tags if t.detector_type_used != "deterministic"}


def skipped(result: Any) -> dict[str, str]:
    return {s.detector: s.reason for s in result.detectors_skipped}
