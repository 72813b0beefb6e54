"""Helpers for testing apps (and valiqor-trace itself) without a network: a public module.

- :func:`capture_spans`: ``init()`` wired to an in-memory exporter, for asserting on spans.
- :class:`ModelServer` (with :class:`Reply`, :class:`ToolCallSpec`, :class:`RecordedRequest`): a scripted
  OpenAI-compatible model server on 127.0.0.1 (``docs/openai.md``).
- :class:`JudgeServer` (with :class:`JudgeStep`, :class:`RecordedJudgeRequest`): a scripted
  OpenAI-compatible LLM *judge* on 127.0.0.1 (``docs/judge.md``); also
  ``python -m valiqor_trace.testing.judge_server``.

Everything here is imported from ``valiqor_trace.testing``; the servers use the standard
library only.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import valiqor_trace

if TYPE_CHECKING:  # imported on first use (below), so ``python -m valiqor_trace.testing.judge_server`` runs clean
    from valiqor_trace.testing.judge_server import JudgeServer, JudgeStep, RecordedJudgeRequest
    from valiqor_trace.testing.model_server import ModelServer, RecordedRequest, Reply, ToolCallSpec

__all__ = [
    "InMemorySpanExporter",
    "JudgeServer",
    "JudgeStep",
    "ModelServer",
    "RecordedJudgeRequest",
    "RecordedRequest",
    "Reply",
    "ToolCallSpec",
    "capture_spans",
]


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


_SERVERS = {
    "JudgeServer": "valiqor_trace.testing.judge_server",
    "JudgeStep": "valiqor_trace.testing.judge_server",
    "RecordedJudgeRequest": "valiqor_trace.testing.judge_server",
    "ModelServer": "valiqor_trace.testing.model_server",
    "RecordedRequest": "valiqor_trace.testing.model_server",
    "Reply": "valiqor_trace.testing.model_server",
    "ToolCallSpec": "valiqor_trace.testing.model_server",
}


def __getattr__(name: str) -> Any:
    module_name = _SERVERS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'valiqor_trace.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SERVERS))
