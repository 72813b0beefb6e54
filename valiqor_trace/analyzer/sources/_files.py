"""Read a trace file of any supported format into span records, all or nothing.

Formats, told apart by extension and first bytes:

- OTLP JSON lines (the collector ``file`` exporter: one ``{"resourceSpans": ...}``
  per line, log lines ``{"resourceLogs": ...}`` interleaved), or one OTLP JSON document;
- what the OTel SDK prints: ``ConsoleSpanExporter`` / ``ConsoleLogExporter`` output (pretty-printed
  ``to_json()`` objects one after another), or JSON lines of ``to_json(indent=None)``;
- OTLP protobuf (a serialized ``ExportTraceServiceRequest`` / ``TracesData``, or a sequence of them,
  each after its length: 4 bytes big-endian as the collector's file exporter writes, or a varint;
  ``.pb``, ``.binpb``, ``.protobuf``, or any file that is not text);
- flat span lists: a JSON array of span dicts, or JSON lines with one span per line;
- nested exports: ``{"trace_id", "spans": [...]}`` with children under ``child_spans``;
- any of these gzip-compressed (``.gz``), told apart by the gzip magic bytes.

JSON is read as it streams: line by line, or value by value when values span lines.
Any error stops the read and names the file and the line (and the column inside a
value that spans lines), and the record path and field: a file is imported whole or not at all.
"""

from __future__ import annotations

import codecs
import gzip
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from io import BufferedIOBase
from typing import Any, BinaryIO

from valiqor_trace.errors import ImportFormatError
from valiqor_trace.analyzer.sources._decode import LONE_SURROGATE, FieldError, lone_surrogate_path
from valiqor_trace.analyzer.sources._flat import span_from_dict, spans_of_document
from valiqor_trace.analyzer.sources._otlp import RecordError, is_otlp, parse_otlp
from valiqor_trace.analyzer.sources._sdk_json import is_sdk_log, is_sdk_span, log_from_sdk_json, span_from_sdk_json
from valiqor_trace.store import LogRecord, SpanRecord, attach_logs

PROTOBUF_EXTENSIONS = (".pb", ".binpb", ".protobuf", ".proto.bin")
_SNIFF_BYTES = 4096
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_CHARS = 1 << 16
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass
class TraceFile:
    """The spans and span-bound log records read from one file.

    Attributes:
        records: the spans as the file has them (what the store keeps).
        logs: the log records that name a span.
        spans: the spans as readers see them: each with its log records among its events.
    """

    path: str
    format: str  # otlp-json | otlp-protobuf | sdk-json | spans-json
    records: list[SpanRecord]
    logs: list[LogRecord] = field(default_factory=list)

    @cached_property
    def spans(self) -> list[SpanRecord]:
        return attach_logs(self.records, self.logs)

    @property
    def trace_ids(self) -> list[str]:
        return sorted({span.trace_id for span in self.records} | {log.trace_id for log in self.logs})


def read_trace_file(path: str | os.PathLike[str], *,
                    reading: Callable[[BinaryIO, int], BinaryIO] | None = None) -> TraceFile:
    """Every span in ``path``.

    ``reading(file, size)``, when given, wraps the open file (e.g. to show a progress bar in bytes).

    Raises:
        ImportFormatError: naming the file, the line or record, and what is wrong.
        FileNotFoundError: when there is no such file.
    """
    name = os.fspath(path)
    with open(name, "rb") as opened:
        # a wrapper only needs read/readline/seek/iteration, as every reader below uses it
        raw: Any = reading(opened, os.fstat(opened.fileno()).st_size) if reading else opened
        if raw.read(2) != _GZIP_MAGIC:
            raw.seek(0)
            return _read(name, name.lower(), raw)
        raw.seek(0)
        # Compressed exports (the collector's file exporter with compression: gzip, `*.jsonl.gz`):
        # the format is told apart by the name without `.gz` and by the decompressed first bytes.
        with gzip.GzipFile(fileobj=raw) as handle:
            try:
                return _read(name, name.lower().removesuffix(".gz"), handle)
            except (OSError, EOFError, zlib.error) as exc:
                raise ImportFormatError(name, None, f"not a readable gzip file ({exc}); is it truncated?") from None


def _read(name: str, inner: str, handle: BufferedIOBase) -> TraceFile:
    """``inner``: the lower-cased name the format is judged by (without a compression suffix)."""
    head = handle.read(_SNIFF_BYTES)
    handle.seek(0)
    if inner.endswith(PROTOBUF_EXTENSIONS) or not _looks_like_text(head):
        if inner.endswith((".json", ".jsonl", ".ndjson")):
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


