"""Remote mode: a per-call ``openai_api_key`` travels with the run request and is used for that run only."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("starlette")

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.testing import JudgeServer
from valiqor_trace.errors import RunFailedError
from valiqor_trace.analyzer.server import ServerConfig, create_app
from tests.analyzer.judge.judge_helpers import KEY, MODEL, RAG_ITEM, judge_tags
from tests.helpers import LiveServer

SERVER_KEY = "server-key-0123456789"


def test_a_per_call_key_is_used_by_the_server_and_stored_nowhere(tmp_path: Path, judge_server: JudgeServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALIQOR_JUDGE_BASE_URL", judge_server.base_url)  # the server's judge settings
    monkeypatch.setenv("VALIQOR_JUDGE_MODEL", MODEL)
    app = create_app(ServerConfig(data_dir=str(tmp_path / "server"), api_keys=(SERVER_KEY,)))
    try:
        with LiveServer(app) as live:
            client = ValiqorClient(base_url=live.url, api_key=SERVER_KEY)
            result = client.failure_analysis.run(dataset=[RAG_ITEM], openai_api_key=KEY)
            with pytest.raises(RunFailedError) as refused:
                client.failure_analysis.run(dataset=[RAG_ITEM | {"input": "other"}], openai_api_key=KEY + "-revoked")
            client.close()
    finally:
        app.state.server.close()
    assert judge_tags(result) and judge_server.requests[0].authorization_sent
    assert "refused the key passed as openai_api_key=" in str(refused.value) and KEY not in str(refused.value)
    leaked = [p for p in (tmp_path / "server").rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaked == []
