"""Datasets for ``run(dataset=...)`` and ``valiqor fa run --dataset FILE``: load and validate.

Validation is all-or-nothing: every item is checked before anything runs or is
stored, and the error lists each bad item by index and field with the fix.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analyzer.errors import ValidationError
from analyzer.models import FAItem, ToolCall
from valiqor_trace._settings import DEFAULT_MAX_FIELD_CHARS

ITEM_FIELDS = ("input", "output", "context", "tool_calls", "trace_id", "metadata")
DATASET_SUFFIXES = (".json", ".jsonl", ".csv")
_MAX_REPORTED = 20


class DatasetError(ValidationError):
    """A dataset has invalid items; nothing was run or stored.

    Attributes:
        problems: one ``"item N: field: what is wrong; the fix"`` line per problem found.
    """

    def __init__(self, problems: list[str], total: int) -> None:
        self.problems = problems
        shown = problems[:_MAX_REPORTED]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"dataset has {len(problems)} problem(s) in {total} item(s); nothing was run:\n  "
                         + "\n  ".join(shown) + more)


def validate_dataset(dataset: Any, *, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS) -> list[FAItem]:
    """Turn ``dataset`` (a list of dicts or FAItems) into FA items, or raise :class:`DatasetError`."""
    if isinstance(dataset, (str, bytes, Mapping)) or not isinstance(dataset, Sequence):
        raise ValidationError("dataset must be a list of items like {'input': str, 'output': str, "
                              f"'context': [str], 'tool_calls': [dict]}}, got {type(dataset).__name__}")
    if not dataset:
        raise ValidationError("dataset is empty: pass at least one {'input': ..., 'output': ...} item")
    items: list[FAItem] = []
    problems: list[str] = []
    for index, raw in enumerate(dataset):
        item, item_problems = _validate_item(index, raw, max_field_chars)
        problems.extend(item_problems)
        if item is not None:
            items.append(item)
    if problems:
        raise DatasetError(problems, len(dataset))
    return items


def _validate_item(index: int, raw: Any, max_chars: int) -> tuple[FAItem | None, list[str]]:
    if isinstance(raw, FAItem):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        return None, [f"item {index}: expected an object with 'input' and 'output', got {type(raw).__name__}"]
    problems: list[str] = []
    where = f"item {index}"
    unknown = sorted(set(raw) - set(ITEM_FIELDS))
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; valid fields are "
                        f"{', '.join(ITEM_FIELDS)} (put anything else under 'metadata')")
    for field in ("input", "output"):
        value = raw.get(field)
        if value is None:
            problems.append(f"{where}: '{field}' is missing; every item needs '{field}' as a string")
        elif not isinstance(value, str):
            problems.append(f"{where}: '{field}' must be a string, got {type(value).__name__}")
        elif len(value) > max_chars:
            problems.append(f"{where}: '{field}' is {len(value):,} characters, over the limit of {max_chars:,}; "
                            "shorten it or raise max_field_chars")
    context = raw.get("context")
    if context is not None:
        problems.extend(_check_context(where, context, max_chars))
    tool_calls = raw.get("tool_calls")
    if tool_calls is not None:
        problems.extend(_check_tool_calls(where, tool_calls, max_chars))
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        problems.append(f"{where}: 'metadata' must be an object, got {type(metadata).__name__}")
    trace_id = raw.get("trace_id")
    if trace_id is not None and not isinstance(trace_id, str):
        problems.append(f"{where}: 'trace_id' must be a string, got {type(trace_id).__name__}")
    if problems:
        return None, problems
    return FAItem(
        input=raw["input"], output=raw["output"], context=list(context or []),
        tool_calls=[ToolCall(**call) for call in tool_calls or []], trace_id=trace_id,
        metadata=dict(metadata or {}),
    ), []


def _check_context(where: str, context: Any, max_chars: int) -> list[str]:
    if isinstance(context, str) or not isinstance(context, (list, tuple)):
        return [f"{where}: 'context' must be a list of strings, got {type(context).__name__} "
                "(wrap a single passage in a list: [\"...\"])"]
    problems = []
    for position, passage in enumerate(context):
        if not isinstance(passage, str):
            problems.append(f"{where}: 'context[{position}]' must be a string, got {type(passage).__name__}")
        elif len(passage) > max_chars:
            problems.append(f"{where}: 'context[{position}]' is {len(passage):,} characters, over the limit of "
                            f"{max_chars:,}")
    return problems


def _check_tool_calls(where: str, tool_calls: Any, max_chars: int) -> list[str]:
    if not isinstance(tool_calls, (list, tuple)):
        return [f"{where}: 'tool_calls' must be a list of objects, got {type(tool_calls).__name__}"]
    problems = []
    for position, call in enumerate(tool_calls):
        field = f"'tool_calls[{position}]'"
        if not isinstance(call, Mapping):
            problems.append(f"{where}: {field} must be an object like {{'name': ..., 'arguments': ..., "
                            f"'output': ...}}, got {type(call).__name__}")
            continue
        if not isinstance(call.get("name"), str) or not call.get("name"):
            problems.append(f"{where}: {field}.name is missing; every tool call needs the tool's name")
        for key in ("output", "error", "id"):
            if call.get(key) is not None and not isinstance(call[key], str):
                problems.append(f"{where}: {field}.{key} must be a string, got {type(call[key]).__name__}")
        output = call.get("output")
        if isinstance(output, str) and len(output) > max_chars:
            problems.append(f"{where}: {field}.output is {len(output):,} characters, over the limit of {max_chars:,}")
    return problems


def load_dataset_file(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read a .json (a list, or {"items": [...]}), .jsonl or .csv dataset into raw item dicts.

    Raises:
        ValidationError: naming the file, and the line or row where it went wrong.
    """
    file = Path(path)
    if file.suffix.lower() not in DATASET_SUFFIXES:
        raise ValidationError(f"{file}: unsupported dataset file type {file.suffix or '(none)'!r}; "
                              f"use one of {', '.join(DATASET_SUFFIXES)}")
    if not file.is_file():
        raise ValidationError(f"{file}: no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{file}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if not text.strip():
        raise ValidationError(f"{file}: the file is empty; it needs at least one item with input and output")
    suffix = file.suffix.lower()
    if suffix == ".json":
        return _load_json(file, text)
    if suffix == ".jsonl":
        return _load_jsonl(file, text)
    return _load_csv(file, text)


def _load_json(file: Path, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{file}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise ValidationError(f"{file}: expected a JSON list of items (or {{\"items\": [...]}}), "
                              f"got {type(data).__name__}")
    return data


def _load_jsonl(file: Path, text: str) -> list[dict[str, Any]]:
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{file}: line {number} is not valid JSON ({exc.msg}, column {exc.colno})") from None
    return items


def _load_csv(file: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    missing = {"input", "output"} - set(reader.fieldnames or [])
    if missing:
        raise ValidationError(f"{file}: the CSV header needs columns {', '.join(sorted(missing))} "
                              f"(found: {', '.join(reader.fieldnames or []) or 'none'})")
    items = []
    for row_number, row in enumerate(reader, start=2):
        item: dict[str, Any] = {k: v for k, v in row.items() if k in ITEM_FIELDS and v not in (None, "")}
        for field in ("context", "tool_calls", "metadata"):
            if field in item:
                item[field] = _csv_json_cell(file, row_number, field, item[field])
        items.append(item)
    return items


def _csv_json_cell(file: Path, row: int, field: str, cell: str) -> Any:
    stripped = cell.strip()
    if field == "context" and not stripped.startswith("["):
        return [cell]  # a single passage written as plain text
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        example = '["passage one", "passage two"]' if field == "context" else '[{"name": "search", ...}]'
        raise ValidationError(f"{file}: row {row}, column '{field}' must be JSON, e.g. {example}") from None
