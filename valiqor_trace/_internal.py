"""The one guard between our code and the host application.

Instrumentation, export and ``init()`` must never raise into the app. Every
internal code path that runs inside the app's calls goes through
:func:`handle_internal_errors`: in production the error is logged once (per
call site) and swallowed; under tests (``VALIQOR_RAISE_INTERNAL_ERRORS=1`` or
:func:`raise_internal_errors`) it is re-raised so that bugs are seen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

logger = logging.getLogger("valiqor_trace")

_state = threading.local()
_raise_override: bool | None = None
_logged_once: set[str] = set()
_logged_lock = threading.Lock()


def _should_raise() -> bool:
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


@contextlib.contextmanager
def handle_internal_errors(where: str) -> Iterator[None]:
    """Swallow-and-log (production) or re-raise (tests) any exception from our own code."""
    try:
        yield
    except Exception:
        if _should_raise():
            raise
        log_once(f"internal:{where}", "valiqor-trace internal error in %s (ignored; the app is unaffected)",
                 where, level=logging.ERROR, exc_info=True)
