"""Sessions: ``with valiqor_trace.session(...)`` stamps every span started inside it.

Held in a contextvar, so it follows threads started with copied context and
asyncio tasks, and never leaks between concurrent requests.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from valiqor_trace._content import to_json

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SessionInfo:
    session_id: str | None
    user_id: str | None
    metadata_attributes: tuple[tuple[str, Any], ...]


_session: contextvars.ContextVar[SessionInfo | None] = contextvars.ContextVar("valiqor_session", default=None)


def current_session() -> SessionInfo | None:
    """The session in force in this context, if any."""
    return _session.get()


def _attribute_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    return to_json(value)


class session(contextlib.ContextDecorator):  # noqa: N801 - used like a function, as in the docs
    """Stamp ``session.id``, ``user.id`` and ``valiqor.metadata.*`` on every span started inside.

    Nested sessions inherit what they do not override. Usable as ``with`` and as a decorator
    (sync or async functions).

    Example:
        with valiqor_trace.session(session_id="chat-42", user_id="u-7", metadata={"plan": "pro"}):
            answer(question)
    """

    def __init__(self, session_id: str | None = None, *, user_id: str | None = None,
                 metadata: Mapping[str, Any] | None = None) -> None:
        if metadata is not None and not isinstance(metadata, Mapping):
            raise ValueError("session(metadata=...) must be a mapping of names to values")
        self._session_id = None if session_id is None else str(session_id)
        self._user_id = None if user_id is None else str(user_id)
        self._metadata = dict(metadata or {})
        self._tokens: list[contextvars.Token[SessionInfo | None]] = []

    def _info(self) -> SessionInfo:
        outer = _session.get()
        merged = dict(outer.metadata_attributes) if outer else {}
        merged.update((str(k), _attribute_value(v)) for k, v in self._metadata.items())
        return SessionInfo(
            session_id=self._session_id if self._session_id is not None else (outer.session_id if outer else None),
            user_id=self._user_id if self._user_id is not None else (outer.user_id if outer else None),
            metadata_attributes=tuple(merged.items()),
        )

    def __enter__(self) -> session:
        self._tokens.append(_session.set(self._info()))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _session.reset(self._tokens.pop())

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._recreate_cm():
                    return await func(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]
        return super().__call__(func)
