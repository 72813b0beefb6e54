"""LiteLLM traced live by its own OpenTelemetry callback under init() (litellm_app.py, against the scripted
local OpenAI server): every span in the request's tree, read back field-exact by trace id, and our content
policy on its spans, raw request fields included. Without litellm installed (it pins many packages; the
recorded traces are read in tests/analyzer/reconstruct/test_litellm.py) this module is skipped."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, run_python
from valiqor_trace import ValiqorClient

pytest.importorskip("litellm", reason="litellm is not installed (pip install 'valiqor-trace[litellm]'); .ci/run tests it in a venv of its own")

pytestmark = pytest.mark.slow
APP = Path(__file__).with_name("litellm_app.py")
SECRET = "card-4111-1111-1111-1111"


def _run(tmp_path: Path, *options: str) -> tuple[dict[str, Any], bytes, ValiqorClient]:
    home, truth = tmp_path / "home", tmp_path / "truth.json"
    run_python(f"import sys, runpy; sys.argv = {[str(APP), '--home', str(home), '--truth', str(truth), *options]!r}; "
               f"runpy.run_path({str(APP)!r}, run_name='__main__')", cwd=tmp_path, timeout=180,
               env={"OPENAI_API_KEY": ""})
    raw = b"".join(path.read_bytes() for path in home.glob("traces.db*"))
    return json.loads(truth.read_text()), raw, ValiqorClient(home=str(home))


def test_litellm_traces_reconstruct_field_exact_in_one_tree(tmp_path: Path) -> None:
    truth, _, client = _run(tmp_path)
    for app, expected in truth.items():
        spans = client.traces.get(expected["trace_id"])
        names = sorted(span.name for span in spans)
        requests = 2 if app == "tools" else 1
        assert names.count("litellm_request") == names.count("raw_gen_ai_request") == requests, names
        assert [span.name for span in spans if span.parent_span_id is None] == [f"litellm-{app}"]  # one tree
        item = client.traces.reconstruct(expected["trace_id"])
        assert (item.input, item.output) == (expected["question"], expected["answer"])
        assert [{"id": c.id, "name": c.name, "arguments": c.arguments, "output": c.output}
                for c in item.tool_calls] == expected["tool_calls"]


def test_redact_reaches_litellm_raw_request_fields_before_the_store(tmp_path: Path) -> None:
    truth, raw, client = _run(tmp_path, "--secret", SECRET)
    assert SECRET.encode() not in raw
    tools = truth["tools"]
    item = client.traces.reconstruct(tools["trace_id"])
    assert item.input == "What's the weather in Paris for card [CARD]?"
    assert [(c.id, c.name, c.arguments) for c in item.tool_calls] == [
        (tools["tool_calls"][0]["id"], "get_weather", {"city": "Paris"})]  # still read from the raw fields


def test_capture_off_stores_no_litellm_content(tmp_path: Path) -> None:
    truth, raw, client = _run(tmp_path, "--no-capture")
    for text in (b"capital of France", b"Light travels", b"sunny in Paris right now"):
        assert text not in raw
    store = sqlite3.connect(tmp_path / "home" / "traces.db")
    names = [row[0] for row in store.execute("SELECT name FROM spans")]
    assert names.count("litellm_request") == 4 and "raw_gen_ai_request" not in names  # calls kept, no content
