"""An OTLP/HTTP trace (or logs) request body -> span rows (or log rows), all checks included, no I/O.

Decoding is shared with trace files: protobuf becomes the OTLP/JSON document
(:mod:`valiqor_trace.analyzer.server._otlp_proto`) and both go through
:func:`valiqor_trace.analyzer.sources._otlp.parse_otlp`. A span with a bad field is
left out and counted (OTLP partial success) and the others kept, and so is a bad
log record; an error above the span level, or every span bad, refuses the request whole with a 400 that
names the path and the field (``resourceSpans[0].scopeSpans: expected a list, got int``).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from valiqor_trace.analyzer.server._otlp_proto import logs_request_document, request_document
from valiqor_trace.analyzer.sources._decode import LONE_SURROGATE, lone_surrogate_path
from valiqor_trace.analyzer.sources._otlp import RecordError, parse_otlp
from valiqor_trace.store import log_row, record_row

# per signal: the request message, what it holds, and its resource key (for messages)
_REQUESTS = {"traces": ("ExportTraceServiceRequest", "span", "resourceSpans"),
             "logs": ("ExportLogsServiceRequest", "log record", "resourceLogs")}


class IngestError(Exception):
    """The request cannot be accepted; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)

    def __reduce__(self) -> tuple[type, tuple[int, str]]:  # crosses the decode process boundary intact
        return IngestError, (self.status, str(self))


@dataclass
class DecodedBatch:
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    log_rows: list[tuple[Any, ...]] = field(default_factory=list)
    rejected: int = 0
    error_message: str = ""


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The body with its Content-Encoding undone, refusing more than ``limit`` bytes of output."""
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise IngestError(415, f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or none")
    inflater = zlib.decompressobj(wbits=32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    try:
        data = inflater.decompress(body, limit)
    except zlib.error as exc:
        raise IngestError(400, f"the body is not valid {encoding} data ({exc})") from None
    if inflater.unconsumed_tail or len(data) > limit:
        raise IngestError(413, f"the decompressed body exceeds the limit of {limit} bytes; send smaller batches")
    if not inflater.eof:
        raise IngestError(400, f"the {encoding} body is truncated")
    return data


def decode_body(body: bytes, encoding: str, media_type: str, limit: int, signal: str = "traces") -> DecodedBatch:
    """Decompress then decode: the whole CPU-bound part of a request (run in a thread or a decode process)."""
    return decode_request(decompress(body, encoding, limit), media_type, signal)


def decode_request(body: bytes, media_type: str, signal: str = "traces") -> DecodedBatch:
    """The rows of an ExportTraceServiceRequest (``signal`` "traces") or ExportLogsServiceRequest ("logs")
    in ``media_type`` ("protobuf" or "json"). Log records that name no span are accepted and not stored.

    Raises:
        IngestError: 400 with the reason when nothing in the request can be stored.
    """
    message_name, item, _key = _REQUESTS[signal]
    try:
        document = _protobuf_document(body, signal) if media_type == "protobuf" else _json_document(body, signal)
        batch = parse_otlp(document, keep_going=True, signals=(signal,))
    except RecursionError:
        raise IngestError(400, "the request is nested too deeply") from None
    except RecordError as exc:  # above the record level: nothing in the request can be read
        raise IngestError(400, f"invalid {message_name}: {exc}") from None
    message = str(batch.rejected[0]) if batch.rejected else ""
    if batch.rejected and not batch.spans and not batch.logs:
        raise IngestError(400, f"no {item} could be read: {message}")
    return DecodedBatch([record_row(span) for span in batch.spans], [log_row(log) for log in batch.logs],
                        len(batch.rejected), message)


def _protobuf_document(body: bytes, signal: str) -> dict[str, Any]:
    from google.protobuf.message import DecodeError

    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

        parse: Any = ExportLogsServiceRequest.FromString
    else:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        parse = ExportTraceServiceRequest.FromString
    try:
        request = parse(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise IngestError(400, f"the body is not a valid protobuf {_REQUESTS[signal][0]} ({exc}); "
                               "is it truncated, or JSON sent as application/x-protobuf?") from None
    return logs_request_document(request) if signal == "logs" else request_document(request)


def _json_document(body: bytes, signal: str = "traces") -> Mapping[str, Any]:
    try:
        text = body.decode("utf-8")  # OTLP/JSON is UTF-8 (json.loads would also guess UTF-16/32)
        document = json.loads(text)
    except UnicodeDecodeError as exc:
        raise IngestError(400, f"the body is not UTF-8 JSON ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise IngestError(400, f"the body is not valid JSON ({exc}); is it truncated?") from None
    if not isinstance(document, dict):
        raise IngestError(400, f"an OTLP JSON request is an object with '{_REQUESTS[signal][2]}', got a "
                               f"{type(document).__name__}")
    bad = lone_surrogate_path(text, document)
    if bad is not None:
        raise IngestError(400, f"{bad}: {LONE_SURROGATE}")
    return document
