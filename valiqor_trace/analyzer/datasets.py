"""Datasets for ``run(dataset=...)`` and ``valiqor fa run --dataset FILE``: load and validate.

Validation is all-or-nothing: every item is checked before anything runs or is
stored, and the error lists each bad item by index and field with the fix.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from valiqor_trace.analyzer.dataset_tool_calls import normalize_tool_calls, type_name, unknown_key_problems
from valiqor_trace.errors import DatasetError, ValidationError
from valiqor_trace.analyzer.models import FAItem, ToolCall
from valiqor_trace.internal import DEFAULT_MAX_FIELD_CHARS

ITEM_FIELDS = ("input", "output", "context", "tool_calls", "trace_id", "metadata")
DATASET_SUFFIXES = (".json", ".jsonl", ".csv")
# A CSV column this close to an item field's name is taken for a typo of it (contexts, tool_call, Output), not
# for a metadata column: kept as metadata, its content would silently not be analyzed.
_NEAR_MISS = 0.85
# Keys people reach for that belong elsewhere.
_ITEM_HINTS = {"messages": "items carry no message list: give the user's request as 'input', the answer as "
                           "'output', and the assistant's tool calls and the tool result messages as 'tool_calls'"}


def validate_dataset(dataset: Any, *, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS) -> list[FAItem]:
    """Turn ``dataset`` (a list of dicts or FAItems) into FA items, or raise :class:`DatasetError`.

    ``tool_calls`` are read in our layout, OpenAI's and LangChain's (see :mod:`valiqor_trace.analyzer.dataset_tool_calls`).
    """
    if isinstance(dataset, (str, bytes, Mapping)) or not isinstance(dataset, Sequence):
        raise ValidationError("dataset must be a list of items like {'input': str, 'output': str, "
                              f"'context': [str], 'tool_calls': [dict]}}, got {type(dataset).__name__}")
    if not dataset:
        raise ValidationError("dataset is empty: pass at least one {'input': ..., 'output': ...} item")
    items: list[FAItem] = []
    problems: list[str] = []
    for index, raw in enumerate(dataset):
        item, item_problems = _validate_item(f"items[{index}]", raw, max_field_chars)
        problems.extend(item_problems)
        if item is not None:
            items.append(item)
    if problems:
        raise DatasetError(problems, len(dataset))
    return items


def _validate_item(at: str, raw: Any, max_chars: int) -> tuple[FAItem | None, list[str]]:
    if isinstance(raw, FAItem):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        return None, [f"{at}: expected an object with 'input' and 'output', got {type_name(raw)}"]
    problems = unknown_key_problems(at, raw, ITEM_FIELDS, "an item", _ITEM_HINTS,
                                    otherwise="put anything else under 'metadata'")
    for field in ("input", "output"):
        problems.extend(_check_text(f"{at}.{field}", raw.get(field), max_chars, required=True))
    context = raw.get("context")
    if context is not None:
        problems.extend(_check_context(f"{at}.context", context, max_chars))
    tool_calls: list[ToolCall] = []
    if raw.get("tool_calls") is not None:
        tool_calls, call_problems = normalize_tool_calls(f"{at}.tool_calls", raw["tool_calls"], max_chars)
        problems.extend(call_problems)
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        problems.append(f"{at}.metadata: must be an object, got {type_name(metadata)}; "
                        "write it as {\"key\": value}")
    trace_id = raw.get("trace_id")
    if trace_id is not None and not isinstance(trace_id, str):
        problems.append(f"{at}.trace_id: must be a string, got {type_name(trace_id)}")
    if problems:
        return None, problems
    return FAItem(input=raw["input"], output=raw["output"], context=list(context or []), tool_calls=tool_calls,
                  trace_id=trace_id, metadata=dict(metadata or {})), []


def _check_text(at: str, value: Any, max_chars: int, *, required: bool = False) -> list[str]:
    name = at.rsplit(".", 1)[-1]
    if value is None:
        return [f"{at}: missing; every item needs '{name}' as a string"] if required else []
    if not isinstance(value, str):
        return [f"{at}: must be a string, got {type_name(value)}"]
    if len(value) > max_chars:
        return [f"{at}: {len(value):,} characters, over the limit of {max_chars:,}; shorten it or raise "
                "max_field_chars"]
    return []


def _check_context(at: str, context: Any, max_chars: int) -> list[str]:
    if isinstance(context, str) or not isinstance(context, (list, tuple)):
        return [f"{at}: must be a list of strings, got {type_name(context)} "
                "(wrap a single passage in a list: [\"...\"])"]
    problems = []
    for position, passage in enumerate(context):
        if isinstance(passage, str) and len(passage) > max_chars:
            problems.append(f"{at}[{position}]: {len(passage):,} characters, over the limit of {max_chars:,}")
        elif not isinstance(passage, str):
            problems.append(f"{at}[{position}]: must be a string, got {type_name(passage)}")
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
    try:  # as written: no newline translation inside quoted CSV cells; a leading BOM (Excel's) is not content
        text = file.read_bytes().decode("utf-8-sig")
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
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): JSON strings may hold U+2028
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{file}: line {number} is not valid JSON ({exc.msg}, column {exc.colno})") from None
    return items


def _load_csv(file: Path, text: str) -> list[dict[str, Any]]:
    """Rows as items; a column that is not an item field is kept under ``metadata`` by its header name.

    Nothing in the file is dropped: a row with more cells than the header has columns, a cell under a
    column with no name, a repeated column name (the later cell would hide the earlier) and a column whose
    name is a near miss of an item field (``contexts``: the passages would not be analyzed) are errors
    that name the row or column.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))  # quoted cells keep their line breaks
    header = list(reader.fieldnames or [])
    missing = {"input", "output"} - set(header)
    if missing:
        raise ValidationError(f"{file}: the CSV header needs columns {', '.join(sorted(missing))} "
                              f"(found: {', '.join(header) or 'none'})")
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise ValidationError(f"{file}: the CSV header repeats column {', '.join(map(repr, repeated))}; give each "
                              "column its own name (the later cells would hide the earlier ones)")
    extra = [name for name in header if name and name not in ITEM_FIELDS]
    for name in extra:
        close = difflib.get_close_matches(name.strip().lower(), ITEM_FIELDS, n=1, cutoff=_NEAR_MISS)
        if close:
            raise ValidationError(f"{file}: CSV column {name!r} is not an item field; did you mean {close[0]!r}? "
                                  f"Rename the column (columns other than {', '.join(ITEM_FIELDS)} are kept in "
                                  "each item's metadata, where FA does not read them)")
    items = []
    for row_number, row in enumerate(reader, start=2):
        overflow = row.pop(None, None) or []  # DictReader's restkey: the cells past the header
        if any(overflow):
            raise ValidationError(f"{file}: row {row_number} has {len(header) + len(overflow)} cells (counting the "
                                  f"empty ones), the header names {len(header)} columns; quote cells that hold "
                                  "commas, or name the extra columns in the header")
        if row.get("") not in ("", None):
            raise ValidationError(f"{file}: row {row_number} has a value in a column with no name in the header; "
                                  "name that column")
        item: dict[str, Any] = {k: v for k, v in row.items() if k in ITEM_FIELDS and v not in (None, "")}
        for field in ("context", "tool_calls", "metadata"):
            if field in item:
                item[field] = _csv_json_cell(file, row_number, field, item[field])
        kept = {name: row[name] for name in extra if row.get(name) not in (None, "")}
        if kept:
            item["metadata"] = _with_columns(file, row_number, item.get("metadata"), kept)
        items.append(item)
    return items


def _with_columns(file: Path, row: int, metadata: Any, columns: dict[str, str]) -> Any:
    """The row's ``metadata`` cell with the extra columns added (as text); a non-object cell is left for
    validation to report."""
    if metadata is None:
        return columns
    if not isinstance(metadata, Mapping):
        return metadata
    both = sorted(set(metadata) & set(columns))
    if both:
        raise ValidationError(f"{file}: row {row}: column {both[0]!r} and the metadata column's key {both[0]!r} "
                              f"both give metadata.{both[0]}; keep one of them")
    return {**metadata, **columns}


def _csv_json_cell(file: Path, row: int, field: str, cell: str) -> Any:
    stripped = cell.strip()
    if field == "context" and not stripped.startswith("["):
        return [cell]  # a single passage written as plain text
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        example = '["passage one", "passage two"]' if field == "context" else '[{"name": "search", ...}]'
        raise ValidationError(f"{file}: row {row}, column '{field}' must be JSON, e.g. {example}") from None
