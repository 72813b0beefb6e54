"""Every error valiqor-trace raises on purpose: one typed tree, rooted in :class:`ValiqorError`.

The analyzer, its trace sources, the Failure Analysis engine, the LLM judge, the
client (embedded and remote) and the server raise these, so a caller can catch
``ValiqorError`` alone. Each message names the thing at fault (trace, run, file
and line, item and field) and the fix. Where a built-in exception means the
same, the class also derives from it (in brackets below), so ``except
LookupError`` or ``except TimeoutError`` keep working. Tracing itself
(``init()``, instrumentation, export) never raises into your app: it logs.

Every class is importable from here and from ``valiqor_trace``::

    ValiqorError                  (Exception)       base of every error below
     ├── ValidationError          (ValueError)      bad argument or item: names the item, the field, the fix
     │    ├── DatasetError                           a dataset has bad items; .problems lists each by path
     │    └── ImportFormatError                      a trace file that cannot be read: names file and line/record
     ├── NotFoundError            (LookupError)     no source has the trace (or run); names every source tried
     ├── TraceIncompleteError     (TimeoutError)    spans still arriving, but not the root span, within the timeout
     ├── SourceError                                a trace backend could not be reached or answered badly
     │    └── JudgeRequestError                      a judge request failed for good; never raised by a run:
     │                                               the item's judge subcategories are skipped with the reason
     ├── AuthenticationError                        a backend refused the credentials (HTTP 401/403)
     │    └── JudgeAuthenticationError               the LLM judge refused the key; names where the key came from
     ├── RateLimitError                             too many requests (HTTP 429, or a local quota); retry later
     ├── ServerStartError                           valiqor serve / serve() could not listen (e.g. port taken)
     ├── ServerUnavailableError   (ConnectionError) remote mode: the server could not be reached after every retry
     ├── StoreUnavailableError    (ConnectionError) the PostgreSQL behind a store could not be reached
     ├── RunFailedError                             the FA run failed; the message names the run and why
     └── RunNotFinishedError                        handle.result() before the run ended: not a failure,
                                                    wait() for it, or poll is_running() first

The remote client raises the same class, with the same attributes, as the
embedded engine would (the server sends the class name and attributes).
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "DatasetError",
    "ImportFormatError",
    "JudgeAuthenticationError",
    "JudgeRequestError",
    "NotFoundError",
    "RateLimitError",
    "RunFailedError",
    "RunNotFinishedError",
    "ServerStartError",
    "ServerUnavailableError",
    "SourceError",
    "StoreUnavailableError",
    "TraceIncompleteError",
    "ValidationError",
    "ValiqorError",
]

_MAX_REPORTED_PROBLEMS = 20  # a DatasetError message lists this many; ``problems`` has them all


class ValiqorError(Exception):
    """Base of every error valiqor-trace raises on purpose."""


class ValidationError(ValiqorError, ValueError):
    """An argument, a dataset item or a record is not valid; the message names the field and the fix."""


class DatasetError(ValidationError):
    """A dataset has invalid items; nothing was run or stored.

    Attributes:
        problems: one ``"items[N].field: what is wrong; the fix"`` line per problem found (nested fields
            by their full path, e.g. ``items[3].tool_calls[1].function.arguments``).
    """

    def __init__(self, problems: list[str], total: int) -> None:
        self.problems = problems
        shown = problems[:_MAX_REPORTED_PROBLEMS]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"dataset has {len(problems)} problem(s) in {total} item(s); nothing was run:\n  "
                         + "\n  ".join(shown) + more)


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


class JudgeRequestError(SourceError):
    """A judge request failed for good (retries used up, or an error that retrying cannot fix).

    A Failure Analysis run does not raise it: the item keeps its deterministic tags and
    ``detectors_skipped`` carries this message as the reason.
    """


class AuthenticationError(ValiqorError):
    """The backend refused the request's credentials (HTTP 401 or 403)."""


class JudgeAuthenticationError(AuthenticationError):
    """The judge's server refused the key (HTTP 401/403); the message names the key's source, not the key."""


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


class ServerUnavailableError(ValiqorError, ConnectionError):
    """The ``valiqor serve`` server could not be reached, or kept answering "busy", after every retry."""


class StoreUnavailableError(ValiqorError, ConnectionError):
    """The database behind a store (PostgreSQL) could not be reached; the message names it (never its
    password) and what to check."""


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
