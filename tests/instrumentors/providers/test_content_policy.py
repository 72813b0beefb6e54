"""Every provider init() traces through its official OpenTelemetry instrumentation gets our content policy and
our nesting: a real SDK call against a local fake, in a fresh process, read back from the trace store's bytes.

Each case puts a secret in the system instructions, the user's message and the answer (for the Agents SDK, whose
official spans carry no messages of their own, in a tool's arguments and result), and a long tail in one text.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, run_python
from valiqor_trace.store import SpanRecord, SpanStore

pytestmark = pytest.mark.slow  # a fresh process per app run, each importing a provider SDK

SECRET = "card-4111-1111-1111-1111"
INSTRUCTIONS, QUESTION, ANSWER = "Never repeat {secret}", "Charge {secret} please", "Your card {secret} is charged."


@dataclass(frozen=True)
class Case:
    modules: tuple[str, ...]  # the SDK and its instrumentation (the provider's extra)
    app: str  # makes the call inside trace_workflow("pay") as wf; SECRET, TAIL and the texts are defined
    span: str  # the official instrumentation's span that carries the content
    content: dict[str, str]  # content attribute -> the text it holds once redacted
    long_key: str  # the attribute holding TAIL, and how its value starts
    long_start: str
    kept: dict[str, Any] = field(default_factory=dict)  # what the span still says with capture off


CASES = {
    "anthropic": Case(
        ("anthropic", "opentelemetry.instrumentation.genai.anthropic"), """
import anthropic
from fake_providers import ScriptedServer, anthropic_text
with ScriptedServer([anthropic_text("m", ANSWER + TAIL)]) as server:
    client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)
    with valiqor_trace.trace_workflow("pay") as wf:
        client.messages.create(model="m", max_tokens=50, system=INSTRUCTIONS,
                               messages=[{"role": "user", "content": QUESTION}])
""", "chat m",
        {"gen_ai.input.messages": QUESTION, "gen_ai.output.messages": ANSWER, "gen_ai.system_instructions": INSTRUCTIONS},
        "gen_ai.output.messages", '[{"role":"assistant"', {"gen_ai.request.model": "m", "gen_ai.usage.output_tokens": 12}),
    "google_genai": Case(
        ("google.genai", "opentelemetry.instrumentation.google_genai"), """
from google import genai
from google.genai import types
from fake_providers import ScriptedServer, gemini_text
with ScriptedServer([gemini_text("m", ANSWER + TAIL)]) as server:
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=server.url))
    with valiqor_trace.trace_workflow("pay") as wf:
        client.models.generate_content(model="m", contents=QUESTION,
                                       config=types.GenerateContentConfig(system_instruction=INSTRUCTIONS))
""", "generate_content m",
        {"gen_ai.input.messages": QUESTION, "gen_ai.output.messages": ANSWER, "gen_ai.system_instructions": INSTRUCTIONS},
        "gen_ai.output.messages", '[{"role":"assistant"', {"gen_ai.request.model": "m", "gen_ai.usage.output_tokens": 12}),
    "bedrock": Case(
        ("boto3", "opentelemetry.instrumentation.genai.bedrock"), """
import boto3
from fake_providers import ScriptedServer, bedrock_text
with ScriptedServer([bedrock_text(ANSWER + TAIL)]) as server:
    client = boto3.client("bedrock-runtime", endpoint_url=server.url, region_name="us-east-1",
                          aws_access_key_id="local", aws_secret_access_key="local")
    with valiqor_trace.trace_workflow("pay") as wf:
        client.converse(modelId="m", system=[{"text": INSTRUCTIONS}],
                        messages=[{"role": "user", "content": [{"text": QUESTION}]}])
""", "chat m",
        {"gen_ai.input.messages": QUESTION, "gen_ai.output.messages": ANSWER, "gen_ai.system_instructions": INSTRUCTIONS},
        "gen_ai.output.messages", '[{"role":"assistant"', {"gen_ai.request.model": "m", "gen_ai.usage.output_tokens": 12}),
    "openai_agents": Case(
        ("agents", "opentelemetry.instrumentation.genai.openai_agents"), """
import agents
from agents import Agent, Runner, function_tool
from valiqor_trace.testing import ModelServer, Reply

@function_tool
def charge(card: str) -> str:
    \"\"\"Charge a card.\"\"\"
    return ANSWER + TAIL

with ModelServer([Reply.tool_call("charge", {"card": SECRET}), Reply(ANSWER)]) as server:
    agents.set_default_openai_client(server.async_client(), use_for_tracing=False)
    with valiqor_trace.trace_workflow("pay") as wf:
        Runner.run_sync(Agent(name="payer", instructions=INSTRUCTIONS, model="m", tools=[charge]), QUESTION)
