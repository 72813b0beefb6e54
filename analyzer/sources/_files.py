"""Read a trace file of any supported format into span records, all or nothing.

Formats, told apart by extension and first bytes:

- OTLP JSON lines (the collector ``file`` exporter: one ``{"resourceSpans": ...}``
  per line, log lines ``{"resourceLogs": ...}`` allowed in between), or one OTLP JSON document;
- OTLP protobuf (a serialized ``ExportTraceServiceRequest`` / ``TracesData``;
  ``.pb``, ``.binpb``, ``.protobuf``, or any file that is not text);
- flat span lists: a JSON array of span dicts, or JSON lines with one span per line;
- nested exports: ``{"trace_id", "spans": [...]}`` with children under ``child_spans``.

Any error stops the read and names the file and the line (JSON lines), or the
record path and line (one document): a file is imported whole or not at all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from analyzer.errors import ImportFormatError
from analyzer.sources._decode import FieldError
from analyzer.sources._flat import span_from_dict, spans_of_document
from analyzer.sources._otlp import RecordError, attach_log_events, is_otlp, parse_otlp
from valiqor_trace.store import SpanEvent, SpanRecord

PROTOBUF_EXTENSIONS = (".pb", ".binpb", ".protobuf", ".proto.bin")
_SNIFF_BYTES = 4096


@dataclass
class TraceFile:
    """The spans read from one file."""

    path: str
    format: str  # otlp-json | otlp-protobuf | spans-json
    spans: list[SpanRecord]

    @property
    def trace_ids(self) -> list[str]:
        return sorted({span.trace_id for span in self.spans})


def read_trace_file(path: str | os.PathLike[str]) -> TraceFile:
    """Every span in ``path``.

    Raises:
        ImportFormatError: naming the file, the line or record, and what is wrong.
        FileNotFoundError: when there is no such file.
    """
    name = os.fspath(path)
    with open(name, "rb") as handle:
        head = handle.read(_SNIFF_BYTES)
        handle.seek(0)
        if name.lower().endswith(PROTOBUF_EXTENSIONS) or not _looks_like_text(head):
            if name.lower().endswith((".json", ".jsonl", ".ndjson")):
                raise ImportFormatError(name, "line 1", "not JSON text (binary or not UTF-8); a JSON trace file "
                                        "starts with '{' or '['")
            return _read_protobuf(name, handle)
        first = head.lstrip()[:1]
        if not first:
            raise ImportFormatError(name, None, "the file is empty")
        if first not in (b"{", b"["):
            line = head[: len(head) - len(head.lstrip())].count(b"\n") + 1
            raise ImportFormatError(name, f"line {line}", f"not JSON: starts with {first!r}; expected '{{' or '[' "
                                    "(OTLP JSON, JSON lines, or a JSON list of spans)")
        return _read_json(name, handle)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a multi-byte character cut by the sniff window
    return True


def _read_json(name: str, handle: IO[bytes]) -> TraceFile:
    collector = _Collector(name)
    first_line: int | None = None
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            document = json.loads(raw)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(name, f"line {number}", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        except ValueError as exc:
            if first_line is None:  # one document over several lines (pretty-printed JSON)
                handle.seek(0)
                return _read_json_document(name, handle)
            raise ImportFormatError(name, f"line {number}", f"invalid JSON ({_json_reason(exc)})") from None
        first_line = first_line or number
        collector.add(document, f"line {number}")
    if first_line is None:
        raise ImportFormatError(name, None, "the file is empty")
    return collector.result()


def _read_json_document(name: str, handle: IO[bytes]) -> TraceFile:
    try:
        document = json.loads(handle.read())
    except UnicodeDecodeError as exc:
        raise ImportFormatError(name, f"byte {exc.start}", f"not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ImportFormatError(name, f"line {exc.lineno}, column {exc.colno}",
                                f"invalid JSON ({exc.msg}); is the file truncated?") from None
    collector = _Collector(name)
    collector.add(document, None)
    return collector.result()


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}; is the line truncated?"
    return str(exc)


def _read_protobuf(name: str, handle: IO[bytes]) -> TraceFile:
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    data = handle.read()
    try:
        message = ExportTraceServiceRequest.FromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ImportFormatError(name, "record 1", f"not an OTLP protobuf ExportTraceServiceRequest ({exc}); "
                                "for JSON use a .json or .jsonl name") from None
    collector = _Collector(name, file_format="otlp-protobuf")
    collector.add(MessageToDict(message), "record 1")
    return collector.result()


class _Collector:
    """Accumulates the spans of one file; any bad record raises with its location."""

    def __init__(self, name: str, file_format: str | None = None) -> None:
        self.name = name
        self.format = file_format
        self.spans: list[SpanRecord] = []
        self.log_events: dict[tuple[str, str], list[SpanEvent]] = {}

    def add(self, document: Any, location: str | None) -> None:
        try:
            if is_otlp(document):
                self.format = self.format or "otlp-json"
                batch = parse_otlp(document)
                self.spans.extend(batch.spans)
                for key, events in batch.log_events.items():
                    self.log_events.setdefault(key, []).extend(events)
                return
            self.format = self.format or "spans-json"
            default_trace = document.get("trace_id") if isinstance(document, Mapping) else None
            for path, item, parent in spans_of_document(document):
                try:
                    self.spans.append(span_from_dict(item, nesting_parent=parent, default_trace_id=default_trace))
                except (FieldError, TypeError, ValueError) as exc:
                    raise RecordError(path, exc) from None
        except RecordError as exc:
            where = ", ".join(part for part in (location, f"record {exc.path}") if part)
            raise ImportFormatError(self.name, where, str(exc).removeprefix(f"{exc.path}: ")) from None

    def result(self) -> TraceFile:
        if not self.spans:
            raise ImportFormatError(self.name, None, "no spans found (expected OTLP resourceSpans or span records)")
        return TraceFile(path=self.name, format=self.format or "spans-json",
                         spans=attach_log_events(self.spans, self.log_events))
