"""Field decoders shared by the trace readers: ids, times, kinds, statuses, OTLP values.

Each raises :class:`FieldError` naming the field and what was expected; the
file readers add the file and line/record before it reaches the user.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
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
_DURATION = re.compile(r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
                       r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


@overload
def hex_id(value: Any, field: str, size: int, *, required: Literal[True] = True) -> str: ...


@overload
def hex_id(value: Any, field: str, size: int, *, required: bool) -> str | None: ...


def hex_id(value: Any, field: str, size: int, *, required: bool = True) -> str | None:
    """A trace id (``size`` 16 bytes) or span id (8 bytes) as lowercase hex.

    Accepts hex (OTLP/JSON, Jaeger) and base64 (protobuf JSON mapping, Tempo).
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
    elif 0 < len(text) < size * 2 and _HEX.match(text):
        result = text.lower().rjust(size * 2, "0")  # Jaeger drops leading zeros
    else:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise FieldError(f"field {field!r} is not a {size * 2}-hex-character id: {value!r:.60}")
        result = raw.hex()
    if result == "0" * (size * 2):
        if required:
            raise FieldError(f"field {field!r} is all zeros, which is not a valid id")
        return None
    return result


def unix_nanos(value: Any, field: str, *, unit: str = "ns") -> int:
    """A timestamp as integer nanoseconds from int/float/numeric string (in ``unit``) or ISO-8601 text."""
    if isinstance(value, bool) or value is None or value == "":
        raise FieldError(f"field {field!r} must be a timestamp, got {value!r}")
    scale = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}[unit]
    if isinstance(value, (int, float)):
        return int(value * scale)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text) * scale
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(f"field {field!r} is not a timestamp: {value!r:.60}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    raise FieldError(f"field {field!r} must be a timestamp, got {type(value).__name__}")


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
