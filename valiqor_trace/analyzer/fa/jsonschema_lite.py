"""A small JSON Schema validator: the subset that tool parameter and response schemas use.

Why not the ``jsonschema`` package: tool and structured-output schemas use a small,
stable subset (OpenAI strict mode allows little more), the check runs on every tool call
of every item (it must be cheap), and a hard dependency for one function is not worth it.

Supported: ``type`` (also a list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties`` (bool or schema), ``items`` (schema), ``minItems``/``maxItems``,
``minLength``/``maxLength``, ``pattern``, ``minimum``/``maximum``/``exclusiveMinimum``/
``exclusiveMaximum``, ``anyOf``/``oneOf``/``allOf``, OpenAPI ``nullable``, local
``$ref`` into ``$defs``/``definitions``. Anything else is ignored, so an unsupported
keyword can never produce a false violation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,), "object": (dict,),
    "array": (list, tuple), "null": (type(None),),
}
MAX_ERRORS = 10


def validate(instance: Any, schema: Any, root: Any = None, path: str = "$") -> list[str]:
    """Return human-readable violations of ``schema`` by ``instance`` (empty when valid)."""
    errors: list[str] = []
    _validate(instance, schema, root if root is not None else schema, path, errors)
    return errors[:MAX_ERRORS]


def _is_type(value: Any, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def _resolve(schema: Mapping[str, Any], root: Any) -> Mapping[str, Any] | None:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or not isinstance(root, Mapping):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Mapping) else None


def _validate(value: Any, schema: Any, root: Any, path: str, errors: list[str]) -> None:
    if not isinstance(schema, Mapping) or len(errors) >= MAX_ERRORS:
        return
    if "$ref" in schema:
        target = _resolve(schema, root)
        if target is not None:
            _validate(value, target, root, path, errors)
        return
    if value is None and schema.get("nullable") is True:
        return
    if not _check_type(value, schema, path, errors):
        return
    if "enum" in schema and isinstance(schema["enum"], list) and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    _check_combinators(value, schema, root, path, errors)
    if isinstance(value, dict):
        _check_object(value, schema, root, path, errors)
    elif isinstance(value, (list, tuple)):
        _check_array(value, schema, root, path, errors)
    elif isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)


def _check_type(value: Any, schema: Mapping[str, Any], path: str, errors: list[str]) -> bool:
    expected = schema.get("type")
    if expected is None:
        return True
    names = expected if isinstance(expected, list) else [expected]
    if schema.get("nullable") is True:
        names = [*names, "null"]
    if any(_is_type(value, str(name)) for name in names):
        return True
    errors.append(f"{path}: expected {' or '.join(map(str, names))}, got {_type_name(value)}")
    return False


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    for name, types in _TYPES.items():
        if isinstance(value, types):
            return name
    return type(value).__name__


def _check_combinators(value: Any, schema: Mapping[str, Any], root: Any, path: str, errors: list[str]) -> None:
    for sub in schema.get("allOf") or []:
        _validate(value, sub, root, path, errors)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            matches = sum(1 for sub in options if not validate(value, sub, root, path))
            if matches == 0:
                errors.append(f"{path}: matches none of the {key} alternatives")
            elif key == "oneOf" and matches > 1:
                errors.append(f"{path}: matches {matches} oneOf alternatives, expected exactly one")


def _check_object(value: dict, schema: Mapping[str, Any], root: Any, path: str, errors: list[str]) -> None:
    declared = schema.get("properties")
    properties: Mapping[str, Any] = declared if isinstance(declared, Mapping) else {}
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            _validate(item, properties[name], root, f"{path}.{name}", errors)
        elif extra is False:
            allowed = ", ".join(sorted(properties)) or "none"
            errors.append(f"{path}: unexpected property {name!r} (allowed: {allowed})")
        elif isinstance(extra, Mapping):
            _validate(item, extra, root, f"{path}.{name}", errors)


def _check_array(value: list | tuple, schema: Mapping[str, Any], root: Any, path: str, errors: list[str]) -> None:
    if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
        errors.append(f"{path}: {len(value)} items, expected at least {schema['minItems']}")
    if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
        errors.append(f"{path}: {len(value)} items, expected at most {schema['maxItems']}")
    items = schema.get("items")
    if isinstance(items, Mapping):
        for i, item in enumerate(value):
            _validate(item, items, root, f"{path}[{i}]", errors)


def _check_string(value: str, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
        errors.append(f"{path}: string shorter than {schema['minLength']}")
    if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
        errors.append(f"{path}: string longer than {schema['maxLength']}")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if not re.search(pattern, value):
                errors.append(f"{path}: {value[:40]!r} does not match pattern {pattern!r}")
        except re.error:
            pass  # an ECMA-only pattern we cannot compile is not the model's fault


def _check_number(value: float, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    bounds = (("minimum", lambda v, b: v >= b, ">="), ("maximum", lambda v, b: v <= b, "<="),
              ("exclusiveMinimum", lambda v, b: v > b, ">"), ("exclusiveMaximum", lambda v, b: v < b, "<"))
    for key, ok, symbol in bounds:
        bound = schema.get(key)
        if isinstance(bound, (int, float)) and not isinstance(bound, bool) and not ok(value, bound):
            errors.append(f"{path}: {value} is not {symbol} {bound}")
