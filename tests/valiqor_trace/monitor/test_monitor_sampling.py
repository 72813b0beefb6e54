"""Which traces the monitor analyzes: the trace-ID rule, errors, other processes, export sampling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

import valiqor_trace
from tests.helpers import run_python
from tests.valiqor_trace.monitor.traffic import Recorder, run_requests
from valiqor_trace.monitor import MonitorConfig, sample_threshold, trace_id_selected


def selected_by_rule(trace_id: str, rate: float) -> bool:
    """The documented rule, written out again here: low 64 bits of the trace ID < round(rate * 2**64)."""
    return int(trace_id[16:], 16) < round(rate * 2**64)


def test_rule_edges() -> None:
    assert sample_threshold(0.0) == 0 and sample_threshold(1.0) == 2**64
    assert not trace_id_selected("0" * 31 + "1", 0.0)
    assert trace_id_selected("f" * 32, 1.0)
    # Only the low 64 bits count: the high half does not change the decision.
    assert trace_id_selected("ffffffffffffffff0000000000000001", 0.1)
    assert not trace_id_selected("0000000000000001ffffffffffffffff", 0.1)
    assert trace_id_selected("tr_00000000000000000000000000000002", 0.5)


def test_1000_requests_analyze_exactly_the_rule_selected_traces_plus_every_error_trace() -> None:
    recorder = Recorder()
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False,
                                monitor=MonitorConfig(sample_rate=0.1, max_per_minute=None, grace_period_s=0.0,
                                                      queue_size=2000, analyze=recorder))
    traffic = run_requests(1000, fail_every=37, tracer_provider=handle.tracer_provider)
    assert handle.monitor.force_flush(30_000)

    ids, errors = traffic["ids"], set(traffic["errors"])
    assert len(set(ids)) == 1000 and len(errors) == 28
    by_rule = {trace_id for trace_id in ids if selected_by_rule(trace_id, 0.1)}
    assert 60 < len(by_rule) < 140  # a 10% sample of 1,000 random IDs
    analyzed = recorder.ids
    assert len(analyzed) == len(set(analyzed))  # each trace once
    assert set(analyzed) == by_rule | errors
    stats = handle.monitor.stats
    assert stats.sampled == stats.analyzed == len(by_rule | errors)
    assert stats.sampled_on_error == len(errors - by_rule)
    assert stats.traces_seen == 1000 and stats.dropped == stats.failed == 0
    # Every analyzed trace arrived whole: root, LLM child, and the failing tool span when there was one.
    for completed in recorder.traces:
        names = sorted(span.name for span in completed.spans)
        expected = ["chat gpt-4o-mini", "handle_request"] + (["execute_tool lookup"] if completed.has_error else [])
        assert names == sorted(expected)
        assert completed.root.name == "handle_request"
        assert completed.reason == ("sampled" if completed.trace_id in by_rule else "error")


def test_another_process_continuing_the_same_traces_selects_the_same_ids(tmp_path: Path) -> None:
    recorder = Recorder()
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False,
                                monitor=MonitorConfig(sample_rate=0.1, always_on_error=False, max_per_minute=None,
                                                      grace_period_s=0.0, queue_size=2000, analyze=recorder))
    ids = run_requests(1000, fail_every=0, tracer_provider=handle.tracer_provider)["ids"]
    handle.monitor.force_flush(30_000)
    here = set(recorder.ids)
    (tmp_path / "ids.json").write_text(json.dumps(ids))
    output = run_python("""
        import json
        from tests.valiqor_trace.monitor.traffic import continue_traces
        ids = json.load(open("ids.json"))
        print("ANALYZED=" + json.dumps(sorted(continue_traces(ids, rate=0.1))))
    """, cwd=tmp_path)
    there = json.loads(output.split("ANALYZED=", 1)[1].splitlines()[0])
    assert set(there) == here == {trace_id for trace_id in ids if selected_by_rule(trace_id, 0.1)}


def test_a_trace_dropped_by_export_sampling_is_still_analyzed_from_memory(tmp_path: Path) -> None:
    # A fresh process: init() creates the global provider there (sample_rate=0: export nothing).
    output = run_python("""
        import json
        import valiqor_trace
        from opentelemetry import trace
        from tests.valiqor_trace.monitor.traffic import Recorder, run_requests
        recorder = Recorder()
        handle = valiqor_trace.init(sample_rate=0.0, instrument=False, monitor={
            "sample_rate": 0.0, "grace_period_s": 0.0, "max_per_minute": None, "analyze": recorder})
        traffic = run_requests(20, fail_every=5)
        handle.monitor.force_flush(10000)
        handle.force_flush()
        stored = handle.store.list_traces(limit=100)
        print("RESULT=" + json.dumps({"errors": traffic["errors"], "analyzed": recorder.ids,
                                      "stored": len(stored), "sampler": handle.tracer_provider.sampler.get_description(),
                                      "sampled_flags": [c.root.context.trace_flags.sampled for c in recorder.traces]}))
        handle.shutdown()
    """, cwd=tmp_path, env={"VALIQOR_HOME": str(tmp_path / ".valiqor")})
    result = json.loads(output.split("RESULT=", 1)[1].splitlines()[0])
    assert result["stored"] == 0  # nothing exported
    assert sorted(result["analyzed"]) == sorted(result["errors"]) and len(result["errors"]) == 4
    assert result["sampled_flags"] == [False] * 4
    assert result["sampler"].startswith("RecordUnsampled{")


@pytest.mark.parametrize(("value", "message"), [
    ({"sample_rate": 2}, "sample_rate"),
    ({"max_per_minute": 0}, "max_per_minute"),
    ({"webhook_url": "example.com/hook"}, "webhook_url"),
    ({"feature_kinds": ["chatbot"]}, "feature_kinds"),
    ({"sampel_rate": 0.1}, "sampel_rate"),
    ("sometimes", "monitor"),
])
def test_bad_monitor_arguments_raise_naming_the_field(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False, monitor=value)



@pytest.mark.parametrize(("fields", "message"), [
    ({"webhook_url": "https:///T0SECRET/hook"}, "MonitorConfig(webhook_url=...): not a URL: no host"),
    ({"webhook_url": "hooks.example.com/T0SECRET"}, "MonitorConfig(webhook_url=...): not a URL; give a scheme and "
                                                     "host, e.g. 'https://hooks.example.com/valiqor'"),
    ({"webhook_headers": {"X-Token": "T0SECRET\n"}}, "MonitorConfig(webhook_headers=...): header 'X-Token' has a "
                                                      "line break"),
])
def test_bad_webhook_settings_raise_naming_the_field_never_the_secret(fields: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        MonitorConfig(**fields)
    assert message in str(caught.value) and "T0SECRET" not in str(caught.value)


def test_bad_webhook_url_env_warns_without_the_url(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("VALIQOR_MONITOR_WEBHOOK_URL", "hooks.example.com/T0SECRET")
    with caplog.at_level("WARNING", logger="valiqor_trace"):
        config = valiqor_trace.monitor.parse_monitor(True)
    assert config.webhook_url is None
    assert any("VALIQOR_MONITOR_WEBHOOK_URL" in r.getMessage() for r in caplog.records)
    assert all("T0SECRET" not in r.getMessage() for r in caplog.records)

def test_env_vars_turn_monitoring_on_and_fill_unset_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALIQOR_MONITOR", "1")
    monkeypatch.setenv("VALIQOR_MONITOR_SAMPLE_RATE", "0.25")
    monkeypatch.setenv("VALIQOR_MONITOR_MAX_PER_MINUTE", "none")
    monkeypatch.setenv("VALIQOR_MONITOR_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("VALIQOR_MONITOR_ALERT_COOLDOWN_S", "soon")  # bad: ignored with a warning
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False)
    config = handle.settings.monitor
    assert handle.monitor is not None and handle.settings.sources["monitor"] == "env VALIQOR_MONITOR"
    assert (config.sample_rate, config.max_per_minute, config.webhook_url) == (0.25, None, "http://127.0.0.1:9/hook")
    assert config.alert_cooldown_s == MonitorConfig().alert_cooldown_s
    handle.shutdown()
    # A dict's own fields win over the environment; a MonitorConfig is taken as is.
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False,
                                monitor={"sample_rate": 0.5})
    assert (handle.settings.monitor.sample_rate, handle.settings.monitor.max_per_minute) == (0.5, None)
    handle.shutdown()
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False,
                                monitor=MonitorConfig())
    assert handle.settings.monitor == MonitorConfig()
    handle.shutdown()
    monkeypatch.setenv("VALIQOR_MONITOR", "0")
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False)
    assert handle.monitor is None


def test_importing_the_monitor_does_not_import_the_analyzer(tmp_path: Path) -> None:
    output = run_python("""
        import sys
        import valiqor_trace
        from tests.valiqor_trace.monitor.traffic import Recorder, run_requests
        from opentelemetry.sdk.trace import TracerProvider
        handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False,
                                    monitor={"sample_rate": 1.0, "analyze": Recorder(), "grace_period_s": 0})
        run_requests(3, fail_every=2, tracer_provider=handle.tracer_provider)
        handle.monitor.force_flush(5000)
        print("ANALYZER_MODULES=" + str(sorted(m for m in sys.modules if m.startswith("valiqor_trace.analyzer"))))
    """, cwd=tmp_path)
    assert "ANALYZER_MODULES=[]" in output


def test_monitor_settings_come_from_valiqorrc_too(tmp_path: Path) -> None:
    from valiqor_trace._settings import resolve_settings

    rc = tmp_path / ".valiqorrc"
    rc.write_text(json.dumps({"monitor": {"sample_rate": 0.05, "webhook_url": "https://hooks.example/a"}}))
    settings = resolve_settings({}, environ={}, rc_path=rc)
    assert settings.sources["monitor"] == ".valiqorrc"
    assert (settings.monitor.sample_rate, settings.monitor.webhook_url) == (0.05, "https://hooks.example/a")
    rc.write_text(json.dumps({"monitor": True}))
    assert resolve_settings({}, environ={}, rc_path=rc).monitor == MonitorConfig()
    assert resolve_settings({"monitor": False}, environ={}, rc_path=rc).monitor is None


def test_concurrent_requests_from_many_threads_are_selected_exactly_as_the_rule_says() -> None:
    import threading

    recorder = Recorder()
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False,
                                monitor=MonitorConfig(sample_rate=0.2, max_per_minute=None, grace_period_s=0.0,
                                                      queue_size=2000, analyze=recorder))
    results: list[dict] = []

    def client() -> None:
        results.append(run_requests(100, fail_every=9, tracer_provider=handle.tracer_provider))

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert handle.monitor.force_flush(30_000)
    ids = {trace_id for r in results for trace_id in r["ids"]}
    errors = {trace_id for r in results for trace_id in r["errors"]}
    assert len(ids) == 800
    assert sorted(recorder.ids) == sorted({t for t in ids if selected_by_rule(t, 0.2)} | errors)
    assert all(len(c.spans) == (3 if c.has_error else 2) for c in recorder.traces)  # no span crossed traces
    assert handle.monitor.stats.evicted_traces == handle.monitor.stats.late_spans == 0
