"""``client.traces`` in remote mode: import, get, list and reconstruct on the server's store."""

from __future__ import annotations

import builtins
import os
from typing import Any

from pydantic import TypeAdapter

from valiqor_trace.analyzer.client._remote._failure_analysis import _path
from valiqor_trace.analyzer.client._remote._http import RemoteSession
from valiqor_trace.errors import ImportFormatError, ValidationError
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.sources import ImportResult, TraceSource
from valiqor_trace.analyzer.traces_api import DEFAULT_TIMEOUT_S
from valiqor_trace.store import SpanRecord, TraceSummary

API = "/api/v1/traces"
_SPANS = TypeAdapter(list[SpanRecord])
_SUMMARIES = TypeAdapter(list[TraceSummary])
_ITEMS = TypeAdapter(list[FAItem])


class RemoteTracesAPI:
    """The server's traces: the methods of the embedded ``TracesAPI``, over HTTP."""

    def __init__(self, session: RemoteSession) -> None:
        self._session = session

    def add_source(self, source: TraceSource) -> None:
        """Not in remote mode: the server looks in its own store; add backends where it runs."""
        raise ValidationError("client.traces.add_source is not available with base_url: a remote client reads "
                              "the server's trace store. Export the traces to the server (OTLP), import the file "
                              "(client.traces.import_file), or use an embedded client (no base_url) for this source")

    def import_file(self, path: str | os.PathLike[str]) -> ImportResult:
        """Upload a trace file into the server's store; importing it again stores nothing twice."""
        name = os.fspath(path)
        with open(name, "rb") as handle:
            content = handle.read()
        try:
            answer = self._session.request("POST", f"{API}/import", params={"filename": os.path.basename(name)},
                                           content=content)
        except ImportFormatError as exc:  # the server saw only the name; say which file, as embedded mode does
            raise ImportFormatError(name, exc.location, exc.reason) from None
        return ImportResult(path=name, format=answer["format"], spans_read=answer["spans_read"],
                            spans_new=answer["spans_new"], trace_ids=answer["trace_ids"],
                            logs_read=answer.get("logs_read", 0), logs_new=answer.get("logs_new", 0))

    def get(self, trace_id: str, *, timeout_s: float = 0.0) -> builtins.list[SpanRecord]:
        answer = self._session.request("GET", f"{API}/{_path(trace_id)}", params={"timeout_s": timeout_s},
                                       wait_s=timeout_s)
        return _SPANS.validate_python(answer)

    def reconstruct(self, trace_id: str, *, split: str | None = None,
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> FAItem | builtins.list[FAItem]:
        answer: Any = self._session.request("GET", f"{API}/{_path(trace_id)}/reconstruct",
                                            params={"split": split, "timeout_s": timeout_s}, wait_s=timeout_s)
        return _ITEMS.validate_python(answer) if isinstance(answer, builtins.list) else FAItem.model_validate(answer)

    def list(self, *, project_name: str | None = None, start_ns: int | None = None, end_ns: int | None = None,
             has_error: bool | None = None, limit: int = 50, offset: int = 0,
             include_verdicts: bool = True) -> builtins.list[TraceSummary]:
        params = {"project_name": project_name, "start_ns": start_ns, "end_ns": end_ns, "has_error": has_error,
                  "limit": limit, "offset": offset, "include_verdicts": include_verdicts}
        return _SUMMARIES.validate_python(self._session.request("GET", API, params=params))
