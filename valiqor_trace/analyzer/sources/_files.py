"""Read a trace file of any supported format into span records, as a stream of batches or whole.

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

JSON is read as it streams: line by line, or value by value when values span lines;
length-prefixed protobuf message by message. :func:`iter_trace_batches` hands the records on
in batches as they are read, so memory holds a batch (and the value being read), not the file.
A single JSON document or a single protobuf message is still read whole: the format gives it no
boundaries to stream on. Any error stops the read and names the file and the line (and the column
inside a value that spans lines), or the record, and the field: the importer rolls back what it
was given, so a file is imported whole or not at all.
"""

from __future__ import annotations

import codecs
import gzip
import itertools
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
BATCH_RECORDS = 2000  # spans and log records a batch holds (before the value that passes it is added)


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


@dataclass
class TraceBatch:
    """Spans and span-bound log records read from a file, in file order; ``format`` as judged so far."""

    format: str
    spans: list[SpanRecord]
    logs: list[LogRecord]


def read_trace_file(path: str | os.PathLike[str], *,
                    reading: Callable[[BinaryIO, int], BinaryIO] | None = None) -> TraceFile:
    """Every span in ``path``, held in memory (see :func:`iter_trace_batches` for a file too big for that).

    ``reading(file, size)``, when given, wraps the open file (e.g. to show a progress bar in bytes).

    Raises:
        ImportFormatError: naming the file, the line or record, and what is wrong.
        FileNotFoundError: when there is no such file.
    """
    spans: list[SpanRecord] = []
    logs: list[LogRecord] = []
    file_format = "spans-json"
    for batch in iter_trace_batches(path, reading=reading):
        spans.extend(batch.spans)
        logs.extend(batch.logs)
        file_format = batch.format
    return TraceFile(path=os.fspath(path), format=file_format, records=spans, logs=logs)


