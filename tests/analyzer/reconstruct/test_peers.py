"""Traces written by the real peer instrumentations, and ours, reconstruct to what the app sent and received.

Each live peer (ours included, held to the same checks) runs the scripted apps (chat, stream, RAG, tool
loop, agent) in its own subprocess (``peer_apps.py``: peers patch ``openai``/LangChain globally), over the
real ``openai`` SDK and LangChain against a mock transport, and exports OTLP
JSON lines with the real OTLP encoder. Peers that need an older ``openai``, or an
``opentelemetry-util-genai`` the current official GenAI instrumentations cannot
share (openai-v2), were recorded once (``tests/fixtures/peers``). Every trace is imported into a real
store and reconstructed through ``TracesAPI``, then compared field by field with
the truth file the app wrote.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from valiqor_trace.analyzer.fa import engine
from valiqor_trace.analyzer.models import FAItem, TraceFacts
from valiqor_trace.analyzer.reconstruct._values import finish_reason
from valiqor_trace.analyzer.traces_api import TracesAPI
from valiqor_trace.store import SpanStore

HERE = Path(__file__).parent
FIXTURES = HERE.parent.parent / "fixtures" / "peers"

LIVE_PEERS = {  # peer -> the module it needs
    # ours, through init(): instrument=["openai"] with the app's workflow, @tool and @retriever (README "Tracing
    # your app"); instrument=["langchain", "openai"], the client's span nested in LangChain's
    "valiqor": "valiqor_trace.instrumentors.openai",
    "valiqor-langchain": "langchain_openai",
    "openinference": "openinference.instrumentation.openai",
    "openinference-langchain": "openinference.instrumentation.langchain",
    "openllmetry": "opentelemetry.instrumentation.openai",
    "openllmetry-langchain": "opentelemetry.instrumentation.langchain",
    "genai-openai": "opentelemetry.instrumentation.genai.openai",
    "genai-langchain": "opentelemetry.instrumentation.genai.langchain",
}
OURS = ("valiqor", "valiqor-langchain")
APPS = ["chat", "stream", "rag", "tools", "agent"]
LANGCHAIN_ONLY_APPS = {"agent"}  # create_agent: the openai SDK has no agent of its own
# Recorded once (tests/fixtures/peers, README there): peers that cannot share this venv with the live ones.
RECORDED_PEERS = ("openllmetry-legacy", "genai-events", "openai-v2")
# openai-v2 as installed, recording no message content (checked on its own: there is no text to compare).
NO_CONTENT_PEER = "openai-v2-default"
# Peers whose app code marks workflow, tool and retriever steps (or whose framework does).
TRACES_APP_STEPS = {"valiqor", "valiqor-langchain", "openinference", "openinference-langchain", "openai-v2",
                    "openllmetry-langchain", "genai-openai", "genai-langchain"}
RECORDS_TOOL_DEFINITIONS = {"valiqor", "valiqor-langchain", "openinference", "openinference-langchain", "openllmetry",
                            "openllmetry-langchain", "openllmetry-legacy", "genai-openai", "genai-langchain"}
STREAM_REQUEST_MODEL_ONLY = {"openinference-langchain", "openllmetry-langchain"}
# OpenLLMetry writes a create_agent span, in a trace of its own, when the agent graph is built.
TRACES_AGENT_CONSTRUCTION = {"openllmetry-langchain"}
# Where a RAG trace has the retrieved text, when not on its retrieval span (docs/reconstruction.md, context):
# OTel GenAI's retrieval model (util-genai >= 1.3) lists documents by id and score only.
CONTEXT_ELSEWHERE = {
    "genai-langchain": "prompt variable",  # gen_ai.prompt.variable.context on the chat span
    "genai-openai": "messages",  # only inside the system message the app built
}


def _peer_available(peer: str) -> bool:
    try:
        return importlib.util.find_spec(LIVE_PEERS[peer]) is not None
    except ModuleNotFoundError:
        return False


@pytest.fixture(scope="session")
def peer_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """peer -> (OTLP JSON lines file, truth), running each live peer once per session."""
    cache: dict[str, tuple[Path, dict[str, Any]]] = {}
    out_dir = tmp_path_factory.mktemp("peers")

    def run(peer: str) -> tuple[Path, dict[str, Any]]:
        if peer in cache:
            return cache[peer]
        if peer in (*RECORDED_PEERS, NO_CONTENT_PEER):
            out, truth_file = FIXTURES / f"{peer}.jsonl", FIXTURES / f"{peer}.truth.json"
        else:
            if not _peer_available(peer):
                pytest.skip(f"peer {peer} not installed: pip install 'valiqor-trace[peers]'")
            out, truth_file = out_dir / f"{peer}.jsonl", out_dir / f"{peer}.truth.json"
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
            if peer not in OURS:  # ours keeps it: an internal error of our instrumentation fails the app run
                env.pop("VALIQOR_RAISE_INTERNAL_ERRORS", None)
            apps = [app for app in APPS if app not in LANGCHAIN_ONLY_APPS or peer.endswith("langchain")]
            done = subprocess.run(
                [sys.executable, str(HERE / "peer_apps.py"), "--peer", peer, "--apps", ",".join(apps),
                 "--out", str(out), "--truth", str(truth_file), "--protobuf", str(out_dir / f"{peer}.pb")],
                capture_output=True, text=True, timeout=120, env=env, check=False)
            assert done.returncode == 0, f"{peer} app failed:\n{done.stderr[-3000:]}"
        cache[peer] = (out, json.loads(truth_file.read_text()))
        return cache[peer]

    return run  # type: ignore[return-value]


def _items(peer_exports: Any, peer: str, app: str, tmp_path: Path) -> tuple[list[FAItem], dict[str, Any]]:
    path, truth = peer_exports(peer)
    if app not in truth:
        pytest.skip(f"{peer} was recorded without the {app} app")
    api = TracesAPI(SpanStore(tmp_path / "traces.db"))
    api.import_file(path)
    expected = truth[app]
    return [api.reconstruct(trace_id, timeout_s=0) for trace_id in expected["trace_ids"]], expected


ALL_PEERS = [*LIVE_PEERS, *RECORDED_PEERS]


@pytest.mark.parametrize("peer", ALL_PEERS)
@pytest.mark.parametrize("app", APPS)
def test_peer_trace_reconstructs_to_what_the_app_saw(peer_exports: Any, peer: str, app: str, tmp_path: Path) -> None:
    items, truth = _items(peer_exports, peer, app, tmp_path)
    if app == "agent" and peer in TRACES_AGENT_CONSTRUCTION:
        built = [item for item in items if item.metadata[TraceFacts.LLM_CALL_COUNT] == 0]
        assert len(built) == 1 and built[0].input == built[0].output == ""  # nothing ran in it
        items = [item for item in items if item is not built[0]]
        truth = {**truth, "trace_ids": [items[0].trace_id]}
    if len(items) > 1:
        # No app span joins the model calls: each call is its own trace. The last one holds the answer.
        assert peer not in TRACES_APP_STEPS
        _check_split_tool_loop(items, truth)
        return
    item = items[0]
    facts = item.metadata
    assert item.trace_id == truth["trace_ids"][0]
    assert item.input == truth["question"]
    assert item.output == truth["answer"]
    assert item.context == _expected_context(peer, truth)
    assert [(c.id, c.name, c.arguments, c.output, c.executed, c.error) for c in item.tool_calls] == \
        [(c["id"], c["name"], c["arguments"], c["output"], True, None) for c in truth["tool_calls"]]
    assert facts[TraceFacts.LLM_CALL_COUNT] == truth["llm_calls"]
    # Streamed through LangChain, these peers record the requested model only (the response's is in no attribute).
    recorded_model = "request_model" if app == "stream" and peer in STREAM_REQUEST_MODEL_ONLY else "model"
    assert facts[TraceFacts.MODELS] == [truth[recorded_model]]
    assert facts[TraceFacts.FINISH_REASONS] == [finish_reason(r) for r in truth["finish_reasons"]]
    assert facts[TraceFacts.TOKEN_USAGE] == {"input_tokens": truth["input_tokens"],
                                             "output_tokens": truth["output_tokens"]}
    assert facts[TraceFacts.SYSTEM_PROMPT] == truth["system_prompt"]
    assert facts[TraceFacts.ERROR_SPANS] == []
    assert facts[TraceFacts.CONTENT_CAPTURED] is True
    assert facts[TraceFacts.USER_TURNS] == [truth["question"]]
    if "call_outputs" in truth:  # what each model call answered or asked for (truth files since they record it)
        assert [(c["output"], c["tool_requests"]) for c in facts[TraceFacts.LLM_CALLS]] == \
            list(zip(truth["call_outputs"], truth["call_tool_requests"]))
    if app in ("tools", "agent") and peer in RECORDS_TOOL_DEFINITIONS:
        assert [d["name"] for d in facts[TraceFacts.TOOL_DEFINITIONS]] == ["multiply"]
        assert facts[TraceFacts.TOOL_DEFINITIONS][0]["parameters"]["required"] == ["a", "b"]
    if app in ("tools", "agent") and peer in TRACES_APP_STEPS:
        assert item.tool_calls[0].span_id is not None  # joined with the tool's own span


def _expected_context(peer: str, truth: dict[str, Any]) -> list[str]:
    """The retrieved documents, as far as the peer's trace records them."""
    if not truth["documents"] or peer not in TRACES_APP_STEPS:
        return []  # no retrieval, or no span says one happened
    if CONTEXT_ELSEWHERE.get(peer) == "prompt variable":
        return [truth["context_variable"]]  # the documents as the template got them: one text
    if CONTEXT_ELSEWHERE.get(peer) == "messages":
        return [truth["system_prompt"]]  # the message that carried them, instructions and all
    return list(dict.fromkeys(truth["documents"]))


