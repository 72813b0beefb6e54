"""Runs that are not recorded cost (almost) nothing, and what runs inside them is not recorded either.

"Not recorded": the sampler drops the run's root, ``suppress_instrumentation()``, or
``OTEL_SDK_DISABLED``. Counting seams on our own serialization and message conversion show
that none of it runs; ``record_unsampled`` monitoring still records the whole tree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)

import valiqor_trace
from tests.instrumentors.langchain.fakes import FakeOpenAI, assert_one_tree, chat_model, rag_chain
from valiqor_trace import _content
from valiqor_trace.instrumentors import _genai
from valiqor_trace.instrumentors import langchain as _langchain_package
from valiqor_trace.instrumentors.langchain import LangChainInstrumentor, _attributes, _handler, _messages
from valiqor_trace.monitor import record_unsampled

pytest.importorskip("valiqor_trace.instrumentors.openai")
from valiqor_trace.instrumentors.openai import _chat as _openai_chat  # noqa: E402
from valiqor_trace.instrumentors.openai import _patch as _openai_patch  # noqa: E402


class DropRootsNamed(Sampler):
    """Drops root spans whose name starts with ``prefix``; samples every other root."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str, *args: Any,
                      **kwargs: Any) -> SamplingResult:
        decision = Decision.DROP if name.startswith(self.prefix) else Decision.RECORD_AND_SAMPLE
        return SamplingResult(decision, kwargs.get("attributes") or (args[1] if len(args) > 1 else None))

    def get_description(self) -> str:
        return f"DropRootsNamed({self.prefix})"