def iter_trace_batches(path: str | os.PathLike[str], *, reading: Callable[[BinaryIO, int], BinaryIO] | None = None,
                       batch_records: int = BATCH_RECORDS) -> Iterator[TraceBatch]:
    """The spans and log records of ``path`` in batches of about ``batch_records``, as the file is read.

    A batch is handed on once it holds ``batch_records`` or more: one line or value holding more
    records than that makes one larger batch. A bad record raises when it is reached, after the
    batches before it; a caller that must store all or nothing rolls those back.

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
            yield from _read(_Collector(name, batch_records), name.lower(), raw)
            return
        raw.seek(0)
        # Compressed exports (the collector's file exporter with compression: gzip, `*.jsonl.gz`):
        # the format is told apart by the name without `.gz` and by the decompressed first bytes.
        with gzip.GzipFile(fileobj=raw) as handle:
            try:
                yield from _read(_Collector(name, batch_records), name.lower().removesuffix(".gz"), handle)
            except (OSError, EOFError, zlib.error) as exc:
                raise ImportFormatError(name, None, f"not a readable gzip file ({exc}); is it truncated?") from None


def _read(collector: _Collector, inner: str, handle: BufferedIOBase) -> Iterator[TraceBatch]:
    """``inner``: the lower-cased name the format is judged by (without a compression suffix)."""
    name = collector.name
    head = handle.read(_SNIFF_BYTES)
    handle.seek(0)
    if inner.endswith(PROTOBUF_EXTENSIONS) or not _looks_like_text(head):
        if inner.endswith((".json", ".jsonl", ".ndjson")):
            raise ImportFormatError(name, "line 1", "not JSON text (binary or not UTF-8); a JSON trace file "
                                    "starts with '{' or '['")
        collector.format = "otlp-protobuf"
        yield from _read_protobuf(collector, handle)
    else:
        first = head.lstrip()[:1]
        if not first:
            raise ImportFormatError(name, None, "the file is empty")
        if first not in (b"{", b"["):
            line = head[: len(head) - len(head.lstrip())].count(b"\n") + 1
            raise ImportFormatError(name, f"line {line}", f"not JSON: starts with {first!r}; expected '{{' or '[' "
                                    "(OTLP JSON, JSON lines, or a JSON list of spans)")
        yield from _read_json(collector, handle)
    yield from collector.finish()


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # a multi-byte character cut by the sniff window
    return True


def _read_json(collector: _Collector, handle: BufferedIOBase) -> Iterator[TraceBatch]:
    name = collector.name
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
                yield from _read_json_values(collector, handle)
                return
            raise ImportFormatError(name, f"line {number}", f"invalid JSON ({_json_reason(exc)})") from None
        first_line = first_line or number
        _check_unicode(name, f"line {number}", text, document)
        yield from collector.add(document, f"line {number}")
    if first_line is None:
        raise ImportFormatError(name, None, "the file is empty")


def _read_json_values(collector: _Collector, handle: BufferedIOBase) -> Iterator[TraceBatch]:
    """JSON values one after another, each over any number of lines (``ConsoleSpanExporter`` output),
    or one document: read as they stream, each named by the line it starts on."""
    for line, text, document in _json_values(collector.name, handle):
        _check_unicode(collector.name, f"line {line}", text, document)
        yield from collector.add(document, f"line {line}")


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


def _read_protobuf(collector: _Collector, handle: BufferedIOBase) -> Iterator[TraceBatch]:
    """Length-prefixed requests one at a time, as the collector's file exporter writes them; else one request.

    Several requests in one file: the collector's file exporter (`format: proto`) puts a 4-byte big-endian
    length before each; the OTLP file-exporter spec writes them varint-delimited. The framing is told by
    the first message: its length must cut out a request that parses and holds spans (a single request
    starts with a field tag, never with the 0 byte a 4-byte length of under 16 MiB starts with).
    """
    from google.protobuf.json_format import MessageToDict

    for frames in (_uint32_frames, _varint_frames):
        handle.seek(0)
        messages = _framed(collector.name, handle, frames)
        first = next(messages, None)
        if first is not None:
            for number, message in enumerate(itertools.chain([first], messages), start=1):
                yield from collector.add(MessageToDict(message), f"record {number}")
            return
    handle.seek(0)
    data = handle.read()  # one request: protobuf gives no boundary inside it to stream on
    message, error = _single_message(data)
    if message is None:
        raise ImportFormatError(collector.name, "record 1", f"not an OTLP protobuf ExportTraceServiceRequest "
                                f"({error}), nor a sequence of length-prefixed ones; for JSON use a .json or "
                                ".jsonl name")
    del data
    yield from collector.add(MessageToDict(message), "record 1")


def _parse_request(data: bytes) -> Any:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    return ExportTraceServiceRequest.FromString(data)


def _single_message(data: bytes) -> tuple[Any | None, str]:
    from google.protobuf.message import DecodeError

    try:
        return _parse_request(data), ""
    except (DecodeError, ValueError, RuntimeError) as exc:
        return None, str(exc)


def _framed(name: str, handle: BufferedIOBase, frames: Callable[[BufferedIOBase], Iterator[bytes | None]]
            ) -> Iterator[Any]:
    """The requests ``frames`` cuts ``handle`` into; nothing when the first does not parse and hold spans.

    Past the first, a frame that is cut short, does not parse or holds no spans raises naming it.
    """
    from google.protobuf.message import DecodeError

    for number, chunk in enumerate(frames(handle), start=1):
        problem = "its length runs past the end of the file; is the file truncated?" if chunk is None else ""
        message = None
        if chunk is not None:
            try:
                message = _parse_request(chunk)
            except (DecodeError, ValueError, RuntimeError) as exc:
                problem = f"not an OTLP protobuf ExportTraceServiceRequest ({exc})"
            else:
                problem = "" if message.resource_spans else "a request without resourceSpans"
        if problem:
            if number == 1:
                return
            raise ImportFormatError(name, f"record {number}", f"length-prefixed message {problem}")
        yield message


def _uint32_frames(handle: BufferedIOBase) -> Iterator[bytes | None]:
    """Each message after its 4-byte big-endian length; None for one cut short (and then stops)."""
    while prefix := handle.read(4):
        size = int.from_bytes(prefix, "big")
        chunk = _exactly(handle, size) if len(prefix) == 4 and size else None
        yield chunk
        if chunk is None:
            return


def _varint_frames(handle: BufferedIOBase) -> Iterator[bytes | None]:
    """Each message after its varint length; None for one cut short (and then stops)."""
    while first := handle.read(1):
        size, shift, byte = 0, 0, first[0]
        while True:
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            more = handle.read(1)
            if not more or shift > 35:
                yield None
                return
            byte = more[0]
        chunk = _exactly(handle, size) if size else None
        yield chunk
        if chunk is None:
            return


def _exactly(handle: BufferedIOBase, size: int) -> bytes | None:
    """The next ``size`` bytes; None when the file ends first.

    A length read from bytes that are no length (another framing, a single request) can be huge:
    whether the file is that long is checked by seeking, before reading it into memory.
    """
    if size > _CHUNK_CHARS:
        at = handle.tell()
        handle.seek(at + size - 1)
        if not handle.read(1):
            return None
        handle.seek(at)
    chunk = handle.read(size)
    return chunk if len(chunk) == size else None


class _Collector:
    """Gathers the spans and log records of one file into batches; any bad record raises with its location."""

    def __init__(self, name: str, batch_records: int = BATCH_RECORDS) -> None:
        self.name = name
        self.format: str | None = None
        self.batch_records = batch_records
        self.spans: list[SpanRecord] = []
        self.logs: list[LogRecord] = []
        self.seen = False

    def add(self, document: Any, location: str | None) -> Iterator[TraceBatch]:
        """Read ``document``; the batch, when it is full."""
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
        if len(self.spans) + len(self.logs) >= self.batch_records:
            yield self._take()

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

    def _take(self) -> TraceBatch:
        batch = TraceBatch(format=self.format or "spans-json", spans=self.spans, logs=self.logs)
        self.seen = self.seen or bool(self.spans or self.logs)
        self.spans, self.logs = [], []
        return batch

    def finish(self) -> Iterator[TraceBatch]:
        """The last batch; raises when the file held no span nor log record at all."""
        if not self.seen and not self.spans and not self.logs:
            raise ImportFormatError(self.name, None, "no spans found (expected OTLP resourceSpans or span records)")
        if self.spans or self.logs:
            yield self._take()
