"""How errors travel: a typed analyzer error <-> an HTTP status and a JSON body.

The body is ``{"error": {"type": "NotFoundError", "message": "...", ...}}``
with the error's attributes (``trace_id``, ``sources``, ``retry_after_s``,
...) beside the message, so the remote client raises the same class with the
same attributes as the embedded engine would. The table lives here, in a
module without server dependencies, because both sides use it.
"""

from __future__ import annotations

from typing import Any

from valiqor_trace import errors

# Most specific first: the first class the error is an instance of decides the status.
STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (errors.AuthenticationError, 401),
    (errors.ValidationError, 400),
    (errors.NotFoundError, 404),
    (errors.TraceIncompleteError, 409),
    (errors.RunNotFinishedError, 409),
    (errors.RunFailedError, 422),
    (errors.RateLimitError, 429),
    (errors.SourceError, 502),
    (errors.ValiqorError, 400),
)
ERROR_CLASSES: dict[str, type[Exception]] = {name: getattr(errors, name) for name in errors.__all__}
_CLASS_ATTRIBUTES: dict[type[Exception], tuple[str, ...]] = {
    errors.NotFoundError: ("trace_id", "sources"),
    errors.TraceIncompleteError: ("trace_id", "span_count", "timeout_s"),
    errors.RateLimitError: ("retry_after_s",),
    errors.ImportFormatError: ("path", "location", "reason"),
    errors.RunNotFinishedError: ("run_id",),
    errors.DatasetError: ("problems",),
}
_ATTRIBUTES = tuple(dict.fromkeys(name for names in _CLASS_ATTRIBUTES.values() for name in names))


def error_status(exc: Exception) -> int:
    return next((status for cls, status in STATUS_OF if isinstance(exc, cls)), 500)


def error_body(exc: Exception) -> dict[str, Any]:
    """The JSON body of an error response (never a traceback; the message only)."""
    body: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    for name in _ATTRIBUTES:
        value = getattr(exc, name, None)
        if value is not None:
            body[name] = value
    return {"error": body}


def error_from_body(status: int, body: Any, fallback: str) -> Exception:
    """The exception an error response stands for (the client side of :func:`error_body`).

    The instance carries the server's message and attributes unchanged, so it
    reads exactly like the one the embedded engine raises.
    """
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        detail = {}
    cls = ERROR_CLASSES.get(str(detail.get("type")))
    if cls is None:
        cls = next((c for c, s in STATUS_OF if s == status), errors.ValiqorError)
    exc = cls.__new__(cls)
    Exception.__init__(exc, str(detail.get("message") or fallback))
    for owner, names in _CLASS_ATTRIBUTES.items():
        if isinstance(exc, owner):
            for name in names:
                setattr(exc, name, detail.get(name, [] if name in ("sources", "problems") else None))
    return exc
