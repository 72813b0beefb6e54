"""The JSON-schema subset used for tool arguments and structured outputs."""

from __future__ import annotations

from valiqor_trace.analyzer.fa.jsonschema_lite import validate

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["c", "f"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "filter_year": {"type": "string", "nullable": True},
    },
    "required": ["city"],
    "additionalProperties": False,
}


def test_valid_arguments_pass() -> None:
    assert validate({"city": "Paris", "unit": "c", "days": 3, "tags": ["a"], "filter_year": None}, WEATHER) == []
    assert validate({"city": "Paris", "days": 3.0}, WEATHER) == []  # 3.0 is an integer in JSON


def test_each_violation_is_named_with_its_path() -> None:
    errors = validate({"unit": "k", "days": 9, "tags": ["a", 2, "c"], "extra": 1, "city": True}, WEATHER)
    text = "\n".join(errors)
    assert "$.city: expected string, got boolean" in text
    assert "$.unit: 'k' is not one of" in text
    assert "$.days: 9 is not <= 7" in text
    assert "$.tags: 3 items, expected at most 2" in text and "$.tags[1]: expected string, got integer" in text
    assert "unexpected property 'extra'" in text
    assert validate({}, WEATHER) == ["$: missing required property 'city'"]


def test_booleans_are_not_numbers_and_refs_and_combinators_work() -> None:
    schema = {"$defs": {"n": {"type": "number"}}, "anyOf": [{"$ref": "#/$defs/n"}, {"type": "string"}]}
    assert validate(True, {"type": "integer"}) == ["$: expected integer, got boolean"]
    assert validate(2.5, schema) == [] and validate("x", schema) == []
    assert validate([1], schema) == ["$: matches none of the anyOf alternatives"]


def test_unknown_keywords_never_fail() -> None:
    assert validate("x", {"type": "string", "format": "email", "x-vendor": 1, "pattern": "(?<!ECMA-only"}) == []
