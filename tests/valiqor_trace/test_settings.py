"""Settings resolve argument > env > .valiqorrc > default; bad env warns, bad arguments raise."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

import valiqor_trace
from tests.helpers import run_python
from valiqor_trace._settings import resolve_settings
from valiqor_trace.store import SpanStore


def test_order_argument_env_file_default(tmp_path: Path, monkeypatch) -> None:
    rc = tmp_path / ".valiqorrc"
    rc.write_text(json.dumps({"project_name": "from-file", "max_content_length": 111, "sample_rate": 0.5}))
    nested = tmp_path / "src" / "app"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)  # the file is found in a parent directory
    monkeypatch.setenv("VALIQOR_MAX_CONTENT_LENGTH", "222")

    settings = resolve_settings({"sample_rate": 0.25})
    assert settings.sample_rate == 0.25 and settings.sources["sample_rate"] == "argument"
    assert settings.max_content_length == 222 and settings.sources["max_content_length"] == "env VALIQOR_MAX_CONTENT_LENGTH"
    assert settings.project_name == "from-file" and settings.sources["project_name"] == ".valiqorrc"
    assert settings.capture_content is True and settings.sources["capture_content"] == "default"


def test_bad_env_value_warns_and_falls_back(monkeypatch, caplog) -> None:
    monkeypatch.setenv("VALIQOR_SAMPLE_RATE", "lots")
    monkeypatch.setenv("VALIQOR_CAPTURE_CONTENT", "maybe")
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        settings = resolve_settings({}, rc_path=None)
    assert settings.sample_rate is None and settings.capture_content is True
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "VALIQOR_SAMPLE_RATE='lots'" in messages and "VALIQOR_CAPTURE_CONTENT='maybe'" in messages


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"sample_rate": 1.5}, "sample_rate"),
    ({"exporters": ["stor"]}, "unknown exporter 'stor'"),
    ({"protocol": "carrier-pigeon"}, "protocol"),
    ({"instrument": ["openai", "nope"]}, "unknown integration(s) nope"),
    ({"max_content_length": 0}, "max_content_length"),
    ({"redact": "not callable"}, "redact"),
])
def test_bad_arguments_raise_value_error_naming_the_setting(kwargs, fragment) -> None:
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        valiqor_trace.init(**kwargs)


def test_init_is_idempotent(tracer_provider, caplog) -> None:
    first = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none", instrument=False)
    assert valiqor_trace.init(tracer_provider=tracer_provider, exporters="none", instrument=False) is first
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        assert valiqor_trace.init(project_name="other", exporters="none", instrument=False) is first
    assert "different settings" in caplog.text
    first.shutdown()
    second = valiqor_trace.init(tracer_provider=tracer_provider, exporters="none", instrument=False)
    assert second is not first and second.active


SAMPLED_APP = """
import json, valiqor_trace
handle = valiqor_trace.init({args})
ids = []
for _ in range(200):
    with valiqor_trace.trace_workflow("w") as wf, valiqor_trace.trace_workflow("child"):
        ids.append(wf.trace_id)
handle.shutdown()
stored = [t.trace_id for t in handle.store.list_traces(limit=1000)] if {read} else []
print(json.dumps({{"ids": ids, "stored": stored}}))
"""


def _ratio_selects(trace_id: str, rate: float) -> bool:
    # the W3C/OTel TraceIdRatioBased rule: the low 64 bits of the id below rate * 2**64
    return int(trace_id, 16) & (2**64 - 1) < round(rate * 2**64)


def test_sample_rate_keeps_exactly_the_ratio_selected_traces(tmp_path: Path) -> None:
    out = run_python(SAMPLED_APP.format(args="sample_rate=0.3", read=True), cwd=tmp_path)
    result = json.loads(out.strip().splitlines()[-1])
    expected = {t for t in result["ids"] if _ratio_selects(t, 0.3)}
    assert set(result["stored"]) == expected and 20 < len(expected) < 110


def test_otel_traces_sampler_env_is_honoured_without_sample_rate(tmp_path: Path) -> None:
    run_python(SAMPLED_APP.format(args="", read=False), cwd=tmp_path, env={"OTEL_TRACES_SAMPLER": "always_off"})
    store = SpanStore(tmp_path / ".valiqor" / "traces.db")
    assert store.count_spans() == 0
