"""Bad datasets get one clear error naming each item and field; nothing half-loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valiqor_trace.analyzer.datasets import load_dataset_file, validate_dataset
from valiqor_trace.errors import DatasetError
from valiqor_trace.errors import ValidationError


def test_valid_items_become_fa_items() -> None:
    [item] = validate_dataset([{"input": "q", "output": "a", "context": ["c1"],
                                "tool_calls": [{"name": "search", "arguments": {"q": "x"}, "output": "r"}]}])
    assert (item.input, item.output, item.context) == ("q", "a", ["c1"])
    assert item.tool_calls[0].name == "search" and item.tool_calls[0].arguments == {"q": "x"}


@pytest.mark.parametrize(("items", "expected"), [
    ([{"input": "q"}], "items[0].output: missing; every item needs 'output' as a string"),
    ([{"input": "q", "output": "a"}, {"input": "q", "output": "a", "context": "one passage"}],
     "items[1].context: must be a list of strings, got str (wrap a single passage in a list"),
    ([{"input": "q", "output": "a", "context": ["ok", 3]}], "items[0].context[1]: must be a string, got int"),
    ([{"input": 5, "output": "a"}], "items[0].input: must be a string, got int"),
    ([{"input": "q", "output": "a", "tool_calls": [{"arguments": {}}]}], "items[0].tool_calls[0].name: missing; every tool call needs the tool's name"),
    ([{"input": "q", "output": "a", "contxt": []}], "items[0].contxt: unknown field of an item; did you mean 'context'?"),
    (["just a string"], "items[0]: expected an object"),
])
def test_each_problem_names_the_item_and_field(items, expected) -> None:
    with pytest.raises(DatasetError) as caught:
        validate_dataset(items)
    assert expected in str(caught.value)
    assert "nothing was run" in str(caught.value)


def test_ten_megabyte_strings_are_refused_with_the_limit() -> None:
    huge = "x" * 10_000_000
    with pytest.raises(DatasetError, match=r"items\[0\]\.output: 10,000,000 characters, over the limit of 1,000,000"):
        validate_dataset([{"input": "q", "output": huge}])


def test_every_bad_item_is_reported_at_once() -> None:
    with pytest.raises(DatasetError) as caught:
        validate_dataset([{"input": "q"}, {"output": "a"}, {"input": "q", "output": "a"}])
    assert caught.value.problems == ["items[0].output: missing; every item needs 'output' as a string",
                                     "items[1].input: missing; every item needs 'input' as a string"]


@pytest.mark.parametrize("dataset", [[], {"input": "q", "output": "a"}, "items.json", None])
def test_not_a_list_or_empty(dataset) -> None:
    with pytest.raises(ValidationError):
        validate_dataset(dataset)


def test_files_json_jsonl_csv_load_the_same_items(tmp_path: Path) -> None:
    items = [{"input": "q1", "output": "a1", "context": ["c"]}, {"input": "q2", "output": "a2"}]
    (tmp_path / "d.json").write_text(json.dumps(items))
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(i) for i in items) + "\n")
    (tmp_path / "d.csv").write_text('input,output,context\nq1,a1,"[""c""]"\nq2,a2,\n')
    loaded = [validate_dataset(load_dataset_file(tmp_path / name)) for name in ("d.json", "d.jsonl", "d.csv")]
    assert loaded[0] == loaded[1] == loaded[2]
    assert loaded[0][0].context == ["c"] and loaded[0][1].context == []


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("d.txt", "x", "unsupported dataset file type '.txt'"),
    ("d.json", "", "the file is empty"),
    ("d.json", "[{\"input\": 1,", "invalid JSON at line 1"),
    ("d.jsonl", '{"input": "q", "output": "a"}\n{broken\n', "line 2 is not valid JSON"),
    ("d.csv", "question,answer\nq,a\n", "the CSV header needs columns input, output"),
    ("d.json", '{"input": "q"}', "expected a JSON list of items"),
])
def test_bad_files_name_the_file_and_place(tmp_path: Path, name, content, expected) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValidationError) as caught:
        load_dataset_file(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)
