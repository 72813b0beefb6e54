"""The monitor processor: completion and grace period, bounds, rate limit, filters, failures, shutdown."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

import valiqor_trace
from tests.helpers import run_python
from tests.valiqor_trace.monitor.traffic import Recorder, handle_request
from valiqor_trace.monitor import MONITOR_SCOPE, CompletedTrace, MonitorConfig, MonitorProcessor


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def monitored(config: MonitorConfig, handler, clock=None) -> tuple[TracerProvider, MonitorProcessor]:
    provider = TracerProvider()
    processor = MonitorProcessor(config, handler, **({"clock": clock} if clock else {}))
    provider.add_span_processor(processor)
    return provider, processor


ALL = {"sample_rate": 1.0, "max_per_minute": None}


def test_a_trace_is_handed_over_after_its_root_ends_and_the_grace_period_passes() -> None:
    clock = FakeClock()
    recorder = Recorder()
    provider, processor = monitored(MonitorConfig(**ALL, grace_period_s=2.0), recorder, clock)
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("root"):
        child = tracer.start_span("late child")  # still running when the root ends (e.g. a background task)
    assert processor.force_flush(5000)  # hands over every complete trace at once, grace or not
    child.end()  # after the hand-over: counted as late, not silently lost
    assert recorder.ids and [s.name for s in recorder.traces[0].spans] == ["root"]
    assert processor.stats.late_spans == 1

    recorder2 = Recorder()
    provider, processor = monitored(MonitorConfig(**ALL, grace_period_s=2.0), recorder2, clock)
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("root"):
        child = tracer.start_span("late child")
    clock.now += 1.0  # within the grace period: the child is still collected
    child.end()
    processor._hand_over_due(flush=False)
    assert recorder2.ids == [] and processor.pending() == 1
    clock.now += 1.5
    processor._hand_over_due(flush=False)
    assert processor.force_flush(5000)
    assert sorted(s.name for s in recorder2.traces[0].spans) == ["late child", "root"]


def test_in_flight_traces_and_spans_per_trace_are_bounded_and_evictions_counted() -> None:
    recorder = Recorder()
    provider, processor = monitored(MonitorConfig(**ALL, max_traces_in_flight=3, max_spans_per_trace=4), recorder)
    tracer = provider.get_tracer("app")
    roots = [tracer.start_span(f"request {n}") for n in range(5)]
    for root in roots:
        for step in range(6):
            tracer.start_span(f"step {step}", context=trace.set_span_in_context(root)).end()
    for root in roots:
        root.end()
    processor.force_flush(5000)
    stats = processor.stats
    assert stats.evicted_traces == 2  # the two oldest were evicted when the 4th and 5th appeared
    assert sorted(t.root.name for t in recorder.traces) == ["request 2", "request 3", "request 4"]
    # 6 steps + root into 4 slots: the oldest children go first, the root (ended last) is kept (3 per kept
    # trace); the evicted traces had lost 2 steps each before going; their roots, ending later, are dropped
    # too (and not buffered anew, which would evict the next trace).
    assert stats.evicted_spans == 3 * 3 + 2 * 2 + 2
    for completed in recorder.traces:
        assert [s.name for s in completed.spans] == ["step 3", "step 4", "step 5", completed.root.name]
        assert completed.evicted_spans == 3


def test_a_full_queue_drops_and_counts_without_blocking_the_request() -> None:
    release = threading.Event()
    started = threading.Event()

    def slow(trace_: CompletedTrace) -> None:
        started.set()
        release.wait(10)

    provider, processor = monitored(MonitorConfig(**ALL, queue_size=2, grace_period_s=0.0), slow)
    tracer = provider.get_tracer("app")
    tracer.start_span("first").end()
    processor._hand_over_due(flush=True)
    assert started.wait(5)  # the worker is busy with the first trace
    for n in range(5):
        tracer.start_span(f"request {n}").end()
    processor._hand_over_due(flush=True)
    assert processor.stats.sampled == 6 and processor.stats.dropped == 3  # 2 queued, 3 dropped
    release.set()
    assert processor.force_flush(5000)
    assert processor.stats.analyzed == 3


def test_max_per_minute_limits_analyses_and_counts_the_rest() -> None:
    clock = FakeClock()
    recorder = Recorder()
    provider, processor = monitored(MonitorConfig(sample_rate=1.0, max_per_minute=5, grace_period_s=0.0),
                                    recorder, clock)
    tracer = provider.get_tracer("app")
    for n in range(8):
        tracer.start_span(f"request {n}").end()
    processor.force_flush(5000)
    assert (len(recorder.ids), processor.stats.rate_limited) == (5, 3)
    clock.now += 61
    for n in range(3):
        tracer.start_span(f"later {n}").end()
    processor.force_flush(5000)
    assert (len(recorder.ids), processor.stats.rate_limited) == (8, 3)


def test_filters_by_project_and_span_name() -> None:
    recorder = Recorder()
    provider, processor = monitored(MonitorConfig(**ALL, projects=["shop"], span_names=["chat *"],
                                                  grace_period_s=0.0), recorder)
    tracer = provider.get_tracer("app")
    for project, child in [("shop", "chat gpt-4o"), ("shop", "embeddings x"), ("blog", "chat gpt-4o")]:
        with tracer.start_as_current_span("request", attributes={"valiqor.project_name": project}):
            tracer.start_span(child).end()
    processor.force_flush(5000)
    assert len(recorder.traces) == 1 and recorder.traces[0].project_name == "shop"
    assert processor.stats.filtered == 2


def test_verdict_spans_are_never_buffered_or_analyzed() -> None:
    recorder = Recorder()
    provider, processor = monitored(MonitorConfig(**ALL, grace_period_s=0.0), recorder)
    provider.get_tracer(MONITOR_SCOPE).start_span("fa.verdict").end()
    processor.force_flush(5000)
    assert recorder.ids == [] and processor.stats.traces_seen == 0


def test_an_analysis_that_raises_is_lost_alone_logged_and_the_monitor_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []

    def flaky(trace_: CompletedTrace) -> None:
        if trace_.root.attributes.get("boom"):
            raise RuntimeError("detector exploded")
        done.append(trace_.trace_id)

    provider, processor = monitored(MonitorConfig(**ALL, grace_period_s=0.0), flaky)
    tracer = provider.get_tracer("app")
    ids = []
    for n in range(5):
        with tracer.start_as_current_span("request", attributes={"boom": n == 1}) as span:
            ids.append(format(span.get_span_context().trace_id, "032x"))
    with caplog.at_level(logging.ERROR, logger="valiqor_trace"):
        assert processor.force_flush(5000)
    assert processor.stats.failed == 1 and processor.stats.analyzed == 4
    assert done == [i for n, i in enumerate(ids) if n != 1]
    assert any(ids[1] in record.getMessage() and "detector exploded" in record.getMessage()
               for record in caplog.records)


def test_requests_succeed_and_return_unchanged_with_monitoring_on() -> None:
    recorder = Recorder()
    handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False,
                                monitor=MonitorConfig(**ALL, grace_period_s=0.0, analyze=recorder))
    tracer = handle.tracer_provider.get_tracer("app")
    error = ValueError("the app's own error")
    with pytest.raises(ValueError) as raised, valiqor_trace.trace_workflow("request"):
        raise error
    assert raised.value is error
    assert handle_request(tracer, 1, fail=True)
    handle.monitor.force_flush(5000)
    assert len(recorder.ids) == 2 and all(t.has_error for t in recorder.traces)


def test_shutdown_gives_up_on_a_stuck_analysis_within_its_timeout() -> None:
    never, busy = threading.Event(), threading.Event()

    def stuck(trace_: CompletedTrace) -> None:
        busy.set()
        never.wait(60)

    provider, processor = monitored(MonitorConfig(**ALL, grace_period_s=0.0, queue_size=10), stuck)
    tracer = provider.get_tracer("app")
    for n in range(4):
        tracer.start_span(f"request {n}").end()
    processor._hand_over_due(flush=True)
    assert busy.wait(5)
    started = time.monotonic()
    processor.shutdown(timeout_s=0.3)
    assert time.monotonic() - started < 5
    assert processor.stats.dropped == 3  # one was being analyzed, three were still queued
    tracer.start_span("after shutdown").end()  # ignored, no error
    assert processor.pending() == 0


def test_interpreter_exit_is_not_held_up_by_a_stuck_analysis(tmp_path: Path) -> None:
    started = time.monotonic()
    output = run_python("""
        import threading, valiqor_trace
        from opentelemetry.sdk.trace import TracerProvider
        from tests.valiqor_trace.monitor.traffic import run_requests
        stuck = threading.Event()
        handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False, monitor={
            "sample_rate": 1.0, "grace_period_s": 0.0, "shutdown_timeout_s": 0.5,
            "analyze": lambda trace: stuck.wait(3600)})
        run_requests(5, fail_every=0, tracer_provider=handle.tracer_provider)
        print("requests done")
        # no shutdown(): the atexit hook drains for at most shutdown_timeout_s
    """, cwd=tmp_path, timeout=60)
    assert "requests done" in output
    assert time.monotonic() - started < 30


def test_a_forked_child_monitors_its_own_traffic(tmp_path: Path) -> None:
    output = run_python("""
        import json, os
        import valiqor_trace
        from opentelemetry.sdk.trace import TracerProvider
        from tests.valiqor_trace.monitor.traffic import Recorder, run_requests
        recorder = Recorder()
        handle = valiqor_trace.init(tracer_provider=TracerProvider(), exporters="none", instrument=False, monitor={
            "sample_rate": 1.0, "grace_period_s": 0.0, "max_per_minute": None, "analyze": recorder})
        run_requests(2, fail_every=0, tracer_provider=handle.tracer_provider)
        handle.monitor.force_flush(5000)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # a pre-fork server's worker: its own threads, buffers and counters
            ids = run_requests(3, fail_every=0, tracer_provider=handle.tracer_provider)["ids"]
            handle.monitor.force_flush(5000)
            stats = handle.monitor.stats
            os.write(write, json.dumps({"ids": ids, "analyzed": recorder.ids[2:], "stats": [stats.sampled,
                     stats.analyzed]}).encode())
            os._exit(0)
        os.close(write)
        child = json.loads(os.read(read, 100000))
        os.waitpid(pid, 0)
        print("CHILD=" + json.dumps(child))
        print("PARENT=" + json.dumps([handle.monitor.stats.sampled, handle.monitor.stats.analyzed]))
    """, cwd=tmp_path)
    child = json.loads(output.split("CHILD=", 1)[1].splitlines()[0])
    assert child["analyzed"] == child["ids"] and child["stats"] == [3, 3]
    assert json.loads(output.split("PARENT=", 1)[1].splitlines()[0]) == [2, 2]


def test_an_internal_error_on_the_request_path_never_reaches_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    provider, processor = monitored(MonitorConfig(**ALL, grace_period_s=0.0), recorder)

    def broken(*args: object) -> None:
        raise KeyError("bug in the buffer")

    monkeypatch.setattr(processor._buffer, "add", broken)
    monkeypatch.setenv("VALIQOR_RAISE_INTERNAL_ERRORS", "0")  # production mode: swallow and log
    span = provider.get_tracer("app").start_span("request")
    span.end()  # does not raise
    assert recorder.ids == [] and span.end_time is not None
    monkeypatch.setenv("VALIQOR_RAISE_INTERNAL_ERRORS", "1")  # under tests, the same bug is seen
    with pytest.raises(KeyError):
        provider.get_tracer("app").start_span("request").end()
