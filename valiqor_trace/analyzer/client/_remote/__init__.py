"""Remote mode of ``ValiqorClient``: the embedded API's methods over HTTP to a ``valiqor serve`` server."""

from __future__ import annotations

from valiqor_trace.analyzer.client._remote._failure_analysis import (
           RemoteFailureAnalysisAPI,
           RemoteRunHandle,
)
from valiqor_trace.analyzer.client._remote._http import RemoteSession
from valiqor_trace.analyzer.client._remote._traces import RemoteTracesAPI

__all__ = ["RemoteFailureAnalysisAPI", "RemoteRunHandle", "RemoteSession", "RemoteTracesAPI"]