def _read_json(name: str, handle: BufferedIOBase) -> TraceFile:
    collector = _Collector(name)
    first_line: int | None = None
    for number, raw in enumerate(handle, start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
            document = json.loads(text)
        except UnicodeDecodeError as exc:
            raise ImportFormatError(name, f"line {number}", f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        except RecursionError:
            raise ImportFormatError(name, f"line {number}", "the JSON is nested too deeply to read") from None
        except ValueError as exc:
            if first_line is None:  # values over several lines: a pretty-printed document, or console output
                handle.seek(0)
                return _read_json_values(name, handle)
            raise ImportFormatError(name, f"line {number}", f"invalid JSON ({_json_reason(exc)})") from None
        first_line = first_line or number
        _check_unicode(name, f"line {number}", text, document)
        collector.add(document, f"line {number}")
    if first_line is None:
        raise ImportFormatError(name, None, "the file is empty")
    return collector.result()


def _read_json_values(name: str, handle: BufferedIOBase) -> TraceFile:
    """JSON values one after another, each over any number of lines (``ConsoleSpanExporter`` output),
    or one document: read as they stream, each named by the line it starts on."""
    collector = _Collector(name)
    for line, text, document in _json_values(name, handle):
        _check_unicode(name, f"line {line}", text, document)
        collector.add(document, f"line {line}")
    return collector.result()


def _json_values(name: str, handle: BufferedIOBase) -> Iterator[tuple[int, str, Any]]:
    """(line it starts on, its text, the value) for each top-level JSON value in ``handle``.

    Holds one value (and a chunk) in memory, not the file. A value still incomplete
    is retried once the text read has doubled, so a large one costs linear time.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buffer, at, line, eof, retry_at = "", 0, 1, False, 0
    while True:
        skipped = _WHITESPACE.match(buffer, at).end()  # type: ignore[union-attr]  # matches the empty string
        line += buffer.count("\n", at, skipped)
        at = skipped
        if not eof and (at == len(buffer) or len(buffer) - at < retry_at):
            buffer, at, eof = _read_more(name, handle, utf8, buffer, at, line)
            continue
        if at == len(buffer):
            return
        try:
            document, end = decoder.raw_decode(buffer, at)
        except RecursionError:
            raise ImportFormatError(name, f"line {line}", "the JSON is nested too deeply to read") from None
        except json.JSONDecodeError as exc:
            if not eof:
                retry_at = 2 * (len(buffer) - at)
                continue
            column = exc.pos - max(buffer.rfind("\n", 0, exc.pos), at - 1)
            raise ImportFormatError(name, f"line {line + buffer.count(chr(10), at, exc.pos)}, column {column}",
                                    f"invalid JSON ({exc.msg}); is the file truncated?") from None
        if end == len(buffer) and not eof and not isinstance(document, (dict, list)):
            retry_at = len(buffer) - at + 1  # a number or literal may go on in the next chunk
            continue
        retry_at = 0
        yield line, buffer[at:end], document
        line += buffer.count("\n", at, end)
        at = end


def _read_more(name: str, handle: BufferedIOBase, utf8: codecs.IncrementalDecoder, buffer: str, at: int,
               line: int) -> tuple[str, int, bool]:
    """The unread rest of ``buffer`` with the next chunk of ``handle`` after it; and whether the file ended."""
    chunk = handle.read(_CHUNK_CHARS)
    try:
        text = utf8.decode(chunk, final=not chunk)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(name, f"line {line + buffer.count(chr(10), at)} or after",
                                f"not UTF-8 text ({exc.reason})") from None
    return buffer[at:] + text, 0, not chunk


def _check_unicode(name: str, location: str | None, text: str, document: Any) -> None:
    bad = lone_surrogate_path(text, document)
    if bad is not None:
        where = ", ".join(part for part in (location, f"record {bad}") if part)
        raise ImportFormatError(name, where, LONE_SURROGATE)


def _json_reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}; is the line truncated?"
    return str(exc)


def _read_protobuf(name: str, handle: BufferedIOBase) -> TraceFile:
    from google.protobuf.json_format import MessageToDict

    data = handle.read()
    collector = _Collector(name, file_format="otlp-protobuf")
    messages, error = _single_message(data)
    if messages is None or not any(m.resource_spans for m in messages):
        # Several requests in one file: the collector's file exporter (`format: proto`) puts a 4-byte
        # big-endian length before each; the OTLP file-exporter spec writes them varint-delimited.
        messages = _framed(data, _uint32_frames) or _framed(data, _varint_frames) or messages
    if messages is None:
        raise ImportFormatError(name, "record 1", f"not an OTLP protobuf ExportTraceServiceRequest ({error}), nor "
                                "a sequence of length-prefixed ones; for JSON use a .json or .jsonl name")
    for number, message in enumerate(messages, start=1):
        collector.add(MessageToDict(message), f"record {number}")
    return collector.result()


def _parse_request(data: bytes) -> Any:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    return ExportTraceServiceRequest.FromString(data)


def _single_message(data: bytes) -> tuple[list[Any] | None, str]:
    from google.protobuf.message import DecodeError

    try:
        return [_parse_request(data)], ""
    except (DecodeError, ValueError, RuntimeError) as exc:
        return None, str(exc)


def _framed(data: bytes, frames: Callable[[bytes], list[bytes] | None]) -> list[Any] | None:
    """The requests when ``frames(data)`` cuts ``data`` exactly into messages that all parse and hold spans."""
    from google.protobuf.message import DecodeError

    chunks = frames(data)
    if not chunks:
        return None
    try:
        messages = [_parse_request(chunk) for chunk in chunks]
    except (DecodeError, ValueError, RuntimeError):
        return None
    return messages if all(m.resource_spans for m in messages) else None


def _uint32_frames(data: bytes) -> list[bytes] | None:
    chunks, at = [], 0
    while at < len(data):
        if at + 4 > len(data):
            return None
        size = int.from_bytes(data[at:at + 4], "big")
        at += 4
        if size == 0 or at + size > len(data):
            return None
        chunks.append(data[at:at + size])
        at += size
    return chunks


def _varint_frames(data: bytes) -> list[bytes] | None:
    chunks, at = [], 0
    while at < len(data):
        size, shift = 0, 0
        while True:
            if at >= len(data) or shift > 35:
                return None
            byte = data[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if size == 0 or at + size > len(data):
            return None
        chunks.append(data[at:at + size])
        at += size
    return chunks


class _Collector:
    """Accumulates the spans and log records of one file; any bad record raises with its location."""

    def __init__(self, name: str, file_format: str | None = None) -> None:
        self.name = name
        self.format = file_format
        self.spans: list[SpanRecord] = []
        self.logs: list[LogRecord] = []

    def add(self, document: Any, location: str | None) -> None:
        try:
            if is_otlp(document):
                self.format = self.format or "otlp-json"
                batch = parse_otlp(document)
                self.spans.extend(batch.spans)
                self.logs.extend(batch.logs)
            elif is_sdk_span(document) or is_sdk_log(document):
                self.format = self.format or "sdk-json"
                self._add_sdk(document)
            else:
                self.format = self.format or "spans-json"
                self._add_flat(document)
        except RecordError as exc:
            where = ", ".join(part for part in (location, f"record {exc.path}") if part)
            raise ImportFormatError(self.name, where, exc.reason) from None
        except RecursionError:
            raise ImportFormatError(self.name, location, "a record is nested too deeply to read") from None

    def _add_sdk(self, document: Mapping[str, Any]) -> None:
        kind = "span" if is_sdk_span(document) else "log record"
        try:
            if kind == "span":
                self.spans.append(span_from_sdk_json(document))
            else:
                log = log_from_sdk_json(document)
                if log is not None:
                    self.logs.append(log)
        except (FieldError, TypeError, ValueError) as exc:
            raise RecordError(f"{kind} {document.get('name') or ''}".strip(), exc) from None

    def _add_flat(self, document: Any) -> None:
        default_trace = document.get("trace_id") if isinstance(document, Mapping) else None
        for path, item, parent in spans_of_document(document):
            try:
                self.spans.append(span_from_dict(item, nesting_parent=parent, default_trace_id=default_trace))
            except (FieldError, TypeError, ValueError) as exc:
                raise RecordError(path, exc) from None

    def result(self) -> TraceFile:
        if not self.spans and not self.logs:
            raise ImportFormatError(self.name, None, "no spans found (expected OTLP resourceSpans or span records)")
        return TraceFile(path=self.name, format=self.format or "spans-json", records=self.spans, logs=self.logs)
