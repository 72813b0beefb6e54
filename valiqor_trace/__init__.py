"""valiqor-trace: OpenTelemetry-native tracing and failure analysis for LLM applications.

One line turns it on::

    import valiqor_trace
    valiqor_trace.init()

Everything a user needs is exported here; ``ValiqorClient`` (the analyzer) is
imported lazily so that tracing never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from valiqor_trace._content import ContentPolicy
from valiqor_trace._context import session
from valiqor_trace._ids import normalize_trace_id
from valiqor_trace._suppress import suppress_instrumentation
from valiqor_trace._init import ValiqorHandle, force_flush, get_handle, init, shutdown
from valiqor_trace.monitor import MonitorConfig
from valiqor_trace._retriever import retriever
from valiqor_trace._tool import tool
from valiqor_trace._version import __version__
from valiqor_trace._workflow import SpanScope, current_span_id, current_trace_id, trace_function, trace_workflow

if TYPE_CHECKING:
    from valiqor_trace.analyzer.client import ValiqorClient

__all__ = [
    "ContentPolicy",
    "MonitorConfig",
    "SpanScope",
    "ValiqorClient",
    "ValiqorHandle",
    "__version__",
    "current_span_id",
    "current_trace_id",
    "force_flush",
    "get_handle",
    "init",
    "normalize_trace_id",
    "retriever",
    "session",
    "shutdown",
    "suppress_instrumentation",
    "tool",
    "trace_function",
    "trace_workflow",
]

_LAZY = {"ValiqorClient": ("valiqor_trace.analyzer.client", "ValiqorClient")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        # No fallback: the analyzer ships in this package, so an import error here is a bug and is raised as is.
        module_name, attribute = _LAZY[name]
        return getattr(importlib.import_module(module_name), attribute)
    raise AttributeError(f"module 'valiqor_trace' has no attribute {name!r}")
