"""Fixtures: LangChain instrumented by ``valiqor_trace.init()``, spans recorded in memory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.instrumentors.langchain.fakes import FakeOpenAI, chat_model
from valiqor_trace.testing import capture_spans


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """``init(instrument=["langchain"])``: LangChain's spans only (the OpenAI client is not instrumented)."""
    with capture_spans(instrument=["langchain"]) as spans:
        yield spans


@pytest.fixture
def fake() -> FakeOpenAI:
    return FakeOpenAI()


@pytest.fixture
def model(fake: FakeOpenAI):  # noqa: ANN201 - ChatOpenAI
    return chat_model(fake)
