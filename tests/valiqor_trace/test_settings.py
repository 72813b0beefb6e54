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


SECRET = "s3cret-token-value"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"endpoint": "not a url"}, "init(endpoint='not a url'): not a URL; give a scheme and host, "
                                "e.g. 'http://localhost:4318'"),
    ({"endpoint": "localhost:4318"}, "init(endpoint='localhost:4318'): not a URL; give a scheme and host, "
                                     "e.g. 'http://localhost:4318'"),
    ({"endpoint": "ftp://collector:4318"}, "init(endpoint='ftp://collector:4318'): scheme 'ftp'"),
    ({"endpoint": "http://:4318"}, "init(endpoint='http://:4318'): not a URL: no host"),
    ({"endpoint": "http://collector:43180000"}, "init(endpoint='http://collector:43180000'): not a URL: the port"),
    # a collector's basic-auth password in the URL is masked where the URL is shown
    ({"endpoint": f"ftp://otel:{SECRET}@collector:4318"}, "init(endpoint='ftp://otel:...@collector:4318'): scheme"),
    ({"endpoint": f"otel:{SECRET}@collector:4318"}, "init(endpoint='otel:...@collector:4318'): not a URL"),
    ({"headers": {"Authorization": None}}, "init(headers=...): header 'Authorization' has no value"),
    ({"headers": {"Authorization": f"Bearer {SECRET}\n"}}, "init(headers=...): header 'Authorization' has a line "
                                                          "break or control character in its value"),
    ({"headers": {"x api key": SECRET}}, "init(headers=...): 'x api key' is not a valid HTTP header name"),
    # The curl form: the '=' of the key's padding splits it, so most of the key is in the "name".
    ({"headers": f"Authorization: Bearer sk-{SECRET}-0123456789=="},
     "init(headers=...): 'Authorization: ...' is not a valid HTTP header name (letters, digits and "
     "!#$%&'*+-.^_`|~ only); write 'name=value', not 'name: value'"),
    ({"headers": f"Bearer sk-{SECRET}-0123456789==,x=1"}, "init(headers=...): 'Bearer ...' is not a valid"),
])
def test_bad_url_and_header_arguments_raise_naming_the_setting_and_the_fix(kwargs, message) -> None:
    with pytest.raises(ValueError) as caught:
        valiqor_trace.init(exporters="none", instrument=False, **kwargs)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


def test_bad_path_arguments_raise_naming_the_setting_and_the_fix(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match=r"init\(store_path='.*'\): is a directory; give the path of a file in it, "
                                         r"e.g. '.*traces.db'"):
        valiqor_trace.init(store_path=str(tmp_path), instrument=False)
    with pytest.raises(ValueError, match=r"init\(home='.*notes.txt'\): is a file, not a directory"):
        valiqor_trace.init(home=a_file, instrument=False)
    with pytest.raises(ValueError, match=r"init\(store_path='.*'\): cannot be created: '.*notes.txt' is a file"):
        valiqor_trace.init(store_path=str(a_file / "traces.db"), instrument=False)
    with pytest.raises(ValueError, match=r"init\(store_path=.*\): has a NUL character"):
        valiqor_trace.init(store_path="tra\0ces.db", instrument=False)


