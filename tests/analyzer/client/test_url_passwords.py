"""A password in a configured URL (``https://user:password@host``) is used, but never printed, raised or logged."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.judge import JudgeSettings, OpenAIJudge, build_judge
from valiqor_trace.analyzer.judge._http import ChatClient
from valiqor_trace.analyzer.sources import JaegerSource
from valiqor_trace.errors import JudgeAuthenticationError, ServerUnavailableError, SourceError, ValidationError

SECRET = "pa55-IN-THE-URL-0451"


class _Down:
    """A server that answers 500 and remembers the requests (to see the credentials were still sent)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(500, text="down")

    def sent_basic_auth(self, user: str) -> bool:
        expected = "Basic " + base64.b64encode(f"{user}:{SECRET}".encode()).decode()
        return bool(self.requests) and all(r.headers.get("authorization") == expected for r in self.requests)


def test_client_settings_and_errors_mask_the_password(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    base_url = f"http://admin:{SECRET}@valiqor.invalid:4318"
    server = _Down()
    with caplog.at_level(logging.DEBUG):
        client = ValiqorClient(base_url=base_url, judge_base_url=f"http://judge:{SECRET}@127.0.0.1:9/v1",
                               home=str(tmp_path), transport=httpx.MockTransport(server))
        shown = [repr(client), repr(client.config), str(client.config)]
        assert "admin:...@valiqor.invalid:4318" in shown[0] and "judge:...@127.0.0.1:9/v1" in shown[1]
        with pytest.raises(ServerUnavailableError) as error:
            client.failure_analysis.get_taxonomy()
        assert "http://admin:...@valiqor.invalid:4318/" in str(error.value)
        client.close()
    assert server.sent_basic_auth("admin")  # the credentials still authenticate the requests
    assert all(SECRET not in text for text in [*shown, str(error.value), caplog.text])


def test_trace_source_and_judge_messages_mask_the_password(caplog: pytest.LogCaptureFixture) -> None:
    server = _Down()
    with caplog.at_level(logging.DEBUG):
        source = JaegerSource(f"https://reader:{SECRET}@jaeger.invalid", transport=httpx.MockTransport(server))
        with pytest.raises(SourceError) as failed:
            source.get_trace("0af7651916cd43dd8448eb211c80319c")
        source.close()
        judge = OpenAIJudge(JudgeSettings(base_url=f"http://judge:{SECRET}@127.0.0.1:9/v1", api_key="sk-x"))
        with pytest.raises(ValidationError) as refused:
            build_judge(api_key="sk-x", key_source="argument", base_url=f"ftp://judge:{SECRET}@127.0.0.1:9/v1")
        chat = ChatClient(judge.settings, transport=httpx.MockTransport(lambda request: httpx.Response(401)))
        with pytest.raises(JudgeAuthenticationError) as unauthorized:
            chat.complete({"model": "m", "messages": []})
        chat.close()
    assert server.sent_basic_auth("reader")
    shown = [str(failed.value), repr(source.description), repr(judge), repr(judge.settings), str(refused.value),
             str(unauthorized.value)]
    assert "reader:...@jaeger.invalid" in shown[0] and "judge:...@127.0.0.1:9/v1" in shown[2]
    assert all(SECRET not in text for text in [*shown, caplog.text])
