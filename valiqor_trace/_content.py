"""What user text may be recorded, and in what form.

One :class:`ContentPolicy` is active per process (set by ``init()``); every
instrumentor and decorator asks it before writing text into a span, so
capture, redaction and the length cap apply everywhere the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from valiqor_trace._guard import log_once

REDACTION_FAILED = "[valiqor: redaction failed, content withheld]"


@dataclass(frozen=True)
class ContentPolicy:
    """Capture on/off, a redaction hook, and a per-attribute length cap."""

    capture: bool = True
    max_length: int = 65536
    redact: Callable[[str], str] | None = None

    def text(self, value: Any) -> str | None:
        """The text to record for ``value``, or ``None`` when nothing may be recorded."""
        if not self.capture or value is None:
            return None
        return self.finish(value if isinstance(value, str) else to_json(value))

    def finish(self, text: str, *, dropped_chars: int = 0) -> str:
        """``text`` redacted and capped, as recorded; ``dropped_chars`` more followed it but were not kept."""
        if self.redact is not None:
            try:
                text = str(self.redact(text))
            except Exception:  # a failing hook must not leak what it was meant to hide
                log_once("redact-failed", "The redact hook raised; the content was withheld", exc_info=True)
                return REDACTION_FAILED
        length = len(text) + dropped_chars
        if length > self.max_length:
            return f"{text[: self.max_length]}...[truncated {length - self.max_length} chars]"
        return text


class StreamCapture:
    """What a generator yielded, as ``policy.text(list_of_items)`` would record it, without keeping the items.

    Each item is turned into its JSON text as it passes; texts are kept only until they fill the
    length cap (the one that crosses it whole, so the redact hook sees whole items), later ones are
    only counted for the ``...[truncated N chars]`` marker. A stream of any length holds at most
    ``max_length`` characters plus one item's text, and no reference to any item.
    """

    def __init__(self, policy: ContentPolicy) -> None:
        self._policy = policy
        self._parts: list[str] = []
        self._held = 1  # "[": the kept text is the start of the JSON array of all items
        self._dropped = 0
        self._count = 0

    @property
    def held_chars(self) -> int:
        """Characters held now (bounded by the cap plus one item)."""
        return self._held

    def add(self, item: Any) -> None:
        part = to_json(item)
        size = len(part) + (2 if self._count else 0)  # ", " between items
        self._count += 1
        if self._held > self._policy.max_length:
            self._dropped += size
            return
        self._parts.append(part)
        self._held += size

    def text(self) -> str:
        """The recorded text: ``[item, ...]``, redacted and capped like any other value."""
        if self._dropped:
            return self._policy.finish("[" + ", ".join(self._parts), dropped_chars=self._dropped + 1)  # + "]"
        return self._policy.finish("[" + ", ".join(self._parts) + "]")


def to_json(value: Any) -> str:
    """Best-effort JSON for arbitrary Python values (pydantic models, dataclasses, objects)."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError):  # circular structures and the like
        return repr(value)


def _jsonable(value: Any) -> Any:
    for method in ("model_dump", "dict", "to_dict"):
        dump = getattr(value, method, None)
        if callable(dump):
            try:
                return dump()
            except Exception:
                break
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return repr(value)


# Same output as json.dumps(value, default=_jsonable, ensure_ascii=False), without building an
# encoder on every call (it runs for every LLM call's messages: a hot path).
_ENCODER = json.JSONEncoder(default=_jsonable, ensure_ascii=False)

_policy = ContentPolicy()


def get_content_policy() -> ContentPolicy:
    """The policy in force (the default captures everything until ``init()`` says otherwise)."""
    return _policy


def set_content_policy(policy: ContentPolicy) -> None:
    global _policy
    _policy = policy
