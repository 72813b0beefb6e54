"""The key never lands anywhere, and judge calls never land in the user's traces."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

import valiqor_trace
from valiqor_trace.errors import AuthenticationError
from valiqor_trace.testing import JudgeServer, JudgeStep
from tests.analyzer.judge.judge_helpers import AGENT_ITEM, EMPTY_ITEM, KEY, RAG_ITEM, judge_tags
from valiqor_trace.testing.model_server import ModelServer, Reply


def _files_containing(root: Path, needle: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_the_key_is_in_no_file_the_run_wrote(make_client, judge_server: JudgeServer, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    log_file = tmp_path / "home" / "run.log"
    log_file.parent.mkdir(parents=True)
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        judge_server.enqueue(JudgeStep.malformed(), JudgeStep.error(500, {"retry-after-ms": "1"}))
        client = make_client(openai_api_key=None, judge_concurrency=2)
        monkeypatch.setenv("VALIQOR_OPENAI_API_KEY", KEY)
        client = make_client(openai_api_key=None, judge_concurrency=2)
        result = client.failure_analysis.run(dataset=[RAG_ITEM, AGENT_ITEM, EMPTY_ITEM])
        client.failure_analysis.run(dataset=[RAG_ITEM], openai_api_key=KEY)  # per call, and cached
        with pytest.raises(AuthenticationError) as refused:
            client.failure_analysis.run(dataset=[EMPTY_ITEM | {"input": "new"}], openai_api_key=KEY + "-revoked")
        logging.getLogger("valiqor_trace.analyzer.judge").debug("judge %r", client._judge(None))  # the judge's repr, too
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert result.tokens_used > 0 and judge_tags(result)
    assert KEY not in str(refused.value) and KEY not in repr(client.config)
    written = [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
    assert any(p.name == "runs.db" for p in written) and log_file.stat().st_size > 0
    with sqlite3.connect(tmp_path / "home" / "runs.db") as db:
        assert db.execute("SELECT COUNT(*) FROM judge_cache").fetchone()[0] >= 2
    assert _files_containing(tmp_path, KEY) == []
    assert _files_containing(tmp_path, KEY[8:24]) == []  # not even a fragment


def test_judge_calls_leave_no_spans_in_the_users_trace_store(make_client, judge_server: JudgeServer,
                                                             tmp_path: Path) -> None:
    store = tmp_path / "traces.db"
    handle = valiqor_trace.init(store_path=store, instrument=["openai"], schedule_delay_ms=1)
    httpx_instrumentor = HTTPXClientInstrumentor()
    httpx_instrumentor.instrument()
    try:
        with ModelServer([Reply("Paris.")]) as model_server:  # the user's own app, traced
            model_server.client().chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital of France?"}])
        with httpx.Client() as app_http:  # control: a plain httpx call from the app IS recorded
            app_http.post(judge_server.base_url + "/chat/completions", json={"model": "x", "messages": []})
        client = make_client(store_path=str(store))
        result = client.failure_analysis.run(dataset=[RAG_ITEM, AGENT_ITEM])
        handle.force_flush()
    finally:
        httpx_instrumentor.uninstrument()
        handle.shutdown()
    assert judge_tags(result) and len(judge_server.requests) == 2  # the judge was asked (the control got a 401)
    with sqlite3.connect(store) as db:
        spans = db.execute("SELECT name, attributes FROM spans").fetchall()
    port = judge_server.base_url.split(":")[2].split("/")[0]
    touching_judge = [name for name, attributes in spans if port in attributes]
    assert touching_judge == ["POST"]  # only the app's own control request, none of the judge's
    assert any("gpt-4o-mini" in attributes for _, attributes in spans)  # the app's LLM call is there
    assert not any("judge-model" in attributes or "valiqor_judge" in attributes for _, attributes in spans)
