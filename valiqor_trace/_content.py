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

from valiqor_trace._internal import log_once

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
        text = value if isinstance(value, str) else to_json(value)
        if self.redact is not None:
            try:
                text = str(self.redact(text))
            except Exception:  # a failing hook must not leak what it was meant to hide
                log_once("redact-failed", "The redact hook raised; the content was withheld", exc_info=True)
                return REDACTION_FAILED
        if len(text) > self.max_length:
            return f"{text[: self.max_length]}...[truncated {len(text) - self.max_length} chars]"
        return text


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
