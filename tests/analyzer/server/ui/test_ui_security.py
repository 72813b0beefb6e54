"""The web UI's security: trace text renders as text (never markup or script), a strict CSP on every page,
and the API key guards the pages (a browser logs in once; the API keeps taking bearer keys)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import LiveServer
from valiqor_trace import attributes
from valiqor_trace.analyzer.server import ServerConfig, create_app
from valiqor_trace.store import SpanRecord, SpanStore

TRACE = "ab" * 16
SCRIPT = "<script>window.__xss = 1</script>"
IMG = "<img src=x onerror=\"window.__xss = 2\">"
KEY = "ui-test-key-0123456789"


@pytest.fixture
def hostile_home(tmp_path: Path) -> Path:
    """A store holding a trace whose names, attributes and messages carry markup and script."""
    now = time.time_ns()
    messages = f'[{{"role": "user", "parts": [{{"type": "text", "content": "{SCRIPT}"}}]}}]'
    spans = [
        SpanRecord(trace_id=TRACE, span_id="1" * 16, name=f"root {IMG}", start_time_unix_nano=now,
                   end_time_unix_nano=now + 5_000_000, attributes={"note": SCRIPT}),
        SpanRecord(trace_id=TRACE, span_id="2" * 16, parent_span_id="1" * 16, name="chat model",
                   start_time_unix_nano=now + 1_000_000, end_time_unix_nano=now + 4_000_000,
                   attributes={attributes.GEN_AI_OPERATION_NAME: "chat", attributes.GEN_AI_INPUT_MESSAGES: messages,
                               "evil": IMG}),
    ]
    store = SpanStore(tmp_path / "traces.db")
    store.write_spans(spans)
    store.close()
    return tmp_path


@pytest.fixture
def open_server(hostile_home: Path) -> Iterator[LiveServer]:
    app = create_app(ServerConfig(data_dir=str(hostile_home)))
    with LiveServer(app) as live:
        yield live
    app.state.server.close()


@pytest.fixture
def keyed_server(hostile_home: Path) -> Iterator[LiveServer]:
    app = create_app(ServerConfig(data_dir=str(hostile_home), api_keys=(KEY,)))
    with LiveServer(app) as live:
        yield live
    app.state.server.close()


def test_trace_text_is_escaped_in_every_page_that_shows_it(open_server: LiveServer) -> None:
    pages = [f"/traces", f"/traces/{TRACE}", f"/traces/{TRACE}?span={'1' * 16}", f"/traces/{TRACE}/spans/{'2' * 16}"]
    for path in pages:
        html = httpx.get(open_server.url + path).text
        assert "<script>window" not in html and "<img src=x" not in html, path
    trace_page = httpx.get(f"{open_server.url}/traces/{TRACE}?span={'1' * 16}").text
    assert "root &lt;img src=x onerror=" in trace_page and "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in trace_page
    chat = httpx.get(f"{open_server.url}/traces/{TRACE}/spans/{'2' * 16}").text
    assert 'class="msg role-user input"' in chat and "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in chat


def test_every_page_and_answer_carries_a_strict_csp(open_server: LiveServer) -> None:
    for path in ("/traces", f"/traces/{TRACE}", "/runs", "/monitoring", "/taxonomy", "/api/v1/traces/search",
                 "/static/app.js"):
        response = httpx.get(open_server.url + path)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert response.headers["x-content-type-options"] == "nosniff"
    html = httpx.get(f"{open_server.url}/traces/{TRACE}").text
    assert " onclick=" not in html and " style=" not in html  # no inline handler or style for the CSP to refuse


def test_the_script_in_a_span_never_runs_in_the_browser(open_server: LiveServer, page: Any) -> None:
    page.goto(f"{open_server.url}/traces/{TRACE}")
    page.locator(f"#span-{'2' * 16} .span-link").click()
    page.wait_for_selector("#detail .chat .msg")
    assert SCRIPT in page.locator("#detail .chat").inner_text()  # shown, as text
    page.locator(f"#span-{'1' * 16} .span-link").click()
    page.wait_for_selector(f"#detail .span-detail[data-span='{'1' * 16}']")
    assert IMG in page.locator("#detail").inner_text()
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_pages_need_a_login_with_the_key_when_the_server_has_keys(keyed_server: LiveServer) -> None:
    with httpx.Client(base_url=keyed_server.url) as browser:
        first = browser.get("/traces", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/traces"
        assert browser.get("/login").status_code == 200
        wrong = browser.post("/login", data={"key": "not-the-key", "next": "/traces"})
        assert wrong.status_code == 401 and "not valid" in wrong.text and "valiqor_session" not in browser.cookies
        api = browser.get("/api/v1/traces/search")
        assert api.status_code == 401 and api.json()["error"]["type"] == "AuthenticationError"

        login = browser.post("/login", data={"key": KEY, "next": "/runs"}, follow_redirects=False)
        assert login.status_code == 303 and login.headers["location"] == "/runs"
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and KEY.lower() not in cookie
        assert browser.get("/traces").status_code == 200
        assert browser.get("/api/v1/traces/search").json()["total"] == 1  # the pages' fetches use the cookie

        browser.post("/logout")
        assert browser.get("/traces", follow_redirects=False).status_code == 303
    assert httpx.get(f"{keyed_server.url}/api/v1/traces/search",
                     headers={"Authorization": f"Bearer {KEY}"}).status_code == 200  # programs keep the bearer key


def test_login_never_sends_the_browser_to_another_site(keyed_server: LiveServer) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        login = httpx.post(f"{keyed_server.url}/login", data={"key": KEY, "next": target}, follow_redirects=False)
        assert login.headers["location"] == "/"


def test_a_login_on_one_replica_is_valid_on_another_and_nowhere_else(keyed_server: LiveServer,
                                                                     hostile_home: Path, tmp_path: Path) -> None:
    """Behind a load balancer the next request may reach another replica: the session cookie is signed, not
    remembered, so any server with the same key accepts it, and none without that key does."""
    login = httpx.post(f"{keyed_server.url}/login", data={"key": KEY, "next": "/traces"}, follow_redirects=False)
    cookie = {"valiqor_session": login.cookies["valiqor_session"]}
    other = create_app(ServerConfig(data_dir=str(hostile_home), api_keys=("another-key-0123456789", KEY)))
    stranger = create_app(ServerConfig(data_dir=str(tmp_path / "elsewhere"), api_keys=("another-key-0123456789",)))
    try:
        with LiveServer(other) as replica, LiveServer(stranger) as unrelated:
            assert httpx.get(f"{replica.url}/traces", cookies=cookie).status_code == 200
            assert httpx.get(f"{replica.url}/api/v1/traces/search", cookies=cookie).json()["total"] == 1
            assert httpx.get(f"{unrelated.url}/traces", cookies=cookie, follow_redirects=False).status_code == 303
            issued, nonce, signature = cookie["valiqor_session"].split(".")
            for forged in (f"{int(issued) + 3600}.{nonce}.{signature}", f"{issued}.{nonce}x.{signature}",
                           f"{issued}.{nonce}.{signature[:-2]}AA", "1.a.b", ""):
                response = httpx.get(f"{replica.url}/api/v1/traces/search", cookies={"valiqor_session": forged})
                assert response.status_code == 401, forged
    finally:
        other.state.server.close()
        stranger.state.server.close()


def test_a_session_expires_after_its_ttl_on_every_replica() -> None:
    from valiqor_trace.analyzer.server.ui._session import SESSION_TTL_S, Sessions

    now = [1_000_000.0]
    issuer, replica = Sessions([KEY], clock=lambda: now[0]), Sessions(["other", KEY], clock=lambda: now[0])
    token = issuer.login(KEY)
    assert token and KEY not in token and replica.valid(token)
    assert issuer.login("not-the-key") is None
    now[0] += SESSION_TTL_S - 1
    assert replica.valid(token)
    now[0] += 1
    assert not replica.valid(token) and not issuer.valid(token)
