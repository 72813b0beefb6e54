"""The project's one internal-error guard, in a form that costs nothing on the happy path."""

from __future__ import annotations

from valiqor_trace._internal import handle_internal_errors


def report_internal_error(where: str) -> None:
    """Call from an ``except`` block around our own code.

    Applies :func:`valiqor_trace._internal.handle_internal_errors` to the exception
    being handled: re-raised under tests, logged once and swallowed in production.
    A ``try``/``except`` costs nothing until something fails, unlike entering a
    context manager on every chunk of every stream.
    """
    with handle_internal_errors(where):
        raise  # noqa: PLE0704 - re-raises the exception the caller is handling
