"""Field decoders shared by the trace readers: ids, times, kinds, statuses, OTLP values.

Each raises :class:`FieldError` naming the field and what was expected; the
file readers add the file and line/record before it reaches the user.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any, Literal, overload


class FieldError(ValueError):
    """One field of one record is wrong; ``str()`` says which and what was expected."""


_HEX = re.compile(r"^[0-9a-fA-F]+$")
_KINDS = {"0": "INTERNAL", "1": "INTERNAL", "2": "SERVER", "3": "CLIENT", "4": "PRODUCER", "5": "CONSUMER",
          "UNSPECIFIED": "INTERNAL", "INTERNAL": "INTERNAL", "SERVER": "SERVER", "CLIENT": "CLIENT",
          "PRODUCER": "PRODUCER", "CONSUMER": "CONSUMER"}
_STATUSES = {"0": "UNSET", "1": "OK", "2": "ERROR", "UNSET": "UNSET", "OK": "OK", "ERROR": "ERROR"}
# The OTLP enums: numbers (OTLP/JSON, protobuf) or names (the protobuf JSON mapping); anything else is refused.
_OTLP_KINDS: dict[Any, str] = {**_KINDS, **{int(k): v for k, v in _KINDS.items() if k.isdigit()},
                               **{f"SPAN_KIND_{k}": v for k, v in _KINDS.items() if not k.isdigit()}}
_OTLP_STATUSES: dict[Any, str] = {**_STATUSES, **{int(k): v for k, v in _STATUSES.items() if k.isdigit()},
                                  **{f"STATUS_CODE_{k}": v for k, v in _STATUSES.items() if not k.isdigit()}}
# Nanoseconds since 1970 that a store can hold: SQLite integers are signed 64-bit (up to the year 2262).
MAX_UNIX_NANOS = 2**63 - 1
# A \\uD800-\\uDBFF escape not followed by a low one, or a \\uDC00-\\uDFFF escape not preceded by a high
# one. Both branches start with the literal \\u so the scan jumps from escape to escape (a leading
# lookbehind would be tried at every character: 4x slower).
_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD](?:[89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|[c-fC-F][0-9a-fA-F]{2}(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}))")
# What Go's strconv/encoding-json write for an int64 and a float64 (pcommon.Value.AsString); checked again below.
_INT_TEXT = re.compile(r"^-?(?:0|[1-9][0-9]{0,18})$")
_FLOAT_TEXT = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$")
_DURATION = re.compile(r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
                       r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


@overload
def hex_id(value: Any, field: str, size: int, *, required: Literal[True] = True, pad: bool = True) -> str: ...


@overload
def hex_id(value: Any, field: str, size: int, *, required: bool, pad: bool = True) -> str | None: ...


def hex_id(value: Any, field: str, size: int, *, required: bool = True, pad: bool = True) -> str | None:
    """A trace id (``size`` 16 bytes) or span id (8 bytes) as lowercase hex.

    Accepts hex (OTLP/JSON, Jaeger) and base64 (protobuf JSON mapping, Tempo).
    Shorter hex is left-padded with zeros when ``pad`` (Jaeger drops leading
    zeros); OTLP ids have exactly ``size`` bytes, so OTLP readers pass False.
    An empty or all-zero value is "no id": an error when ``required``, else ``None``.
    """
    if value is None or value == "" or value == "None":
        if required:
            raise FieldError(f"field {field!r} is missing (a {size * 2}-hex-character id is required)")
        return None
    if not isinstance(value, str):
        raise FieldError(f"field {field!r} must be a string id, got {type(value).__name__} {value!r:.40}")
    text = value.strip()
    if len(text) == size * 2 and _HEX.match(text):
        result = text.lower()
    elif pad and 0 < len(text) < size * 2 and _HEX.match(text):
        result = text.lower().rjust(size * 2, "0")  # Jaeger drops leading zeros
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise FieldError(f"field {field!r} is not a {size * 2}-hex-character id (nor the base64 of {size} "
                             f"bytes): {value!r:.60}")
        result = raw.hex()
    if result == "0" * (size * 2):
        if required:
            raise FieldError(f"field {field!r} is all zeros, which is not a valid id")
        return None
    return result


def unix_nanos(value: Any, field: str, *, unit: str = "ns") -> int:
    """A timestamp as integer nanoseconds from int/float/numeric string (in ``unit``) or ISO-8601 text.

    Refuses what no store can hold: NaN, infinities, times before 1970 or past MAX_UNIX_NANOS.
    """
    if isinstance(value, bool) or value is None or value == "":
        raise FieldError(f"field {field!r} must be a timestamp, got {value!r}")
    scale = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}[unit]
    if isinstance(value, int):
        nanos = value * scale
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(f"field {field!r} must be a timestamp, got {value!r}")
        nanos = int(value * scale)
    elif isinstance(value, str):
        nanos = _text_nanos(value, field, scale)
    else:
        raise FieldError(f"field {field!r} must be a timestamp, got {type(value).__name__}")
    if not 0 <= nanos <= MAX_UNIX_NANOS:
        raise FieldError(f"field {field!r} is out of range: {value!r:.40} is not between 1970 and 2262")
    return nanos


def _text_nanos(value: str, field: str, scale: int) -> int:
    text = value.strip()
    if text.isascii() and text.isdigit():
        return int(text) * scale if len(text) <= 30 else MAX_UNIX_NANOS + 1  # out of range: no 4,000-digit int()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    except (ValueError, OverflowError):
        raise FieldError(f"field {field!r} is not a timestamp: {value!r:.60}") from None
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def duration_nanos(value: Any, field: str, *, unit: str = "ns") -> int:
    """A duration as nanoseconds: a number (in ``unit``) or ISO-8601 text such as ``PT1M2.5S``."""
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and any(match.groupdict().values()):
            parts = {k: float(x) if x else 0.0 for k, x in match.groupdict().items()}
            seconds = parts["d"] * 86_400 + parts["h"] * 3_600 + parts["m"] * 60 + parts["s"]
            return round(seconds * 1e9)
    try:
        return unix_nanos(value, field, unit=unit)
    except FieldError:
        raise FieldError(f"field {field!r} is not a duration: {value!r:.60}") from None


def span_kind(value: Any) -> str:
    text = str(value if value is not None else "INTERNAL").upper().removeprefix("SPAN_KIND_")
    return _KINDS.get(text, "INTERNAL")


def status_code(value: Any) -> str:
    text = str(value if value is not None else "UNSET").upper().removeprefix("STATUS_CODE_")
    return _STATUSES.get(text, "UNSET")


def otlp_span_kind(value: Any) -> str:
    """An OTLP ``SpanKind`` (0-5, or its name); ``None`` is INTERNAL. Anything else is a :class:`FieldError`."""
    if value is None:
        return "INTERNAL"
    kind = _otlp_enum(_OTLP_KINDS, value)
    if kind is None:
        raise FieldError(f"field 'kind' must be a SpanKind (0-5 or SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, ...), "
                         f"got {value!r:.40}")
    return kind


def otlp_status_code(value: Any) -> str:
    """An OTLP ``Status.code`` (0-2, or its name); ``None`` is UNSET. Anything else is a :class:`FieldError`."""
    if value is None:
        return "UNSET"
    code = _otlp_enum(_OTLP_STATUSES, value)
    if code is None:
        raise FieldError(f"field 'status.code' must be a StatusCode (0-2 or STATUS_CODE_UNSET, STATUS_CODE_OK, "
                         f"STATUS_CODE_ERROR), got {value!r:.40}")
    return code


def _otlp_enum(table: dict[Any, str], value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    return table.get(value) or (table.get(value.strip().upper()) if isinstance(value, str) else None)


def any_value(value: Any) -> Any:
    """The Python value of an OTLP ``AnyValue`` (``{"stringValue": ...}`` and friends)."""
    if not isinstance(value, Mapping):
        return value
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [any_value(item) for item in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return key_values((value["kvlistValue"] or {}).get("values", []), "kvlistValue")
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def key_values(items: Any, field: str) -> dict[str, Any]:
    """OTLP ``[{"key", "value": AnyValue}]`` as a dict."""
    if items is None:
        return {}
    if isinstance(items, Mapping):  # already a plain mapping (flat exports)
        return dict(items)
    if not isinstance(items, list):
        raise FieldError(f"field {field!r} must be a list of {{key, value}}, got {type(items).__name__}")
    out: dict[str, Any] = {}
    for entry in items:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
            raise FieldError(f"field {field!r} has an entry without a string 'key': {entry!r:.60}")
        out[entry["key"]] = any_value(entry.get("value"))
    return out


LONE_SURROGATE = ("the string has a lone UTF-16 surrogate (a \\ud800-\\udfff escape without its pair), "
                  "which is not valid Unicode and cannot be stored")


def lone_surrogate_path(text: str, document: Any) -> str | None:
    """The path (``resourceSpans[0].scopeSpans[0].spans[2].name``) of the first string in ``document``
    that holds a lone UTF-16 surrogate, or ``None``.

    ``json.loads`` turns a ``\\ud800`` escape without its pair into a string
    that cannot be encoded as UTF-8, so no store can take it. ``text`` is the
    JSON that ``document`` was parsed from: only text with such an escape (a
    regex scan) pays for the walk.
    """
    if ("\\ud" not in text and "\\uD" not in text) or not _LONE_SURROGATE_ESCAPE.search(text):
        return None
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:  # iterative: the document may be as deep as json.loads allows
        path, node = stack.pop()
        if isinstance(node, str):
            if not _encodable(node):
                return path or "the document"
        elif isinstance(node, dict):
            for key, child in node.items():
                if not _encodable(key):
                    return f"{path}.{key!r}".lstrip(".")
                stack.append((f"{path}.{key}".lstrip("."), child))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(node))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stringified_value(text: str) -> Any:
    """An attribute value as stores that keep every value as text hold it, typed again where the text says so.

    The OpenTelemetry Collector's ClickHouse exporter writes each attribute as ``pcommon.Value.AsString()``:
    a string as it is, ``true``/``false``, an integer or a float in decimal, an array as compact JSON. Those
    forms come back as ``bool``, ``int``, ``float`` and ``list`` (an array of strings, numbers or booleans,
    the only arrays OpenTelemetry attributes hold), so readers see what the app recorded: checks such as
    ``capture_content is False`` and token counts work. Text in any other form stays text, JSON included:
    a JSON-encoded message list was a string attribute, and the reconstruction decodes it as such. A string
    that happened to read ``"42"`` becomes ``42``; its text, where a reader needs text, is the same.
    """
    if text == "true" or text == "false":
        return text == "true"
    if _INT_TEXT.match(text):
        integer = int(text)
        return integer if -(2**63) <= integer < 2**63 else text
    if text[:1] == "[" and text[-1:] == "]":
        try:
            items = json.loads(text)
        except ValueError:
            return text
        return items if isinstance(items, list) and all(
            isinstance(item, (str, int, float, bool)) for item in items) else text
    if _FLOAT_TEXT.match(text):
        number = float(text)  # only when the text is how the number prints: "0.50" stays text
        return number if math.isfinite(number) and repr(number) == text else text
    return text
