"""W3C trace and span ids as users see them: lowercase hex strings."""

from __future__ import annotations

import re

_TRACE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
_SPAN_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def format_trace_id(trace_id: int) -> str:
    return f"{trace_id:032x}"


def format_span_id(span_id: int) -> str:
    return f"{span_id:016x}"


def normalize_trace_id(value: str) -> str:
    """Return the 32-hex W3C form of ``value``; accept a ``tr_`` prefix, dashes and upper case.

    Raises:
        ValueError: naming the value and the expected form.
    """
    if not isinstance(value, str):
        raise ValueError(f"trace_id must be a string of 32 hex characters, got {type(value).__name__}")
    text = value.strip().lower()
    if text.startswith("tr_"):
        text = text[3:]
    text = text.replace("-", "")
    if not _TRACE_ID_RE.match(text) or text == "0" * 32:
        raise ValueError(
            f"trace_id {value!r} is not a W3C trace id: expected 32 hex characters "
            "(optionally prefixed with 'tr_'), e.g. '4bf92f3577b34da6a3ce929d0e0e4736'"
        )
    return text


def is_span_id(value: str) -> bool:
    return bool(_SPAN_ID_RE.match(value))
