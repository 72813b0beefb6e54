"""Judge tests: a scripted OpenAI-compatible judge server on 127.0.0.1, no judge settings from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.testing import JudgeServer
from tests.analyzer.judge.judge_helpers import JUDGE_ENV, KEY, MODEL


@pytest.fixture(autouse=True)
def _no_judge_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in JUDGE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def judge_server() -> Iterator[JudgeServer]:
    with JudgeServer(model=MODEL, api_key=KEY) as server:
        yield server


@pytest.fixture
def make_client(tmp_path: Path, judge_server: JudgeServer) -> Iterator[Any]:
    clients: list[ValiqorClient] = []

    def make(**settings: Any) -> ValiqorClient:
        values = {"home": str(tmp_path / "home"), "judge_base_url": judge_server.base_url, "judge_model": MODEL,
                  "openai_api_key": KEY, "judge_max_retries": 2, **settings}
        client = ValiqorClient(**{k: v for k, v in values.items() if v is not None})
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