class EveryEndedSpan(SpanProcessor):
    """Keeps every ended span, sampled or not (exporters only see sampled ones)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


class Counts:
    """Counting seams on our serialization and conversion helpers (not on LangChain's code)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, int] = {}
        encoder = _content._ENCODER

        class CountingEncoder:
            def encode(_, value: Any) -> str:
                self._count("to_json")
                return encoder.encode(value)

        monkeypatch.setattr(_content, "_ENCODER", CountingEncoder())
        for module, name in ((_genai, "set_json_content"), (_genai, "put_json_content"),
                             (_attributes, "model_request"), (_attributes, "record_model_input"),
                             (_attributes, "record_model_output"), (_messages, "input_messages"),
                             (_handler, "record_documents"), (_handler, "record_query"), (_attributes, "run_name"),
                             (_openai_chat, "chat_input_messages_json"), (_openai_chat, "chat_output_messages_json")):
            monkeypatch.setattr(module, name, self._counting(name, getattr(module, name)))

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def _counting(self, name: str, function: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self._count(name)
            return function(*args, **kwargs)
        return counted


def _init(sampler: Sampler) -> tuple[Any, Any, InMemorySpanExporter, EveryEndedSpan]:
    provider = TracerProvider(sampler=sampler)
    exporter, every = InMemorySpanExporter(), EveryEndedSpan()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(every)
    handle = valiqor_trace.init(tracer_provider=provider, exporters="none", instrument=["langchain", "openai"])
    return handle, provider, exporter, every


@pytest.fixture
def sampled_out_chains() -> Iterator[tuple[InMemorySpanExporter, EveryEndedSpan]]:
    """Chain roots are dropped; any other root (an OpenAI call on its own) would be recorded."""
    handle, provider, exporter, every = _init(ParentBased(DropRootsNamed("chain ")))
    yield exporter, every
    handle.shutdown()
    provider.shutdown()


def _run(chain: Any, mode: str, question: str) -> str:
    if mode == "invoke":
        return str(chain.invoke(question))
    if mode == "ainvoke":
        return str(asyncio.run(chain.ainvoke(question)))
    if mode == "stream":
        return "".join(chain.stream(question))

    async def astream() -> str:
        return "".join([chunk async for chunk in chain.astream(question)])
    return asyncio.run(astream())


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_a_sampled_out_chain_records_nothing_and_its_openai_call_follows_it(
        sampled_out_chains: tuple[InMemorySpanExporter, EveryEndedSpan], fake: FakeOpenAI,
        monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    exporter, every = sampled_out_chains
    counts = Counts(monkeypatch)
    chain = rag_chain(chat_model(fake, stream_usage=True))
    assert _run(chain, mode, "How tall?") == "echo: How tall?"
    # The OpenAI call inside would be a recorded root of its own: it is not, so the chain's unsampled
    # span was its parent.
    assert every.spans == [] and exporter.get_finished_spans() == ()
    # The root decided once (its name was needed for the sampler); nothing under it did any work.
    assert counts.calls == {"run_name": 1}


def test_after_a_sampled_out_request_the_next_recorded_one_is_whole(fake: FakeOpenAI) -> None:
    handle, provider, exporter, _ = _init(ParentBased(DropRootsNamed("dropped")))
    try:
        chain = rag_chain(chat_model(fake))
        with valiqor_trace.trace_workflow("dropped request"):
            chain.invoke("first")
        assert exporter.get_finished_spans() == ()
        with valiqor_trace.trace_workflow("request"):
            chain.invoke("second")
        spans = exporter.get_finished_spans()
        root = assert_one_tree(spans)
        assert root.name.endswith("request")
        assert {s.instrumentation_scope.name.rsplit(".", 1)[-1] for s in spans} >= {"langchain", "openai"}
        assert len(spans) == 11  # workflow + 9 LangChain runs + the OpenAI call
    finally:
        handle.shutdown()
        provider.shutdown()


def test_always_off_records_and_serializes_nothing(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    handle, provider, exporter, every = _init(ALWAYS_OFF)
    try:
        counts = Counts(monkeypatch)
        model = chat_model(fake)
        assert rag_chain(model).invoke("quiet") == "echo: quiet"
        assert counts.calls == {"run_name": 1}
        model.invoke("a model called on its own")
        # A chat model as the root: its request attributes are what the sampler decides on; nothing else.
        assert counts.calls == {"run_name": 2, "model_request": 1}
        assert every.spans == [] and exporter.get_finished_spans() == ()
    finally:
        handle.shutdown()
        provider.shutdown()


def test_suppressed_runs_do_no_work(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    handle, provider, exporter, every = _init(ALWAYS_ON)
    try:
        counts = Counts(monkeypatch)
        with valiqor_trace.suppress_instrumentation():
            assert rag_chain(chat_model(fake)).invoke("quiet") == "echo: quiet"
        assert counts.calls == {} and every.spans == []
    finally:
        handle.shutdown()
        provider.shutdown()


def test_sdk_disabled_records_and_serializes_nothing(fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle, provider, exporter, every = _init(ALWAYS_ON)  # init() instruments nothing then
    counts = Counts(monkeypatch)
    try:
        assert rag_chain(chat_model(fake)).invoke("quiet") == "echo: quiet"
        assert counts.calls == {} and every.spans == []
    finally:
        handle.shutdown()
    # Instrumented by hand on the disabled SDK's provider: its no-op tracer decides at the root.
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        assert rag_chain(chat_model(fake)).invoke("quiet") == "echo: quiet"
        assert counts.calls == {"run_name": 1} and every.spans == [] and exporter.get_finished_spans() == ()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def _content_of(spans: Sequence[ReadableSpan]) -> list[tuple[str, list[str]]]:
    return sorted((s.name, sorted(k for k in s.attributes if k.startswith(("gen_ai.input", "gen_ai.output",
                                                                            "valiqor.input", "valiqor.output",
                                                                            "valiqor.retrieval"))))
                  for s in spans)


def test_record_unsampled_monitoring_records_the_whole_tree_as_when_sampled(fake: FakeOpenAI) -> None:
    recorded: dict[str, list[ReadableSpan]] = {}
    for label, sampler in (("sampled", ALWAYS_ON), ("unsampled", record_unsampled(ALWAYS_OFF))):
        handle, provider, exporter, every = _init(sampler)
        try:
            rag_chain(chat_model(fake)).invoke("How tall?")
            recorded[label] = list(every.spans)
        finally:
            handle.shutdown()
            provider.shutdown()
    unsampled = recorded["unsampled"]
    assert_one_tree(unsampled)
    assert not any(s.context.trace_flags.sampled for s in unsampled)
    assert _content_of(unsampled) == _content_of(recorded["sampled"])
    assert len(unsampled) == 10


# --- LangChain stops calling us under a sampled-out root -------------------------------------------------


class HandlerCalls:
    """Counts every callback LangChain delivers to our handler (our seam: the handler's own methods)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: dict[str, int] = {}
        handler = _handler.ValiqorCallbackHandler
        for name in [n for n in vars(handler) if n.startswith("on_")]:
            monkeypatch.setattr(handler, name, self._counting(name, vars(handler)[name]))

    def _counting(self, name: str, method: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)
        return counted


def _runs_of(handle: Any) -> dict[Any, Any]:
    return handle.instrumentors["langchain"].handler._runs


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_under_a_sampled_out_root_langchain_calls_our_handler_for_the_root_only(
        sampled_out_chains: tuple[InMemorySpanExporter, EveryEndedSpan], fake: FakeOpenAI,
        monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    calls = HandlerCalls(monkeypatch)
    openai_starts = Counts(monkeypatch)
    monkeypatch.setattr(_openai_patch, "_start", openai_starts._counting("openai_start", _openai_patch._start))
    chain = rag_chain(chat_model(fake, stream_usage=True))
    assert _run(chain, mode, "How tall?") == "echo: How tall?"
    # The root's start and end; its 8 descendant runs (retriever, lambda, prompt, model, parser, ...) never
    # reach the handler, and the OpenAI call inside runs without the instrumentor's span.
    assert calls.calls == {"on_chain_start": 1, "on_chain_end": 1}
    assert openai_starts.calls == {"run_name": 1}
    exporter, every = sampled_out_chains
    assert every.spans == [] and exporter.get_finished_spans() == ()


def test_a_sampled_out_chat_model_hears_nothing_after_its_start(fake: FakeOpenAI,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    handle, provider, exporter, every = _init(ALWAYS_OFF)
    try:
        calls = HandlerCalls(monkeypatch)
        assert chat_model(fake).invoke("alone").content == "echo: alone"
        assert asyncio.run(chat_model(fake).ainvoke("alone")).content == "echo: alone"
        assert calls.calls == {"on_chat_model_start": 2}  # nor its end: it was let go of before its body ran
        assert _runs_of(handle) == {} and every.spans == []
    finally:
        handle.shutdown()
        provider.shutdown()


def _mixed_requests(fake: FakeOpenAI, count: int) -> list[tuple[str, str]]:
    chain = rag_chain(chat_model(fake))

    async def one(index: int) -> tuple[str, str]:
        name = f"{'dropped' if index % 2 else 'kept'} request {index}"
        with valiqor_trace.trace_workflow(name):
            if index % 3:
                return name, str(await chain.ainvoke(f"q{index}"))
            return name, await asyncio.to_thread(chain.invoke, f"q{index}")

    async def all_of() -> list[tuple[str, str]]:
        return list(await asyncio.gather(*(one(index) for index in range(count))))
    return asyncio.run(all_of())


@pytest.mark.parametrize("letting_go", [True, False], ids=["letting-go", "langchain-keeps-calling-us"])
def test_sampled_out_and_recorded_requests_side_by_side_are_each_whole(
        fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, letting_go: bool) -> None:
    """Also when LangChain would keep calling the handler (a release that hands managers their handlers in
    another way): then the per-run bookkeeping alone keeps sampled-out trees unrecorded, at a little more cost."""
    if not letting_go:
        monkeypatch.setattr(_handler.ValiqorCallbackHandler, "let_go", lambda self, manager: None)
        monkeypatch.setattr(_langchain_package, "in_unrecorded_run", lambda: False)
    handle, provider, exporter, every = _init(ParentBased(DropRootsNamed("dropped")))
    try:
        answers = _mixed_requests(fake, 24)
        assert all(answer == f"echo: q{name.rsplit(' ', 1)[1]}" for name, answer in answers)
        spans = exporter.get_finished_spans()
        assert every.spans == list(spans)  # nothing unsampled was even recorded
        traces: dict[int, list[ReadableSpan]] = {}
        for span in spans:
            traces.setdefault(span.context.trace_id, []).append(span)
        roots = sorted(assert_one_tree(tree).name for tree in traces.values())
        assert roots == sorted(f"kept request {index}" for index in range(0, 24, 2))
        assert all(len(tree) == 11 for tree in traces.values())  # workflow + 9 LangChain runs + the OpenAI call
        assert _runs_of(handle) == {}  # no run left behind, whoever stopped hearing from whom
    finally:
        handle.shutdown()
        provider.shutdown()


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
def test_when_langchain_keeps_calling_us_a_sampled_out_tree_still_does_no_work(
        sampled_out_chains: tuple[InMemorySpanExporter, EveryEndedSpan], fake: FakeOpenAI,
        monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setattr(_handler.ValiqorCallbackHandler, "let_go", lambda self, manager: None)
    monkeypatch.setattr(_langchain_package, "in_unrecorded_run", lambda: False)
    counts = Counts(monkeypatch)
    calls = HandlerCalls(monkeypatch)
    assert _run(rag_chain(chat_model(fake, stream_usage=True)), mode, "How tall?") == "echo: How tall?"
    assert calls.calls["on_chain_start"] == 7  # LangChain did call us for every run under the root ...
    assert counts.calls == {"run_name": 1}  # ... and all the handler did was decide at the root
    exporter, every = sampled_out_chains
    assert every.spans == [] and exporter.get_finished_spans() == ()
