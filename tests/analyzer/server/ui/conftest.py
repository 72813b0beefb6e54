"""Fixtures of the web UI tests: a data directory filled by `valiqor demo`, the server app on 127.0.0.1 over it,
and headless Chromium (the system's `chromium` package, driven by Playwright; no browser is downloaded).

Browser tests skip, saying why, where Chromium or Playwright is missing (CI installs both and fails on skips).
Set UI_SCREENSHOTS_DIR=DIR to keep a screenshot of each page there (docs/ui.md shows them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jinja2")

from tests.helpers import REPO_ROOT, LiveServer
from valiqor_trace.analyzer.server import ServerConfig, create_app

# CHROMIUM_PATH (environment) names another Chromium binary; names without VALIQOR_ survive tests/conftest.py
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")


def chromium_path() -> str | None:
    for path in (os.environ.get("CHROMIUM_PATH"), *CHROMIUM_PATHS, shutil.which("chromium")):
        if path and os.path.exists(path):
            return path
    return None


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding what `valiqor demo` traced and analyzed (4 traces, 4 runs)."""
    pytest.importorskip("langchain_openai", reason="the demo apps need the demo extra")
    home = tmp_path_factory.mktemp("demo")
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin", "HOME": str(home)}
    out = subprocess.run([sys.executable, "-m", "valiqor_trace.cli", "demo"], cwd=home, env=env,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    return home / ".valiqor"


@pytest.fixture
def demo_server(demo_home: Path, tmp_path: Path, database_url: str | None) -> Iterator[LiveServer]:
    """The app over a copy of the demo's stores (a test's Analyze adds runs; others must not see them), on
    each engine: the SQLite files, and the same rows copied into a fresh PostgreSQL schema."""
    data = tmp_path / "data"
    shutil.copytree(demo_home, data)
    if database_url is not None:
        from tests.postgres import copy_stores

        copy_stores(data, database_url)
    app = create_app(ServerConfig(data_dir=str(data), database_url=database_url))
    with LiveServer(app) as live:
        yield live
    app.state.server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # per module, not per session: Playwright's sync API runs an event loop in this thread while it is
    # open, which would break every later asyncio test of the session
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium here (apt-get install chromium); the browser tests need it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (the ui-test extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that records console errors and CSP violations (``page.problems``)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda msg: page.problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    page.set_default_timeout(15_000)
    yield page
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Keep a screenshot of the page for docs/ui.md when UI_SCREENSHOTS_DIR names a directory."""
    folder = os.environ.get("UI_SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"ui-{name}.png"), full_page=False)
