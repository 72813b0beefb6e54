"""The one guard between our code and the host application.

Instrumentation, export and ``init()`` must never raise into the app. Every
internal code path that runs inside the app's calls goes through this guard: in
production the error is logged once (per call site) and swallowed; under tests
(``VALIQOR_RAISE_INTERNAL_ERRORS=1`` or :func:`raise_internal_errors`) it is
re-raised so that bugs are seen.

Two forms of the same guard:

- :func:`handle_internal_errors`: a context manager, or a decorator
  (``@handle_internal_errors("where")``: the function returns None when its error is swallowed);
- :func:`report_internal_error`: called from an ``except`` block, for hot paths
  (every span, every stream chunk), where a bare ``try`` costs nothing until something fails.

Code that must tell a framework whether to re-raise (LangChain's ``raise_error``)
asks :func:`should_raise`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

logger = logging.getLogger("valiqor_trace")

_raise_override: bool | None = None
_logged_once: set[str] = set()
_logged_lock = threading.Lock()
_DEFAULT_MESSAGE = "valiqor-trace internal error in %s (ignored; the app is unaffected)"


def should_raise() -> bool:
    """True when internal errors are re-raised (tests), False when they are logged and swallowed (production)."""
    if _raise_override is not None:
        return _raise_override
    return os.environ.get("VALIQOR_RAISE_INTERNAL_ERRORS", "").lower() in ("1", "true", "yes")


def raise_internal_errors(value: bool | None) -> None:
    """Force internal errors to be re-raised (True), swallowed (False), or follow the env (None)."""
    global _raise_override
    _raise_override = value


def log_once(key: str, message: str, *args: object, level: int = logging.WARNING, exc_info: bool = False) -> None:
    """Log ``message`` the first time ``key`` is seen in this process, never again."""
    with _logged_lock:
        if key in _logged_once:
            return
        _logged_once.add(key)
    logger.log(level, message, *args, exc_info=exc_info)


def report_internal_error(where: str, message: str | None = None, *args: object,
                          level: int = logging.ERROR) -> None:
    """Call from an ``except`` block around our own code: re-raise (tests), or log once per ``where`` and return.

    ``message`` (with ``args``) defaults to "internal error in {where}"; the traceback is logged with it.
    """
    if should_raise():
        raise  # noqa: PLE0704 - re-raises the exception the caller is handling
    if message is None:
        message, args = _DEFAULT_MESSAGE, (where,)
    log_once(f"internal:{where}", message, *args, level=level, exc_info=True)


@contextlib.contextmanager
def handle_internal_errors(where: str) -> Iterator[None]:
    """Swallow-and-log (production) or re-raise (tests) any exception from our own code."""
    try:
        yield
    except Exception:
        report_internal_error(where)
