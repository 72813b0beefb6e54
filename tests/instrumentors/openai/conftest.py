"""Fixtures for the OpenAI instrumentor: an instrumented provider that also counts open spans."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from valiqor_trace.instrumentors.openai import OpenAIInstrumentor
from valiqor_trace.testing.model_server import ModelServer


class OpenSpanCounter(SpanProcessor):
    """Counts spans started and ended; ``open`` is what is still running."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        with self._lock:
            self.started += 1

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.ended += 1

    @property
    def open(self) -> int:
        with self._lock:
            return self.started - self.ended


@dataclass
class Traced:
    exporter: InMemorySpanExporter
    counter: OpenSpanCounter
    instrumentor: OpenAIInstrumentor
    provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def only_span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [span.name for span in spans]
        return spans[0]


@pytest.fixture
def traced(tracer_provider: TracerProvider, span_exporter: InMemorySpanExporter) -> Iterator[Traced]:
    counter = OpenSpanCounter()
    tracer_provider.add_span_processor(counter)
    instrumentor = OpenAIInstrumentor()
    assert instrumentor.instrument(tracer_provider=tracer_provider)
    yield Traced(span_exporter, counter, instrumentor, tracer_provider)
    instrumentor.uninstrument()


@pytest.fixture(autouse=True)
def _no_span_ended_twice(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The SDK warns (and ignores) a second end(); for us that is a bug."""
    caplog.set_level(logging.WARNING, logger="opentelemetry.sdk.trace")
    yield
    twice = [record for record in caplog.get_records("call") if "on an ended span" in record.getMessage()]
    assert not twice, "a span was ended more than once"


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server
