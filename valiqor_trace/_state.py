"""Process-wide state: the active handle and the tracer our own spans use."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from opentelemetry import trace

if TYPE_CHECKING:
    from valiqor_trace._init import ValiqorHandle

TRACER_NAME = "valiqor_trace"
lock = threading.RLock()
_handle: ValiqorHandle | None = None


def get_handle() -> ValiqorHandle | None:
    return _handle


def set_handle(handle: ValiqorHandle | None) -> None:
    global _handle
    _handle = handle


def tracer() -> trace.Tracer:
    """Our tracer on the provider ``init()`` chose (the global one before ``init()``)."""
    handle = _handle
    provider = handle.tracer_provider if handle is not None and handle.active else None
    return trace.get_tracer(TRACER_NAME, _version(), tracer_provider=provider)


def _version() -> str:
    from valiqor_trace import __version__

    return __version__
