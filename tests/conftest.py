"""Shared fixtures. Internal errors are re-raised under tests so that bugs are seen."""

from __future__ import annotations

import os

os.environ["VALIQOR_RAISE_INTERNAL_ERRORS"] = "1"

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import valiqor_trace
from valiqor_trace._content import ContentPolicy, set_content_policy


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> TracerProvider:
    """A private SDK provider recording finished spans in ``span_exporter``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    return provider


@pytest.fixture(autouse=True)
def _reset_valiqor_state(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    """Each test starts with no active handle, default content policy, a private VALIQOR_HOME, and none of
    the developer's own settings (a real OPENAI_API_KEY must never reach a test)."""
    for name in list(os.environ):
        if name.startswith(("VALIQOR_", "OTEL_")) and name != "VALIQOR_RAISE_INTERNAL_ERRORS" \
                or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VALIQOR_HOME", str(tmp_path / ".valiqor"))
    yield
    valiqor_trace.shutdown(timeout_ms=2000)
    set_content_policy(ContentPolicy())
