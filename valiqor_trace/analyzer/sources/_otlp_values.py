"""OTLP ``KeyValue`` lists and ``AnyValue`` -> plain Python values, type-checked and depth-bounded.

Trace files and ``POST /v1/traces`` bodies are untrusted, so each value is
checked against the type the OTLP JSON mapping gives it (``intValue`` an int64
or its decimal string, ``doubleValue`` a number or "NaN"/"Infinity", ...) while
it is converted: ``isinstance`` tests on the path the conversion walks anyway,
no second pass and no per-value model. Containers nested deeper than
MAX_VALUE_DEPTH are refused, which also bounds the recursion (protobuf stops
near there too). Both the camelCase and the original snake_case field names are
read, as protobuf JSON parsers do.
"""

from __future__ import annotations

import re
from typing import Any

from valiqor_trace.analyzer.sources._decode import FieldError

MAX_VALUE_DEPTH = 32  # attribute values nested deeper than this (arrays, key/value lists) are refused
_INT_TEXT = re.compile(r"^-?[0-9]{1,19}$")  # an int64 as the protobuf JSON mapping writes it
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")  # standard or URL-safe alphabet, padding optional
_KINDS = "stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue or bytesValue"


class _BadValue(Exception):
    """A value is wrong; ``keys`` collects the path back up (innermost first) as the error unwinds."""

    def __init__(self, problem: str, *, too_deep: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.too_deep = too_deep
        self.keys: list[str | int] = []

    def field_error(self, field: str) -> FieldError:
        if self.too_deep:  # the path is 30-odd keys long; name the attribute
            return FieldError(f"field {field!r}: attribute {self.keys[-1]!r} is nested deeper than "
                              f"{MAX_VALUE_DEPTH} levels")
        if not self.keys:
            return FieldError(f"field {field!r} {self.problem}")
        path = field + "".join(f"[{key!r}]" for key in reversed(self.keys))
        return FieldError(f"field {path} {self.problem}")


def attributes(items: Any, field: str) -> dict[str, Any]:
    """A ``[{"key", "value": AnyValue}]`` list as a dict; ``None`` is ``{}``.

    Raises:
        FieldError: naming ``field`` and the key path to the bad value, e.g.
            ``field attributes['gen_ai.usage.input_tokens'] has an intValue that is not an int64: 'ten'``.
    """
    if items is None:
        return {}
    if not isinstance(items, list):
        raise FieldError(f"field {field!r} must be a list of {{key, value}}, got {_kind(items)}")
    try:
        return _pairs(items, 0)
    except _BadValue as exc:
        raise exc.field_error(field) from None


def value(item: Any, field: str) -> Any:
    """The Python value of one ``AnyValue`` (a log record's ``body``); ``None`` when unset."""
    try:
        return None if item is None else _value(item, 0)
    except _BadValue as exc:
        raise exc.field_error(field) from None


def _pairs(items: list[Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for entry in items:
        key = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(key, str):
            raise _BadValue(f"has an entry without a string 'key': {entry!r:.60}")
        item = entry.get("value")
        try:
            out[key] = None if item is None else _value(item, depth)
        except _BadValue as exc:
            exc.keys.append(key)
            raise
    return out


def _value(item: Any, depth: int) -> Any:
    if not isinstance(item, dict):
        raise _BadValue(f"is not an AnyValue (an object such as {{\"stringValue\": \"...\"}}), got {_kind(item)}")
    if len(item) != 1:
        if not item:
            return None  # an AnyValue with nothing set
        raise _BadValue(f"must hold exactly one of {_KINDS}, got the keys {sorted(item)[:4]!r:.80}")
    (kind, content), = item.items()
    decode = _DECODERS.get(kind)
    if decode is None:
        raise _BadValue(f"holds an unknown kind {kind!r:.40}; expected {_KINDS}")
    return None if content is None else decode(content, depth)


def _string(content: Any, depth: int) -> str:
    if isinstance(content, str):
        return content
    raise _BadValue(f"has a stringValue that is not a string: {_kind(content)}")


def _bool(content: Any, depth: int) -> bool:
    if isinstance(content, bool):
        return content
    raise _BadValue(f"has a boolValue that is not true/false: {content!r:.40}")


def _int(content: Any, depth: int) -> int:
    if isinstance(content, int) and not isinstance(content, bool):
        number = content
    elif isinstance(content, str) and _INT_TEXT.match(content):
        number = int(content)
    elif isinstance(content, float) and content.is_integer():
        number = int(content)
    else:
        raise _BadValue(f"has an intValue that is not an integer: {content!r:.40}")
    if not -(2**63) <= number < 2**63:
        raise _BadValue(f"has an intValue outside the int64 range: {content!r:.40}")
    return number


def _double(content: Any, depth: int) -> float:
    if isinstance(content, float):
        return content
    if isinstance(content, (int, str)) and not isinstance(content, bool):
        try:  # an int, or a number as text ("NaN", "Infinity", "-Infinity", "1.5") as the JSON mapping allows
            return float(content)
        except (ValueError, OverflowError):
            pass
    raise _BadValue(f"has a doubleValue that is not a number: {content!r:.40}")


def _bytes(content: Any, depth: int) -> str:
    if isinstance(content, str) and _BASE64.match(content):
        return content  # kept as the base64 text, as trace files carry it
    raise _BadValue(f"has a bytesValue that is not base64 text: {content!r:.40}")


def _array(content: Any, depth: int) -> list[Any]:
    values = _container(content, "arrayValue", depth)
    out: list[Any] = []
    for index, item in enumerate(values):
        try:
            out.append(None if item is None else _value(item, depth + 1))
        except _BadValue as exc:
            exc.keys.append(index)
            raise
    return out


def _kvlist(content: Any, depth: int) -> dict[str, Any]:
    return _pairs(_container(content, "kvlistValue", depth), depth + 1)


def _container(content: Any, kind: str, depth: int) -> list[Any]:
    """The ``values`` list of an arrayValue / kvlistValue."""
    if not isinstance(content, dict):
        raise _BadValue(f"has an invalid {kind}: expected an object with 'values', got {_kind(content)}")
    if depth >= MAX_VALUE_DEPTH:
        raise _BadValue("is nested too deeply", too_deep=True)
    values = content.get("values")
    if values is None:
        return []
    if not isinstance(values, list):
        raise _BadValue(f"has an invalid {kind}: 'values' must be a list, got {_kind(values)}")
    return values


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


_DECODERS = {
    "stringValue": _string, "boolValue": _bool, "intValue": _int, "doubleValue": _double,
    "arrayValue": _array, "kvlistValue": _kvlist, "bytesValue": _bytes,
    "string_value": _string, "bool_value": _bool, "int_value": _int, "double_value": _double,
    "array_value": _array, "kvlist_value": _kvlist, "bytes_value": _bytes,
}
