"""An OTLP/HTTP trace request body -> span rows, all checks included, no I/O.

Decoding is shared with trace files: protobuf becomes the OTLP/JSON document
(:mod:`analyzer.server._otlp_proto`) and both go through
:func:`analyzer.sources._otlp.parse_otlp`. A request whose every span is good
is decoded in one pass; when some span is bad, each span is decoded alone so
the good ones are kept and the bad ones counted (OTLP partial success).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzer.server._otlp_proto import request_document
from analyzer.sources._otlp import RecordError, parse_otlp
from valiqor_trace.store import SpanRecord, record_row

MAX_VALUE_DEPTH = 32  # attribute values nested deeper than this are refused (protobuf stops near there too)


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


def decode_body(body: bytes, encoding: str, media_type: str, limit: int) -> DecodedBatch:
    """Decompress then decode: the whole CPU-bound part of a request (run in a thread or a decode process)."""
    return decode_request(decompress(body, encoding, limit), media_type)


def decode_request(body: bytes, media_type: str) -> DecodedBatch:
    """The span rows of an ExportTraceServiceRequest in ``media_type`` ("protobuf" or "json").

    Raises:
        IngestError: 400 with the reason when nothing in the request can be stored.
    """
    try:
        document = _protobuf_document(body) if media_type == "protobuf" else _json_document(body)
        try:
            spans, rejected, message = parse_otlp(document).spans, 0, ""
        except RecordError:
            spans, rejected, message = _parse_each(document)
    except RecursionError:
        raise IngestError(400, "the request is nested too deeply") from None
    except RecordError as exc:
        raise IngestError(400, f"invalid ExportTraceServiceRequest: {exc}") from None
    if rejected and not spans:
        raise IngestError(400, f"no span could be read: {message}")
    good = []
    for span in spans:
        problem = _too_deep(span)
        if problem:
            rejected += 1
            message = message or f"span {span.span_id} of trace {span.trace_id}: {problem}"
        else:
            good.append(span)
    if rejected and not good:
        raise IngestError(400, f"no span could be read: {message}")
    return DecodedBatch([record_row(span) for span in good], rejected, message)


def _protobuf_document(body: bytes) -> dict[str, Any]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise IngestError(400, f"the body is not a valid protobuf ExportTraceServiceRequest ({exc}); "
                               "is it truncated, or JSON sent as application/x-protobuf?") from None
    return request_document(request)


def _json_document(body: bytes) -> Mapping[str, Any]:
    try:
        document = json.loads(body)
    except UnicodeDecodeError as exc:
        raise IngestError(400, f"the body is not UTF-8 JSON ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise IngestError(400, f"the body is not valid JSON ({exc}); is it truncated?") from None
    if not isinstance(document, dict):
        raise IngestError(400, f"an OTLP JSON request is an object with 'resourceSpans', got a "
                               f"{type(document).__name__}")
    return document


def _parse_each(document: Mapping[str, Any]) -> tuple[list[SpanRecord], int, str]:
    """Decode span by span: (good spans, how many were rejected, the first reason)."""
    spans: list[SpanRecord] = []
    rejected, first = 0, ""
    for r, entry in enumerate(document.get("resourceSpans") or document.get("resource_spans") or []):
        for s, scope_entry in enumerate(_entries(entry, "scopeSpans", "scope_spans")):
            for i, span in enumerate(_entries(scope_entry, "spans", "spans")):
                single = {"resourceSpans": [{"resource": entry.get("resource"),
                                             "scopeSpans": [{"scope": scope_entry.get("scope"), "spans": [span]}]}]}
                try:
                    spans.extend(parse_otlp(single).spans)
                except RecordError as exc:
                    rejected += 1
                    first = first or f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]: " + str(exc).split(": ", 1)[-1]
    if not rejected:  # the fast path failed above the span level: report that error
        parse_otlp(document)
    return spans, rejected, first


def _entries(container: Any, key: str, alternate: str) -> list[Any]:
    if not isinstance(container, Mapping):
        raise RecordError(key, ValueError(f"expected an object, got {type(container).__name__}"))
    value = container.get(key) if key in container else container.get(alternate)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(key, ValueError(f"field {key!r} must be a list, got {type(value).__name__}"))
    return value


def _too_deep(span: SpanRecord) -> str:
    """Why a span's attribute values are refused (nested beyond MAX_VALUE_DEPTH), or ""."""
    groups = [("attribute", span.attributes), ("resource attribute", span.resource),
              *(("event attribute", event.attributes) for event in span.events)]
    for label, attributes in groups:
        for key, value in attributes.items():
            if isinstance(value, (list, dict)) and _depth(value) > MAX_VALUE_DEPTH:
                return f"{label} {key!r} is nested deeper than {MAX_VALUE_DEPTH} levels"
    return ""


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_VALUE_DEPTH:
            return deepest
        children = current.values() if isinstance(current, dict) else current
        stack.extend((child, level + 1) for child in children if isinstance(child, (list, dict)))
    return deepest