def _check_split_tool_loop(items: list[FAItem], truth: dict[str, Any]) -> None:
    request_item, answer_item = sorted(items, key=lambda item: item.output != "")
    expected = truth["tool_calls"][0]
    # The first trace only shows the request: nothing in it says the tool ran, so nothing is invented.
    assert request_item.output == ""
    assert [(c.id, c.name, c.arguments, c.output, c.executed) for c in request_item.tool_calls] == \
        [(expected["id"], "multiply", expected["arguments"], None, False)]
    # The second trace was sent the tool's result: that is the recorded output.
    assert answer_item.input == truth["question"]
    assert answer_item.output == truth["answer"]
    assert [(c.id, c.name, c.arguments, c.output, c.executed) for c in answer_item.tool_calls] == \
        [(expected["id"], "multiply", expected["arguments"], expected["output"], True)]


def test_a_peer_that_records_no_content_is_analyzed_for_span_level_failures_only(peer_exports: Any,
                                                                                tmp_path: Path) -> None:
    """opentelemetry-instrumentation-openai-v2 as installed records no messages: its traces hold the model,
    usage and finish reasons but no text, and an unrecorded answer must not be called an empty one."""
    items, truth = _items(peer_exports, NO_CONTENT_PEER, "chat", tmp_path)
    item = items[0]
    assert (item.input, item.output, item.metadata[TraceFacts.CONTENT_CAPTURED]) == ("", "", False)
    assert item.metadata[TraceFacts.MODELS] == [truth["model"]]
    analysis = engine.analyze_item(item, 0, engine.AnalysisOptions())
    assert [t.subcategory_id for t in analysis.tags if t.decision != "pass"] == []
    assert {s.detector for s in analysis.detectors_skipped} >= {"empty_output", "content_grounding"}


def test_protobuf_export_reconstructs_like_the_json_one(peer_exports: Any, tmp_path: Path) -> None:
    path, truth = peer_exports("openinference")
    from_json = TracesAPI(SpanStore(tmp_path / "json.db"))
    from_json.import_file(path)
    from_protobuf = TracesAPI(SpanStore(tmp_path / "pb.db"))
    result = from_protobuf.import_file(path.with_suffix(".pb"))
    assert result.format == "otlp-protobuf"
    for app in ("chat", "rag", "tools"):
        trace_id = truth[app]["trace_ids"][0]
        assert from_protobuf.reconstruct(trace_id, timeout_s=0) == from_json.reconstruct(trace_id, timeout_s=0)


def test_legacy_events_are_read_from_log_records() -> None:
    from valiqor_trace.analyzer.sources import read_trace_file

    spans = read_trace_file(FIXTURES / "genai-events.jsonl").spans
    names = {event.name for span in spans for event in span.events}
    # The messages exist nowhere but in these events: reconstruction above could only come from them.
    assert {"gen_ai.system.message", "gen_ai.user.message", "gen_ai.choice"} <= names
    assert not any("gen_ai.input.messages" in span.attributes for span in spans)
