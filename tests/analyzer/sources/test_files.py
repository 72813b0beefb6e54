"""Trace files in every supported format read back exactly; bad files are refused whole, with the place named."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.analyzer.sources.conftest import by_start
from google.protobuf.json_format import MessageToDict

from valiqor_trace.errors import ImportFormatError
from valiqor_trace.analyzer.sources import import_file, read_trace_file
from valiqor_trace.store import SpanRecord, SpanStore


def _write_lines(path: Path, documents: list[Any]) -> Path:
    path.write_text("".join(json.dumps(doc) + "\n" for doc in documents))
    return path


def test_otlp_json_lines_read_back_exactly(tmp_path: Path, otlp_json_document: dict, records: list) -> None:
    # One line per resource batch, like the collector file exporter; a blank line is allowed.
    halves = [{"resourceSpans": [dict(otlp_json_document["resourceSpans"][0],
                                      scopeSpans=[dict(scope, spans=spans) for scope in
                                                  otlp_json_document["resourceSpans"][0]["scopeSpans"]])]}
              for spans in ([], None)]
    spans = otlp_json_document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    halves[0]["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans[:2]
    halves[1]["resourceSpans"][0]["scopeSpans"][0]["spans"] = spans[2:]
    path = tmp_path / "export.jsonl"
    path.write_text(json.dumps(halves[0]) + "\n\n" + json.dumps(halves[1]) + "\n")
    trace_file = read_trace_file(path)
    assert trace_file.format == "otlp-json"
    assert by_start(trace_file.spans) == by_start(records)


def test_protobuf_json_mapping_with_base64_ids_reads_back(tmp_path: Path, otlp_request: Any, records: list) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(MessageToDict(otlp_request), indent=2))  # one pretty-printed document
    assert by_start(read_trace_file(path).spans) == by_start(records)


def test_otlp_protobuf_reads_back(tmp_path: Path, otlp_request: Any, records: list) -> None:
    path = tmp_path / "export.binpb"
    path.write_bytes(otlp_request.SerializeToString())
    trace_file = read_trace_file(path)
    assert trace_file.format == "otlp-protobuf"
    assert by_start(trace_file.spans) == by_start(records)


def _split_request(otlp_request: Any) -> list[Any]:
    """The request as two requests of half the spans each (a file written in two batches)."""
    first, second = type(otlp_request)(), type(otlp_request)()
    first.CopyFrom(otlp_request)
    second.CopyFrom(otlp_request)
    spans = list(otlp_request.resource_spans[0].scope_spans[0].spans)
    del first.resource_spans[0].scope_spans[0].spans[len(spans) // 2:]
    del second.resource_spans[0].scope_spans[0].spans[:len(spans) // 2]
    return [first, second]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


@pytest.mark.parametrize("framing", ["uint32-big-endian", "varint"])
def test_several_length_prefixed_protobuf_requests_read_back(tmp_path: Path, otlp_request: Any, records: list,
                                                             framing: str) -> None:
    # The collector's file exporter (format: proto) writes a 4-byte length before each request;
    # the OTLP file-exporter spec writes them varint-delimited.
    path = tmp_path / "export.binpb"
    with open(path, "wb") as out:
        for message in _split_request(otlp_request):
            body = message.SerializeToString()
            out.write((len(body).to_bytes(4, "big") if framing == "uint32-big-endian" else _varint(len(body))) + body)
    trace_file = read_trace_file(path)
    assert trace_file.format == "otlp-protobuf"
    assert by_start(trace_file.spans) == by_start(records)


def test_gzip_compressed_files_read_back(tmp_path: Path, otlp_json_document: dict, otlp_request: Any,
                                         records: list) -> None:
    lines = tmp_path / "export.jsonl.gz"
    with gzip.open(lines, "wt") as out:
        out.write(json.dumps(otlp_json_document) + "\n")
    binary = tmp_path / "export.binpb.gz"
    binary.write_bytes(gzip.compress(otlp_request.SerializeToString()))
    assert by_start(read_trace_file(lines).spans) == by_start(records)
    assert read_trace_file(binary).format == "otlp-protobuf"
    assert by_start(read_trace_file(binary).spans) == by_start(records)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(lines.read_bytes()[:-12])
    store = SpanStore(tmp_path / "traces.db")
    with pytest.raises(ImportFormatError, match=r"cut\.jsonl\.gz.*gzip.*truncated"):
        import_file(store, cut)
    assert store.count_spans() == 0


def test_flat_span_lists_read_back(tmp_path: Path, records: list[SpanRecord]) -> None:
    listed = tmp_path / "spans.json"  # what `valiqor traces show --json` prints
    listed.write_text(json.dumps([span.model_dump() for span in records], indent=2))
    assert by_start(read_trace_file(listed).spans) == by_start(records)
    lines = _write_lines(tmp_path / "spans.jsonl", [span.model_dump() for span in records])
    assert by_start(read_trace_file(lines).spans) == by_start(records)


def test_nested_child_span_exports_keep_parents(tmp_path: Path, records: list[SpanRecord]) -> None:
    root = next(s for s in records if s.parent_span_id is None)

    def nested(span: SpanRecord) -> dict[str, Any]:
        return {"trace_id": span.trace_id, "span_id": span.span_id, "span_name": span.name,
                "timestamp": span.start_time_unix_nano, "duration": span.end_time_unix_nano - span.start_time_unix_nano,
                "status_code": span.status_code.title(), "span_attributes": span.attributes,
                "child_spans": [nested(c) for c in records if c.parent_span_id == span.span_id]}

    path = tmp_path / "nested.json"
    path.write_text(json.dumps({"trace_id": root.trace_id, "spans": [nested(root)]}))
    spans = read_trace_file(path).spans
    assert {(s.span_id, s.parent_span_id, s.name, s.status_code) for s in spans} == \
        {(s.span_id, s.parent_span_id, s.name, s.status_code) for s in records}
    assert by_start(spans)[1]["end_time_unix_nano"] == by_start(records)[1]["end_time_unix_nano"]


def test_import_is_idempotent(tmp_path: Path, otlp_json_document: dict, records: list) -> None:
    store = SpanStore(tmp_path / "traces.db")
    path = _write_lines(tmp_path / "export.jsonl", [otlp_json_document])
    first, second = import_file(store, path), import_file(store, path)
    assert (first.spans_read, first.spans_new, second.spans_new) == (len(records), len(records), 0)
    assert store.count_spans() == len(records)
    assert first.trace_ids == [records[0].trace_id]
    assert store.list_traces()[0].span_count == len(records)


def _bad(document: dict, mutate: Any) -> dict:
    copy = json.loads(json.dumps(document))
    mutate(copy["resourceSpans"][0]["scopeSpans"][0]["spans"])
    return copy


@pytest.mark.parametrize(("case", "mutate", "expected"), [
    ("wrong name type", lambda spans: spans[1].update(name=5), "field 'name' must be a string"),
    ("wrong time type", lambda spans: spans[2].update(startTimeUnixNano="soon"), "not a timestamp"),
    ("attributes not a list", lambda spans: spans[0].update(attributes="oops"), "must be a list of {key, value}"),
    ("missing span id", lambda spans: spans[1].pop("spanId"), "field 'spanId' is missing"),
    ("missing trace id", lambda spans: spans[0].update(traceId=""), "field 'traceId' is missing"),
    ("bad id", lambda spans: spans[0].update(spanId="xyz"), "not a 16-hex-character id"),
])
def test_a_bad_record_names_file_line_record_and_field_and_imports_nothing(
        tmp_path: Path, otlp_json_document: dict, case: str, mutate: Any, expected: str) -> None:
    store = SpanStore(tmp_path / "traces.db")
    path = _write_lines(tmp_path / "export.jsonl", [otlp_json_document, _bad(otlp_json_document, mutate)])
    with pytest.raises(ImportFormatError) as caught:
        import_file(store, path)
    message = str(caught.value)
    assert str(path) in message and "line 2" in message and expected in message
    assert "resourceSpans[0].scopeSpans[0].spans[" in message
    assert store.count_spans() == 0  # line 1 was fine, and still nothing was stored


def test_truncated_files_name_the_line(tmp_path: Path, otlp_json_document: dict) -> None:
    store = SpanStore(tmp_path / "traces.db")
    line = json.dumps(otlp_json_document)
    cut = tmp_path / "cut.jsonl"
    cut.write_text(line + "\n" + line + "\n" + line[: len(line) // 2])
    with pytest.raises(ImportFormatError, match=r"cut\.jsonl, line 3: invalid JSON .*truncated"):
        import_file(store, cut)
    document = tmp_path / "cut.json"
    document.write_text(json.dumps(otlp_json_document, indent=2)[:-40])
    with pytest.raises(ImportFormatError, match=r"cut\.json, line \d+, column \d+: invalid JSON"):
        import_file(store, document)
    assert store.count_spans() == 0


@pytest.mark.parametrize("name", ["garbage.json", "garbage.bin", "garbage.pb"])
def test_100_mb_of_garbage_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with open(path, "wb") as out:  # written in chunks: the test never holds 100 MB itself
        for _ in range(100):
            out.write(os.urandom(1 << 20))
    store = SpanStore(tmp_path / "traces.db")
    with pytest.raises(ImportFormatError) as caught:
        import_file(store, path)
    message = str(caught.value)
    assert str(path) in message and ("line 1" in message or "record 1" in message)
    assert store.count_spans() == 0


def test_text_that_is_not_a_trace_is_refused(tmp_path: Path) -> None:
    for name, text, expected in [("notes.txt", "hello world\n", "line 1: not JSON"),
                                 ("empty.jsonl", "\n\n", "the file is empty"),
                                 ("other.json", '{"rows": [1, 2]}', "not a span list"),
                                 ("none.json", '{"resourceSpans": []}', "no spans found")]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ImportFormatError, match=expected):
            read_trace_file(path)


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("structure.jsonl", '{"resourceSpans": [{"scopeSpans": 7}]}',
     "structure.jsonl, line 2, record resourceSpans[0].scopeSpans: expected a list, got int"),
    ("kind.jsonl", None, "kind.jsonl, line 2, record resourceSpans[0].scopeSpans[0].spans[0]: field 'kind' must be "
                         "a SpanKind"),
    ("surrogate.jsonl", '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\\ud800"}]}]}]}',
     "surrogate.jsonl, line 2, record resourceSpans[0].scopeSpans[0].spans[0].name: the string has a lone UTF-16"),
    ("deep.jsonl", "[" * 100_000 + "]" * 100_000, "deep.jsonl, line 2: the JSON is nested too deeply"),
    ("deep.json", "[\n" * 100_000 + "]" * 100_000, "deep.json, line 1: the JSON is nested too deeply"),  # one document
], ids=["structure", "enum", "lone-surrogate", "deep-line", "deep-document"])
def test_a_malformed_otlp_file_names_file_line_and_field_instead_of_a_traceback(
        tmp_path: Path, otlp_json_document: dict, name: str, content: str | None, expected: str) -> None:
    if content is None:
        content = json.dumps(_bad(otlp_json_document, lambda spans: spans[0].update(kind="SPAN_KIND_SIDEWAYS")))
    path = tmp_path / name
    first = json.dumps(otlp_json_document) + "\n" if name.endswith(".jsonl") else ""
    path.write_text(first + content + "\n")
    store = SpanStore(tmp_path / "traces.db")
    with pytest.raises(ImportFormatError) as caught:
        import_file(store, path)
    assert f"cannot import {tmp_path / expected}" in str(caught.value)
    assert store.count_spans() == 0


def test_a_protobuf_file_with_an_unknown_span_kind_or_a_short_id_is_refused(tmp_path: Path, otlp_request: Any) -> None:
    spans = otlp_request.resource_spans[0].scope_spans[0].spans
    for mutate, expected in [(lambda span: setattr(span, "kind", 9), "field 'kind' must be a SpanKind"),
                             (lambda span: setattr(span, "span_id", b"\x01\x02\x03"),
                              "field 'spanId' is not a 16-hex-character id"),
                             (lambda span: setattr(span, "start_time_unix_nano", 2**64 - 1),
                              "field 'startTimeUnixNano' is out of range")]:
        request = type(otlp_request)()
        request.CopyFrom(otlp_request)
        mutate(request.resource_spans[0].scope_spans[0].spans[len(spans) - 1])
        path = tmp_path / "export.binpb"
        path.write_bytes(request.SerializeToString())
        with pytest.raises(ImportFormatError) as caught:
            read_trace_file(path)
        message = str(caught.value)
        assert f"record 1, record resourceSpans[0].scopeSpans[0].spans[{len(spans) - 1}]: {expected}" in message
