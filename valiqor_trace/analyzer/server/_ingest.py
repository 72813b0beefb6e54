"""``POST /v1/traces`` and ``POST /v1/logs``: the OTLP/HTTP trace and log receivers.

Logs matter for the log records that name a span (the GenAI conventions' event
mode sends a model call's messages that way): they are stored beside the spans
and read as events of their span; a record that names no span is accepted and
dropped.

Any standard OTel exporter works unchanged: protobuf or JSON bodies, gzip or
deflate, the standard ``ExportTraceServiceResponse`` (with ``partial_success``
when some spans were refused), errors as ``google.rpc.Status``. Limits: 413
above ``max_body_bytes`` (checked before reading, again while reading, and on
the decompressed size); 400 with the reason for a bad body; 415 for a media
type or encoding it does not speak; 503 with ``Retry-After`` when the write
queue is full or the store cannot take the batch (exporters retry those). A
200 means the batch is committed; a batch is stored whole or not at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import BrokenExecutor, Executor
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from valiqor_trace.analyzer.server._otlp_decode import DecodedBatch, IngestError, decode_body
from valiqor_trace.analyzer.server._writer import QueueFull, SpanWriter

logger = logging.getLogger("valiqor_trace.server")
_MEDIA_TYPES = {"application/x-protobuf": "protobuf", "application/protobuf": "protobuf",
                "application/json": "json"}
_GRPC_CODES = {400: 3, 413: 8, 415: 3, 503: 14}  # INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


class OtlpReceiver:
    """The ``/v1/traces`` endpoint (``handle``), or ``/v1/logs`` with ``signal="logs"``, writing through ``writer``.

    Decoding is CPU-bound Python; with ``decode_pool`` (a process pool) it runs
    on other cores while this process parses HTTP and commits, which is what
    lets ingest use more than one core. Without one it runs in a thread.
    """

    def __init__(self, writer: SpanWriter, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 decode_pool: Executor | None = None, signal: str = "traces") -> None:
        self.writer = writer
        self.signal = signal
        self.max_body_bytes = max_body_bytes
        self.decode_pool = decode_pool

    async def handle(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        media_type = _MEDIA_TYPES.get(content_type)
        if media_type is None:
            return _status_response(415, f"Content-Type {content_type or '(none)'!r} is not OTLP; send "
                                         "application/x-protobuf or application/json", "json")
        try:
            body = await self._read(request)
            encoding = request.headers.get("content-encoding", "").strip().lower()
            batch = await self._decode(body, encoding, media_type)
        except IngestError as exc:
            return _status_response(exc.status, str(exc), media_type)
        if batch.rows or batch.log_rows:
            failure = await self._store(batch, media_type)
            if failure is not None:
                return failure
        if batch.rejected:
            logger.info("OTLP %s request: refused %d record(s): %s", self.signal, batch.rejected,
                        batch.error_message)
        return _export_response(batch, media_type, self.signal)

    async def _read(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise IngestError(413, f"the body is {declared} bytes; the limit is {self.max_body_bytes}. "
                                   "Send smaller batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise IngestError(413, f"the body exceeds the limit of {self.max_body_bytes} bytes; "
                                       "send smaller batches")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _decode(self, body: bytes, encoding: str, media_type: str) -> DecodedBatch:
        arguments = (body, encoding, media_type, self.max_body_bytes, self.signal)
        if self.decode_pool is None:
            return await run_in_threadpool(decode_body, *arguments)
        try:
            return await asyncio.wrap_future(self.decode_pool.submit(decode_body, *arguments))
        except BrokenExecutor:  # a decode process died (killed, out of memory): decode here instead
            logger.warning("the OTLP decode process pool is broken; decoding in-process")
            self.decode_pool = None
            return await run_in_threadpool(decode_body, *arguments)

    async def _store(self, batch: DecodedBatch, media_type: str) -> Response | None:
        try:
            future = self.writer.submit(batch.rows, batch.log_rows)
        except QueueFull as exc:
            return _status_response(503, str(exc), media_type, retry_after=exc.retry_after_s)
        except RuntimeError as exc:  # shutting down
            return _status_response(503, str(exc), media_type, retry_after=5)
        try:
            await asyncio.wrap_future(future)
        except Exception as exc:  # noqa: BLE001 - the store failed this batch whole; the exporter retries
            return _status_response(503, f"the span store could not take the batch ({type(exc).__name__}); "
                                         "nothing from it was stored, retry", media_type, retry_after=2)
        return None


def _export_response(batch: DecodedBatch, media_type: str, signal: str) -> Response:
    """``Export{Trace,Logs}ServiceResponse``: partial success counts ``rejectedSpans`` / ``rejectedLogRecords``."""
    field = "rejectedLogRecords" if signal == "logs" else "rejectedSpans"
    if media_type == "json":
        payload = ({"partialSuccess": {field: str(batch.rejected), "errorMessage": batch.error_message}}
                   if batch.rejected else {})
        return Response(json.dumps(payload), media_type="application/json")
    response: Any
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        response = ExportLogsServiceResponse()
        if batch.rejected:
            response.partial_success.rejected_log_records = batch.rejected
    else:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        response = ExportTraceServiceResponse()
        if batch.rejected:
            response.partial_success.rejected_spans = batch.rejected
    if batch.rejected:
        response.partial_success.error_message = batch.error_message
    return Response(response.SerializeToString(), media_type="application/x-protobuf")


def _status_response(status: int, message: str, media_type: str, *, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    code = _GRPC_CODES.get(status, 2)
    if media_type == "protobuf":
        from google.rpc.status_pb2 import Status

        return Response(Status(code=code, message=message).SerializeToString(), status_code=status,
                        headers=headers, media_type="application/x-protobuf")
    return Response(json.dumps({"code": code, "message": message}), status_code=status, headers=headers,
                    media_type="application/json")