""", "execute_tool charge",
        {"gen_ai.tool.call.arguments": '{{"card":"{secret}"}}', "gen_ai.tool.call.result": ANSWER},
        "gen_ai.tool.call.result", "Your card [CARD] is charged. xxx", {"gen_ai.tool.name": "charge"}),
}

APP = """
import sys
sys.path.insert(0, {examples!r})
import valiqor_trace
SECRET, TAIL = {secret!r}, " " + "x" * 300
INSTRUCTIONS, QUESTION, ANSWER = {instructions!r}, {question!r}, {answer!r}
{prelude}
handle = valiqor_trace.init(capture_content={capture}, redact=lambda text: text.replace(SECRET, "[CARD]"),
                            max_content_length={cap}{monitor})
{app}
handle.shutdown()
print("trace", wf.trace_id)
"""

# The monitor's analysis, in the app: writes what it was handed (each span's name and attributes) to a file.
MONITOR = ("""
import json
from valiqor_trace import MonitorConfig
def seen(trace):
    with open("monitor.json", "w") as out:
        json.dump([{"name": s.name, "attributes": dict(s.attributes)} for s in trace.spans], out)
""", ", monitor=MonitorConfig(sample_rate=1.0, max_per_minute=None, grace_period_s=0.0, analyze=seen)")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    chosen = CASES[request.param]
    missing = [module for module in chosen.modules if not _installed(module)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (the provider's extra)")
    return chosen


@dataclass
class Run:
    raw: bytes  # every byte the trace store wrote
    spans: list[SpanRecord]

    def one(self, name: str) -> SpanRecord:
        [span] = [span for span in self.spans if span.name == name]
        return span


def _texts(template: str, secret: str = SECRET) -> str:
    return template.format(secret=secret)


_RUNS: dict[tuple[str, bool, int, bool], Run] = {}  # one app run serves every test that asks the same


def _run(tmp_path: Path, case: Case, *, capture: bool, cap: int = 100000, monitor: bool = False) -> Run:
    key = (case.app, capture, cap, monitor)
    if key not in _RUNS:
        _RUNS[key] = _run_app(tmp_path, case, capture=capture, cap=cap, monitor=monitor)
    return _RUNS[key]


def _run_app(tmp_path: Path, case: Case, *, capture: bool, cap: int, monitor: bool) -> Run:
    prelude, monitor_arg = MONITOR if monitor else ("", "")
    source = APP.format(examples=str(REPO_ROOT / "examples"), secret=SECRET, instructions=_texts(INSTRUCTIONS),
                        question=_texts(QUESTION), answer=_texts(ANSWER), capture=capture, cap=cap,
                        monitor=monitor_arg, prelude=prelude, app=case.app)
    out = run_python(source, cwd=tmp_path, env={"OPENAI_API_KEY": ""}, timeout=120)
    [trace_id] = re.findall(r"^trace ([0-9a-f]{32})$", out, flags=re.M)
    raw = b"".join(p.read_bytes() for p in (tmp_path / ".valiqor").glob("traces.db*"))
    return Run(raw, SpanStore(tmp_path / ".valiqor" / "traces.db").get_trace(trace_id))


def _expected(text: str) -> str:
    return _texts(text, "[CARD]")


def test_redact_reaches_their_spans_before_the_store(case: Case, tmp_path: Path) -> None:
    run = _run(tmp_path, case, capture=True)
    assert SECRET.encode() not in run.raw
    span = run.one(case.span)
    for key, text in case.content.items():
        assert _expected(text) in span.attributes[key], key


def test_their_call_is_a_child_of_the_workflow_in_the_same_trace(case: Case, tmp_path: Path) -> None:
    run = _run(tmp_path, case, capture=True)
    by_id = {span.span_id: span for span in run.spans}
    span, ancestors = run.one(case.span), []
    while span.parent_span_id is not None:
        span = by_id[span.parent_span_id]  # a parent outside the stored trace would be a broken tree: KeyError
        ancestors.append(span.name)
    assert ancestors[-1] == "pay"  # the workflow is the root of the one tree


def test_max_content_length_caps_their_content_attributes(case: Case, tmp_path: Path) -> None:
    run = _run(tmp_path, case, capture=True, cap=120)
    value = run.one(case.span).attributes[case.long_key]
    assert value.startswith(case.long_start) and re.search(r"\.\.\.\[truncated \d+ chars\]$", value)
    assert len(value) < 120 + 40


def test_capture_off_stores_no_content_of_theirs(case: Case, tmp_path: Path) -> None:
    run = _run(tmp_path, case, capture=False)
    for text in (b"card-4111", b"Charge", b"is charged", b"Never repeat"):
        assert text not in run.raw
    span = run.one(case.span)  # the call is still there, with what is not content
    assert {key: span.attributes.get(key) for key in case.kept} == case.kept
    assert not any(key in span.attributes for key in case.content)


def test_the_in_app_monitor_sees_their_spans_redacted(tmp_path: Path) -> None:
    chosen = CASES["anthropic"]
    if not all(_installed(module) for module in chosen.modules):
        pytest.skip("needs the anthropic extra")
    _run(tmp_path, chosen, capture=True, cap=150, monitor=True)
    seen = (tmp_path / "monitor.json").read_text()
    assert SECRET not in seen
    [span] = [span for span in json.loads(seen) if span["name"] == chosen.span]
    for key, text in chosen.content.items():
        assert _expected(text) in span["attributes"][key], key
    assert re.search(r"\.\.\.\[truncated \d+ chars\]$", span["attributes"][chosen.long_key])
