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
    ("d.csv", "input,output\nq,a\nq,a, with a comma\n", "row 3 has 3 cells (counting the empty ones), the header names 2"),
    ("d.csv", "input,output,tag,tag\nq,a,x,y\n", "the CSV header repeats column 'tag'"),
    ("d.csv", "input,output,contexts\nq,a,c\n", "CSV column 'contexts' is not an item field; did you mean 'context'?"),
    ("d.csv", "input,output,\nq,a,orphan\n", "row 2 has a value in a column with no name in the header"),
    ("d.csv", 'input,output,metadata,lang\nq,a,"{""lang"": ""en""}",fr\n', "column 'lang' and the metadata column's key"),
    ("d.json", '{"input": "q"}', "expected a JSON list of items"),
])
def test_bad_files_name_the_file_and_place(tmp_path: Path, name, content, expected) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValidationError) as caught:
        load_dataset_file(path)
    assert expected in str(caught.value) and str(path) in str(caught.value)


def test_csv_columns_other_than_item_fields_are_kept_in_the_item_metadata(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes('\ufeffinput,output,ticket_id,metadata,customer note\r\n'  # Excel: a BOM and CRLF
                     'q1,a1,T-17,"{""team"": ""billing""}","line one\r\nline two"\r\n'
                     '"two\nlines",a2,,,\r\n'.encode())
    first, second = validate_dataset(load_dataset_file(path))
    assert first.metadata == {"team": "billing", "ticket_id": "T-17", "customer note": "line one\r\nline two"}
    assert (second.input, second.metadata) == ("two\nlines", {})  # a quoted cell keeps its line break


def test_jsonl_strings_may_hold_unicode_line_separators(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"input": "a\u2028b", "output": "c\x85d"}, ensure_ascii=False) + "\n", encoding="utf-8")
    [item] = validate_dataset(load_dataset_file(path))
    assert (item.input, item.output) == ("a\u2028b", "c\x85d")


def test_a_csv_runs_extra_columns_come_back_with_the_runs_inputs(tmp_path: Path) -> None:
    from valiqor_trace.analyzer.client import ValiqorClient

    path = tmp_path / "tickets.csv"
    path.write_text("input,output,ticket_id,agent\nWhere is my order?,It ships today.,T-17,ana\n", encoding="utf-8")
    with ValiqorClient(home=str(tmp_path / "home")) as client:
        result = client.failure_analysis.run(dataset=load_dataset_file(path))
    assert result.inputs[0].metadata == {"ticket_id": "T-17", "agent": "ana"}
    with ValiqorClient(home=str(tmp_path / "home")) as reopened:  # stored with the run
        assert reopened.failure_analysis.get_run_inputs(result.run_id)[0].metadata["ticket_id"] == "T-17"
