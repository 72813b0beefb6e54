"""The client users hold: ``valiqor_trace.ValiqorClient``, and the types of its namespaces."""

from __future__ import annotations

from valiqor_trace.analyzer.client._client import ValiqorClient
from valiqor_trace.analyzer.client._protocols import FailureAnalysis, FailureAnalysisRun, Traces

__all__ = ["FailureAnalysis", "FailureAnalysisRun", "Traces", "ValiqorClient"]
