"""Helpers for testing apps (and valiqor-trace itself) without a network.

- :func:`capture_spans`: ``init()`` wired to an in-memory exporter, for asserting on spans.
- ``valiqor_trace.testing.model_server``: a scripted OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import valiqor_trace

__all__ = ["InMemorySpanExporter", "capture_spans"]


@contextlib.contextmanager
def capture_spans(**init_kwargs: Any) -> Iterator[InMemorySpanExporter]:
    """``init()`` on a private provider that records finished spans in memory; shut down on exit.

    Spans are recorded synchronously, so they can be asserted on right after the call that made them.
    Extra keyword arguments go to ``init()`` (``exporters`` defaults to none, ``instrument`` to auto).
    """
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    init_kwargs.setdefault("exporters", "none")
    handle = valiqor_trace.init(tracer_provider=provider, **init_kwargs)
    try:
        yield exporter
    finally:
        handle.shutdown()
        provider.shutdown()
