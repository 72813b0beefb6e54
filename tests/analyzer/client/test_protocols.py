"""Embedded and remote namespaces have exactly the methods, and signatures, of their protocol.

mypy checks the same from the other side: ``ValiqorClient.failure_analysis`` and ``.traces`` return
either class as the protocol type, so a method missing or typed differently fails the type check.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import httpx
import pytest

from valiqor_trace.analyzer.client import FailureAnalysis, FailureAnalysisRun, Traces, ValiqorClient
from valiqor_trace.analyzer.client._failure_analysis import FailureAnalysisAPI
from valiqor_trace.analyzer.client._remote import RemoteFailureAnalysisAPI, RemoteRunHandle, RemoteTracesAPI
from valiqor_trace.analyzer.runs import RunHandle
from valiqor_trace.analyzer.traces_api import TracesAPI

# The embedded TracesAPI works on a local store, which it also exposes; a remote client has none.
EMBEDDED_ONLY = {TracesAPI: {"store", "sources", "close"}}
IMPLEMENTATIONS = [(FailureAnalysis, FailureAnalysisAPI), (FailureAnalysis, RemoteFailureAnalysisAPI),
                   (FailureAnalysisRun, RunHandle), (FailureAnalysisRun, RemoteRunHandle),
                   (Traces, TracesAPI), (Traces, RemoteTracesAPI)]
PROTOCOL_RETURNS = {"FailureAnalysisRun"}  # a protocol method returning a protocol: each class names its own


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


@pytest.mark.parametrize("protocol, cls", IMPLEMENTATIONS, ids=lambda v: v.__name__)
def test_the_class_has_exactly_the_protocols_methods_and_signatures(protocol: type, cls: type) -> None:
    assert _public(cls) - EMBEDDED_ONLY.get(cls, set()) == _public(protocol)
    for name in _public(protocol):
        expected, actual = getattr(protocol, name), getattr(cls, name)
        if isinstance(expected, property):
            assert isinstance(actual, property), name
            continue
        want, got = inspect.signature(expected), inspect.signature(actual)
        assert list(got.parameters.values()) == list(want.parameters.values()), f"{cls.__name__}.{name}"
        if want.return_annotation not in PROTOCOL_RETURNS:
            assert got.return_annotation == want.return_annotation, f"{cls.__name__}.{name}"


def test_both_client_modes_give_the_protocol_types(tmp_path: Path) -> None:
    embedded = ValiqorClient(home=str(tmp_path))
    remote = ValiqorClient(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    for client, fa_class, traces_class in ((embedded, FailureAnalysisAPI, TracesAPI),
                                           (remote, RemoteFailureAnalysisAPI, RemoteTracesAPI)):
        fa: FailureAnalysis = client.failure_analysis
        traces: Traces = client.traces
        assert type(fa) is fa_class and type(traces) is traces_class
        client.close()
    assert inspect.get_annotations(ValiqorClient.failure_analysis.func)["return"] == "FailureAnalysis"
    assert inspect.get_annotations(ValiqorClient.traces.func)["return"] == "Traces"
