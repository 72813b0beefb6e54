"""The analyzer's errors: one typed hierarchy, rooted in :class:`ValiqorError`.

Every error the analyzer, its trace sources, the FA engine and the client raise
on purpose is one of these, so callers can catch ``ValiqorError`` alone. Each
message names the thing at fault (trace, file and line, item and field) and the
fix. Where a built-in exception means the same, the class also derives from it,
so ``except LookupError`` or ``except TimeoutError`` keep working::

    ValiqorError
     ├── ValidationError          (ValueError)   bad argument or item: names the item, the field, the fix
     │    └── ImportFormatError                   a trace file that cannot be read: names file and line/record
     ├── NotFoundError            (LookupError)  no source has the trace (or run); names every source tried
     ├── TraceIncompleteError     (TimeoutError) spans still arriving, but not the root span, within the timeout
     ├── SourceError                             a trace backend could not be reached or answered badly
     ├── AuthenticationError                     a backend refused the credentials (HTTP 401/403)
     ├── RateLimitError                          too many requests (HTTP 429, or a local quota); retry later
     ├── ServerStartError                        ``valiqor serve`` could not start (e.g. its port is taken)
     ├── RunFailedError                          the FA run failed; the message names the run and why
     └── RunNotFinishedError                     ``handle.result()`` before the run ended: not a failure,
                                                  ``wait()`` for it or poll ``is_running()`` first
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ImportFormatError",
    "NotFoundError",
    "RateLimitError",
    "RunFailedError",
    "RunNotFinishedError",
    "ServerStartError",
    "SourceError",
    "TraceIncompleteError",
    "ValidationError",
    "ValiqorError",
]


class ValiqorError(Exception):
    """Base of every error the analyzer raises on purpose."""


class ValidationError(ValiqorError, ValueError):
    """An argument, a dataset item or a record is not valid; the message names the field and the fix."""


class ImportFormatError(ValidationError):
    """A trace file could not be read; nothing from it was imported.

    Attributes:
        path: the file.
        location: where in it ("line 12", "record 3", "byte 40"), or ``None`` for the whole file.
        reason: what is wrong there.
    """

    def __init__(self, path: str, location: str | None, reason: str) -> None:
        self.path = path
        self.location = location
        self.reason = reason
        where = f"{path}, {location}" if location else path
        super().__init__(f"cannot import {where}: {reason} (nothing from this file was imported)")


class NotFoundError(ValiqorError, LookupError):
    """The trace (or run) is in none of the places looked at.

    Attributes:
        trace_id: the normalized id looked for.
        sources: a description of each source tried, in order.
    """

    def __init__(self, message: str, *, trace_id: str | None = None, sources: list[str] | None = None) -> None:
        self.trace_id = trace_id
        self.sources = list(sources or [])
        super().__init__(message)


class TraceIncompleteError(ValiqorError, TimeoutError):
    """Spans of the trace were still arriving, but not its root span, before the timeout.

    A trace that can get no more spans (imported from a file, or none for longer than the
    timeout) is analyzed without its root instead (``root_missing``), so this means: ask again later.

    Attributes:
        trace_id: the trace.
        span_count: how many spans had arrived.
        timeout_s: how long we waited.
    """

    def __init__(self, message: str, *, trace_id: str, span_count: int, timeout_s: float) -> None:
        self.trace_id = trace_id
        self.span_count = span_count
        self.timeout_s = timeout_s
        super().__init__(message)


class SourceError(ValiqorError):
    """A trace source (an HTTP backend) failed or answered with something unreadable."""


class AuthenticationError(ValiqorError):
    """The backend refused the request's credentials (HTTP 401 or 403)."""


class RateLimitError(ValiqorError):
    """Too many requests: the backend answered HTTP 429, or a local quota is used up.

    Attributes:
        retry_after_s: seconds to wait before trying again, when known.
    """

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class ServerStartError(ValiqorError):
    """The server could not start: nothing was served and nothing was written.

    Attributes:
        address: ``host:port`` it tried.
        reason: what went wrong there (e.g. ``"address already in use"``).
        fix: what to do, with ``{host}`` / ``{port}`` where the setting is named, so that the
            command line can say ``--port`` and Python ``port``.
    """

    def __init__(self, address: str, reason: str, fix: str) -> None:
        self.address = address
        self.reason = reason
        self.fix = fix
        super().__init__(self.describe())

    def describe(self, *, host: str = "the host", port: str = "port") -> str:
        """The message, naming the host and port settings as ``host`` and ``port`` say."""
        return f"cannot listen on {self.address}: {self.reason} ({self.fix.format(host=host, port=port)})"


class RunFailedError(ValiqorError):
    """The run failed; the message says why (the run id is in it)."""


class RunNotFinishedError(ValiqorError):
    """The run has not ended yet, so it has no result: ``wait()`` for it, or poll ``is_running()`` first.

    Not a failure: the run goes on.

    Attributes:
        run_id: the run.
    """

    def __init__(self, message: str, *, run_id: str | None = None) -> None:
        self.run_id = run_id
        super().__init__(message)

    @classmethod
    def of_run(cls, run_id: str, status: str, current_item: int, total_items: int) -> RunNotFinishedError:
        """The error for ``result()`` on a run that goes on (the same words embedded and remote)."""
        return cls(f"run {run_id} has no result yet: it is {status} ({current_item}/{total_items} items); "
                   "call handle.wait() to block until it ends, or poll handle.is_running() before handle.result()",
                   run_id=run_id)
