"""instrument() / uninstrument(): what is wrapped, put back exactly, once, and found by init()."""

from __future__ import annotations

import importlib

from opentelemetry.sdk.trace import TracerProvider
from packaging.specifiers import SpecifierSet

import valiqor_trace
from valiqor_trace.instrumentors.openai import OpenAIInstrumentor
from valiqor_trace.instrumentors.openai._instrumentor import TARGETS
from tests.instrumentors.openai import fakes
from valiqor_trace.testing import capture_spans


def _current_methods() -> dict[tuple[str, str, str], object]:
    methods = {}
    for target in TARGETS:
        try:
            owner = getattr(importlib.import_module(target.module), target.cls)
        except (ImportError, AttributeError):
            continue
        if target.method in vars(owner):
            methods[(target.module, target.cls, target.method)] = vars(owner)[target.method]
    return methods


def test_uninstrument_restores_the_original_functions(tracer_provider: TracerProvider) -> None:
    originals = _current_methods()
    # chat create/parse, embeddings, completions, the chat .stream() helper, sync+async; then the Responses API
    assert len(originals) >= (16 if fakes.RESPONSES_API else 10)
    instrumentor = OpenAIInstrumentor()

    instrumentor.instrument(tracer_provider=tracer_provider)
    wrapped = _current_methods()
    instrumentor.uninstrument()

    assert all(wrapped[key] is not originals[key] for key in originals)
    assert all(_current_methods()[key] is originals[key] for key in originals)  # identity, not equality
    assert not instrumentor.is_instrumented


def test_instrumenting_twice_wraps_once(traced) -> None:  # noqa: ANN001
    from openai.resources.chat.completions import Completions

    first = vars(Completions)["create"]
    assert traced.instrumentor.instrument(tracer_provider=traced.provider)  # warns, does nothing
    assert vars(Completions)["create"] is first
    fakes.client(fakes.json_handler(fakes.chat_completion())).chat.completions.create(
        model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
    assert len(traced.spans()) == 1


def test_clients_created_before_instrumenting_are_traced(tracer_provider, span_exporter) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(fakes.chat_completion()))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
    finally:
        instrumentor.uninstrument()
    client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)

    assert len(span_exporter.get_finished_spans()) == 1  # traced while on, silent after uninstrument()


def test_supported_versions_are_the_tested_ones() -> None:
    supported = SpecifierSet(OpenAIInstrumentor.supported_versions)
    # .ci/run's pins and the 3.x in the dev venv; below 1.40 (pyproject's floor) is not tested, so not claimed
    assert all(version in supported for version in ("1.40.0", "1.109.1", "2.54.0", "3.57.0"))
    assert not any(version in supported for version in ("0.28.1", "1.39.0", "4.0.0"))


def test_an_unsupported_version_is_left_alone(tracer_provider: TracerProvider) -> None:
    class FutureOnly(OpenAIInstrumentor):
        supported_versions = ">=99"

    originals = _current_methods()
    assert FutureOnly().instrument(tracer_provider=tracer_provider) is False
    assert _current_methods() == originals


def test_init_picks_the_instrumentor_up_and_shutdown_removes_it() -> None:
    originals = _current_methods()
    with capture_spans() as exporter:
        assert "openai" in valiqor_trace.get_handle().instrumented
        fakes.client(fakes.json_handler(fakes.chat_completion())).chat.completions.create(
            model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
        span = exporter.get_finished_spans()[0]
        assert span.name == "chat gpt-4o-mini"
        assert span.attributes["valiqor.project_name"]  # init()'s processors see our spans like any other
    assert _current_methods() == originals
