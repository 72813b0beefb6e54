"""The REST API as data: each endpoint's method, path, parameters, body and answers.

The same table builds the Starlette routes (parameter parsing, body
validation, error mapping) and the OpenAPI document, so the document
describes exactly what the server does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.server._errors import error_body, error_status
from valiqor_trace.analyzer.server._params import Param

logger = logging.getLogger("valiqor_trace.server")
_MAX_BODY = 64 * 1024 * 1024


@dataclass
class Reply:
    """A handler's answer when it is not a plain 200 JSON body."""

    payload: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Later:
    """A handler's answer that is not ready yet: awaited without holding a worker thread.

    The request waits until ``ready()`` (polled, backing off from 1 ms to 50 ms),
    then answers ``answer()``; after ``timeout_s`` it answers ``fallback()``.
    """

    ready: Callable[[], bool]
    answer: Callable[[], Any]
    timeout_s: float
    fallback: Callable[[], Any]

    async def settle(self) -> Any:
        deadline = time.monotonic() + self.timeout_s
        delay = 0.001
        while not self.ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self.fallback()
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.05)
        return self.answer()


@dataclass
class Endpoint:
    """One operation of the API.

    ``handler(state, **params, body=...)`` runs in a worker thread (the stores
    are blocking SQLite). ``body`` is a pydantic model class (a JSON body),
    ``"file"`` (a raw upload, written to a temporary file as it arrives: the handler gets
    its path, in a directory of its own, removed after) or ``None``. ``responses`` maps a status to
    (description, schema); every endpoint also answers 400 and 401.
    """

    method: str
    path: str
    operation_id: str
    summary: str
    handler: Callable[..., Any]
    params: tuple[Param, ...] = ()
    body: Any = None
    responses: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    tag: str = "fa"

    def route(self, state: Any) -> Route:
        return Route(self.path, _asgi_handler(self, state), methods=[self.method], name=self.operation_id)


def _asgi_handler(endpoint: Endpoint, state: Any) -> Callable[[Request], Any]:
    async def handle(request: Request) -> Response:
        try:
            kwargs = {p.name: p.parse(request.path_params.get(p.name) if p.where == "path"
                                      else request.query_params.get(p.name)) for p in endpoint.params}
            if endpoint.body == "file":
                with tempfile.TemporaryDirectory(prefix="valiqor-upload-") as folder:
                    kwargs["body"] = await _save_body(request, os.path.join(folder, "body"))
                    result = await run_in_threadpool(endpoint.handler, state, **kwargs)
            else:
                if endpoint.body is not None:
                    kwargs["body"] = _validated_body(endpoint.body, await _read_body(request))
                result = await run_in_threadpool(endpoint.handler, state, **kwargs)
            if isinstance(result, Later):
                result = await result.settle()
            reply = result if isinstance(result, Reply) else Reply(result)
            return json_response(reply.payload, reply.status, reply.headers)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer; bugs are logged as 500s
            return error_response(exc)

    return handle


async def _read_body(request: Request) -> bytes:
    """The body, refused as soon as it passes the limit (never buffered whole when too large)."""
    return b"".join([chunk async for chunk in _body_chunks(request)])


async def _save_body(request: Request, path: str) -> str:
    """``path``, holding the body: memory holds a chunk of it at a time, not the upload."""
    with open(path, "wb") as handle:
        async for chunk in _body_chunks(request):
            handle.write(chunk)  # to the page cache: quick enough not to need a worker thread
    return path


async def _body_chunks(request: Request) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > _MAX_BODY:
            raise ValidationError(f"the request body exceeds {_MAX_BODY // 2**20} MiB; send less (split the "
                                  "dataset into several runs, or the trace file into several files)")
        yield chunk


def _validated_body(model: type[pydantic.BaseModel], raw: bytes) -> pydantic.BaseModel:
    try:
        return model.model_validate_json(raw or b"{}")
    except pydantic.ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                             for err in exc.errors()[:5])
        raise ValidationError(f"invalid {model.__name__} body: {problems}") from None


def to_jsonable(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    return value


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(to_jsonable(payload), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_response(exc: Exception) -> Response:
    status = error_status(exc)
    if status == 500:
        logger.exception("internal error answering a request", exc_info=exc)
        body = {"error": {"type": "InternalError",
                          "message": f"internal error ({type(exc).__name__}); the server log has the details"}}
        return json_response(body, 500)
    headers = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if status == 429 and retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return json_response(error_body(exc), status, headers)