def test_bad_url_in_env_or_file_warns_names_the_source_and_falls_back(tmp_path: Path, monkeypatch, caplog) -> None:
    (tmp_path / ".valiqorrc").write_text(json.dumps({"endpoint": "collector:4318"}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VALIQOR_OTLP_ENDPOINT", "localhost:4318")
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        settings = resolve_settings({})
    assert settings.endpoint is None and settings.sources["endpoint"] == "default"
    messages = [r.getMessage() for r in caplog.records]
    assert any("VALIQOR_OTLP_ENDPOINT='localhost:4318'" in m and "e.g. 'http://localhost:4318'" in m for m in messages)
    assert any("endpoint='collector:4318'" in m and ".valiqorrc" in m and "'http://collector:4318'" in m
               for m in messages)


def test_bad_otel_endpoint_env_warns_and_does_not_turn_otlp_on(tracer_provider, monkeypatch, caplog) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318")
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        handle = valiqor_trace.init(tracer_provider=tracer_provider, instrument=False)
    assert [p.name for p in handle.pipelines] == ["store"]
    assert any("OTEL_EXPORTER_OTLP_ENDPOINT='localhost:4318'" in r.getMessage()
               and "'http://localhost:4318'" in r.getMessage() for r in caplog.records)


def test_bad_header_env_value_warns_without_the_secret(monkeypatch, caplog) -> None:
    monkeypatch.setenv("VALIQOR_OTLP_HEADERS", f"authorization=Bearer {SECRET},x api key={SECRET}")
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        settings = resolve_settings({}, rc_path=None)
    assert settings.headers is None
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "VALIQOR_OTLP_HEADERS" in text and "'x api key' is not a valid HTTP header name" in text
    assert SECRET not in text


CLIENT_KEYS_APP = """
import logging, sys
logging.basicConfig(level=logging.WARNING, format="LOG %(name)s %(message)s")
import valiqor_trace
valiqor_trace.init(exporters="none", instrument=False)
print("ANALYZER_IMPORTED", any(name.startswith("valiqor_trace.analyzer") for name in sys.modules))
"""


def test_client_keys_in_valiqorrc_are_known_to_init_without_the_analyzer(tmp_path: Path) -> None:
    rc = tmp_path / ".valiqorrc"
    rc.write_text(json.dumps({"project_name": "p", "judge_model": "gpt-4o-mini", "judge_timeout_s": 30,
                              "run_store_path": "runs.db", "trace_timeout_s": 2}))
    out = run_python(CLIENT_KEYS_APP, cwd=tmp_path)
    assert "ANALYZER_IMPORTED False" in out  # init() alone: the analyzer's modules were never imported
    assert "LOG " not in out, out


def test_a_genuinely_unknown_valiqorrc_key_warns_with_its_name_and_the_file(tmp_path: Path) -> None:
    rc = tmp_path / ".valiqorrc"
    rc.write_text(json.dumps({"judge_model": "gpt-4o-mini", "judge_modle": "gpt-4o"}))
    out = run_python(CLIENT_KEYS_APP, cwd=tmp_path)
    warnings = [line for line in out.splitlines() if line.startswith("LOG ")]
    assert len(warnings) == 1, out
    # judge_model is not listed as unknown; the typo is, with the file and the key it resembles
    assert f"unknown keys in {rc.resolve()}: judge_modle (did you mean judge_model?) (" in warnings[0]


def test_printed_settings_show_no_header_value_or_webhook_url(tmp_path: Path) -> None:
    webhook = f"https://hooks.slack.com/services/T000/B000/{SECRET}"
    handle = valiqor_trace.init(exporters="none", instrument=False, home=str(tmp_path),
                                headers={"Authorization": f"Bearer {SECRET}"},
                                monitor={"webhook_url": webhook, "sample_rate": 0.0})
    try:
        assert handle.settings.headers == {"Authorization": f"Bearer {SECRET}"}  # still used...
        assert handle.settings.monitor.webhook_url == webhook
        assert SECRET not in repr(handle.settings) and SECRET not in str(handle.settings)  # ...never printed
    finally:
        handle.shutdown()


def test_a_password_in_a_bad_endpoint_env_value_is_masked_in_the_warning(tracer_provider, monkeypatch,
                                                                          caplog) -> None:
    monkeypatch.setenv("VALIQOR_OTLP_ENDPOINT", f"otel:{SECRET}@collector:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"otel:{SECRET}@collector:4318")
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        valiqor_trace.init(tracer_provider=tracer_provider, instrument=False)
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "VALIQOR_OTLP_ENDPOINT='otel:...@collector:4318'" in text
    assert "OTEL_EXPORTER_OTLP_ENDPOINT='otel:...@collector:4318'" in text
    assert SECRET not in text


def test_a_password_in_the_endpoint_url_is_used_but_never_printed_or_logged(tmp_path: Path, caplog) -> None:
    endpoint = f"https://otel:{SECRET}@collector.invalid:4318"
    with caplog.at_level(logging.DEBUG):
        handle = valiqor_trace.init(endpoint=endpoint, instrument=False, home=str(tmp_path))
        try:
            assert handle.settings.endpoint == endpoint  # the exporter still gets the whole URL...
            shown = [repr(handle.settings), str(handle.settings), f"{handle.settings}"]
            assert all("endpoint='https://otel:...@collector.invalid:4318'" in text for text in shown)
            assert all(SECRET not in text for text in shown)  # ...but printing the settings never shows it
        finally:
            handle.shutdown()
    assert SECRET not in caplog.text
