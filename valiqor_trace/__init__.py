"""valiqor-trace: OpenTelemetry-native tracing and failure analysis for LLM applications.

One line turns it on::

    import valiqor_trace
    valiqor_trace.init()

Everything a user imports is exported here (``__all__``); the other public modules are
``valiqor_trace.errors`` (the error tree, also exported here), ``valiqor_trace.attributes``
(span attribute keys) and ``valiqor_trace.testing`` (fakes for tests). Every other module is
internal. Names from the analyzer, the instrumentors and the trace store are imported on
first use, so ``import valiqor_trace`` and tracing never load them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from valiqor_trace._content import ContentPolicy
from valiqor_trace._context import session
from valiqor_trace._ids import normalize_trace_id
from valiqor_trace._suppress import suppress_instrumentation
from valiqor_trace._init import ValiqorHandle, force_flush, get_handle, init, shutdown
from valiqor_trace.errors import (
    AuthenticationError,
    DatasetError,
    ImportFormatError,
    JudgeAuthenticationError,
    JudgeRequestError,
    NotFoundError,
    RateLimitError,
    RunFailedError,
    RunNotFinishedError,
    ServerStartError,
    ServerUnavailableError,
    StoreUnavailableError,
    SourceError,
    TraceIncompleteError,
    ValidationError,
    ValiqorError,
)
from valiqor_trace.monitor import MonitorConfig, trace_id_selected
from valiqor_trace._retriever import retriever
from valiqor_trace._tool import tool
from valiqor_trace._version import __version__
from valiqor_trace._workflow import SpanScope, current_span_id, current_trace_id, trace_function, trace_workflow

if TYPE_CHECKING:  # what __getattr__ below imports on first use, spelled out for type checkers
    from valiqor_trace.analyzer.cli import format_result
    from valiqor_trace.analyzer.client import FailureAnalysis, FailureAnalysisRun, Traces, ValiqorClient
    from valiqor_trace.analyzer.datasets import load_dataset_file
    from valiqor_trace.analyzer.fa.models import Thresholds
    from valiqor_trace.analyzer.fa.options import FailureAnalysisOptions
    from valiqor_trace.analyzer.monitor import Alert
    from valiqor_trace.analyzer.server import serve
    from valiqor_trace.analyzer.sources import (
        ClickHouseSource,
        FileSource,
        JaegerSource,
        LocalStoreSource,
        TempoSource,
        TraceSource,
    )
    from valiqor_trace.cli._output import format_trace
    from valiqor_trace.instrumentors.langchain import LangChainInstrumentor
    from valiqor_trace.instrumentors.openai import OpenAIInstrumentor
    from valiqor_trace.store import SpanRecord, SpanStore

__all__ = [
    "Alert",
    "AuthenticationError",
    "ClickHouseSource",
    "ContentPolicy",
    "DatasetError",
    "FailureAnalysis",
    "FailureAnalysisOptions",
    "FailureAnalysisRun",
    "FileSource",
    "ImportFormatError",
    "JaegerSource",
    "JudgeAuthenticationError",
    "JudgeRequestError",
    "LangChainInstrumentor",
    "LocalStoreSource",
    "MonitorConfig",
    "NotFoundError",
    "OpenAIInstrumentor",
    "RateLimitError",
    "RunFailedError",
    "RunNotFinishedError",
    "ServerStartError",
    "ServerUnavailableError",
    "SourceError",
    "SpanRecord",
    "SpanScope",
    "SpanStore",
    "StoreUnavailableError",
    "TempoSource",
    "Thresholds",
    "TraceIncompleteError",
    "TraceSource",
    "Traces",
    "ValidationError",
    "ValiqorClient",
    "ValiqorError",
    "ValiqorHandle",
    "__version__",
    "current_span_id",
    "current_trace_id",
    "force_flush",
    "format_result",
    "format_trace",
    "get_handle",
    "init",
    "load_dataset_file",
    "normalize_trace_id",
    "retriever",
    "serve",
    "session",
    "shutdown",
    "suppress_instrumentation",
    "tool",
    "trace_function",
    "trace_id_selected",
    "trace_workflow",
]

# name -> the module that defines it, imported on first access (keep in step with TYPE_CHECKING above).
_LAZY = {
    "Alert": "valiqor_trace.analyzer.monitor",
    "ClickHouseSource": "valiqor_trace.analyzer.sources",
    "FailureAnalysis": "valiqor_trace.analyzer.client",
    "FailureAnalysisOptions": "valiqor_trace.analyzer.fa.options",
    "FailureAnalysisRun": "valiqor_trace.analyzer.client",
    "FileSource": "valiqor_trace.analyzer.sources",
    "JaegerSource": "valiqor_trace.analyzer.sources",
    "LangChainInstrumentor": "valiqor_trace.instrumentors.langchain",
    "LocalStoreSource": "valiqor_trace.analyzer.sources",
    "OpenAIInstrumentor": "valiqor_trace.instrumentors.openai",
    "SpanRecord": "valiqor_trace.store",
    "SpanStore": "valiqor_trace.store",
    "TempoSource": "valiqor_trace.analyzer.sources",
    "Thresholds": "valiqor_trace.analyzer.fa.models",
    "TraceSource": "valiqor_trace.analyzer.sources",
    "Traces": "valiqor_trace.analyzer.client",
    "ValiqorClient": "valiqor_trace.analyzer.client",
    "format_result": "valiqor_trace.analyzer.cli",
    "format_trace": "valiqor_trace.cli._output",
    "load_dataset_file": "valiqor_trace.analyzer.datasets",
    "serve": "valiqor_trace.analyzer.server",  # needs the `server` extra (starlette, uvicorn)
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'valiqor_trace' has no attribute {name!r}")
    # They ship in this wheel: an ImportError here is a bug (or a missing extra), so it is not caught.
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # the next access is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
