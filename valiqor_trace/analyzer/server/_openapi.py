"""The OpenAPI 3.1 document of the server, built from the endpoint table and the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from valiqor_trace.analyzer.fa.models import FailureTag
from valiqor_trace.analyzer.models import FAItem
from valiqor_trace.analyzer.runs import AlertRecord, FAResult, RunInfo, RunInput, RunStatus
from valiqor_trace.analyzer.server._endpoints import Endpoint
from valiqor_trace.analyzer.server._schemas import (
    Count,
    ErrorBody,
    Health,
    ImportSummary,
    PlaygroundRequest,
    RunAccepted,
    RunRequest,
    SpanDetail,
    TracePage,
)
from valiqor_trace.store import SpanRecord, TraceSummary

_RESPONSE_MODELS = (FAResult, RunStatus, RunInfo, RunInput, AlertRecord, FailureTag, TraceSummary, SpanRecord,
                    FAItem, RunAccepted, Count, Health, ErrorBody, ImportSummary, TracePage, SpanDetail)
_REQUEST_MODELS = (RunRequest, PlaygroundRequest)
_REF = "#/components/schemas/{model}"
_SECURED_ERRORS = {
    400: ("bad parameter or body; the message names the field and the fix", "ErrorBody"),
    401: ("missing or wrong API key (Authorization: Bearer <key>)", "ErrorBody"),
}


def build_openapi(endpoints: tuple[Endpoint, ...], *, version: str, auth: bool) -> dict[str, Any]:
    """The document served at ``/openapi.json``."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in _RESPONSE_MODELS] + [(model, "validation") for model in
                                                                    _REQUEST_MODELS], ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    paths["/health"] = {"get": {"operationId": "health", "summary": "Liveness; open without a key",
                                "tags": ["server"], "security": [],
                                "responses": {"200": _json_response("the server is up", "Health")}}}
    paths["/v1/traces"] = {"post": _otlp_operation("traces")}
    paths["/v1/logs"] = {"post": _otlp_operation("logs")}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "valiqor serve", "version": version,
                 "description": "OTLP/HTTP trace and log ingest and the Failure Analysis API of ValiqorClient."},
        "paths": paths,
        "components": {"schemas": definitions.get("$defs", {})},
    }
    if auth:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
    return document


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id, "summary": endpoint.summary, "tags": [endpoint.tag],
        "parameters": [param.openapi() for param in endpoint.params],
        "responses": {str(status): _json_response(description, schema)
                      for status, (description, schema) in {**_SECURED_ERRORS, **endpoint.responses}.items()},
    }
    if endpoint.body == "file":
        operation["requestBody"] = {"required": True, "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    elif endpoint.body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": _REF.format(model=endpoint.body.__name__)}}}}
    return operation


def _json_response(description: str, schema: str | None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _schema(schema)}}}


def _schema(name: str | None) -> dict[str, Any]:
    if name is None or name == "object":
        return {"type": "object"}
    if name == "string":
        return {"type": "string"}
    if "|" in name:
        return {"anyOf": [_schema(part) for part in name.split("|")]}
    if name.startswith("list[") and name.endswith("]"):
        return {"type": "array", "items": _schema(name[5:-1])}
    return {"$ref": _REF.format(model=name)}


def _otlp_operation(signal: str) -> dict[str, Any]:
    status = {"type": "object", "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}}
    binary = {"type": "string", "format": "binary"}

    def answer(description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": status},
                                                        "application/x-protobuf": {"schema": binary}}}

    summary, refused = {
        "traces": ("OTLP/HTTP trace export (ExportTraceServiceRequest, protobuf or JSON, gzip/deflate)", "spans"),
        "logs": ("OTLP/HTTP log export (ExportLogsServiceRequest, protobuf or JSON, gzip/deflate); the records "
                 "that name a span are stored and read as events of that span", "log records"),
    }[signal]
    return {
        "operationId": f"otlp_export_{signal}", "tags": ["otlp"], "summary": summary,
        "requestBody": {"required": True, "content": {"application/x-protobuf": {"schema": binary},
                                                      "application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "200": {"description": f"committed; partialSuccess counts refused {refused}",
                    "content": {"application/json": {"schema": {"type": "object"}},
                                "application/x-protobuf": {"schema": binary}}},
            "400": answer("the body is not a readable OTLP request; nothing was stored"),
            "401": {"description": "missing or wrong API key",
                    "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}}},
            "413": answer("the body (or its decompressed size) is over the limit"),
            "415": answer("unsupported Content-Type or Content-Encoding"),
            "503": answer("back-pressure or the store is unavailable; retry after Retry-After seconds"),
        },
    }
