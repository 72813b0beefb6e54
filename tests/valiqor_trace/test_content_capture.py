"""capture_content=False keeps every piece of user text inside the process; redact and caps apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import valiqor_trace
from tests.helpers import OTLPReceiver, run_python
from valiqor_trace.testing import capture_spans

SECRET_QUESTION = "what-is-the-launch-code-7781"
SECRET_ANSWER = "the-code-is-000-destruct"

APP = f"""
import valiqor_trace
from opentelemetry import trace
handle = valiqor_trace.init(endpoint="{{endpoint}}", capture_content={{capture}})

@valiqor_trace.trace_function
def answer(question):
    # a foreign-convention content attribute set by some other library's span
    trace.get_current_span().set_attribute("gen_ai.input.messages", question)
    return "{SECRET_ANSWER}"

with valiqor_trace.trace_workflow("chat") as wf:
    wf.set_input("{SECRET_QUESTION}")
    wf.set_output(answer("{SECRET_QUESTION}"))
handle.shutdown()
print(wf.trace_id)
"""


def _bool_attributes(span: Any) -> dict[str, bool]:
    return {kv.key: kv.value.bool_value for kv in span.attributes if kv.value.WhichOneof("value") == "bool_value"}


def _raw_bytes(tmp_path: Path, receiver: OTLPReceiver) -> bytes:
    stored = b"".join(p.read_bytes() for p in (tmp_path / ".valiqor").glob("traces.db*"))
    return stored + b"".join(receiver.raw_bodies)


def test_capture_off_no_text_in_store_or_otlp_bytes(tmp_path: Path) -> None:
    with OTLPReceiver() as receiver:
        run_python(APP.format(endpoint=receiver.endpoint, capture=False), cwd=tmp_path)
        raw = _raw_bytes(tmp_path, receiver)
        spans = receiver.spans()
        assert len(spans) == 2  # the spans themselves still arrive
    for secret in (SECRET_QUESTION, SECRET_ANSWER):
        assert secret.encode() not in raw
    # ...and say that their text was left out, so the analyzer does not read it as empty.
    assert all(_bool_attributes(span).get("valiqor.capture_content") is False for span in spans)


def test_capture_on_records_the_same_text(tmp_path: Path) -> None:
    # the control for the test above: the search does find the text when capture is on
    with OTLPReceiver() as receiver:
        run_python(APP.format(endpoint=receiver.endpoint, capture=True), cwd=tmp_path)
        raw = _raw_bytes(tmp_path, receiver)
        spans = receiver.spans()
    assert SECRET_QUESTION.encode() in raw and SECRET_ANSWER.encode() in raw
    assert all("valiqor.capture_content" not in _bool_attributes(span) for span in spans)


def test_env_var_turns_capture_off(tmp_path: Path) -> None:
    with OTLPReceiver() as receiver:
        run_python(APP.format(endpoint=receiver.endpoint, capture=None), cwd=tmp_path,
                   env={"VALIQOR_CAPTURE_CONTENT": "false"})
        assert SECRET_ANSWER.encode() not in _raw_bytes(tmp_path, receiver)


def test_redact_hook_and_length_cap_apply_before_recording() -> None:
    def redact(text: str) -> str:
        return text.replace("4111-1111-1111-1111", "[CARD]")

    with capture_spans(redact=redact, max_content_length=40, instrument=False) as spans:
        @valiqor_trace.trace_function
        def pay(card: str, note: str) -> str:
            return "charged 4111-1111-1111-1111 " + "x" * 100

        pay("4111-1111-1111-1111", "thanks")
    [span] = spans.get_finished_spans()
    assert json.loads(span.attributes["valiqor.input"]) == {"card": "[CARD]", "note": "thanks"}
    output = span.attributes["valiqor.output"]
    assert "4111" not in output and output.startswith("charged [CARD] xxxx")
    assert output.endswith("...[truncated 75 chars]")


def test_a_failing_redact_hook_withholds_content() -> None:
    def broken(text: str) -> str:
        raise RuntimeError("regex error")

    with capture_spans(redact=broken, instrument=False) as spans:
        with valiqor_trace.trace_workflow("w") as wf:
            wf.set_input("private text")
    [span] = spans.get_finished_spans()
    assert "private" not in span.attributes["valiqor.input"]


def test_other_libraries_spans_are_redacted_and_capped_before_export_ours_are_not_twice(tracer_provider,
                                                                                        span_exporter) -> None:
    from opentelemetry.sdk.trace.export import SpanExportResult

    from valiqor_trace._content import ContentPolicy
    from valiqor_trace._processors import ExportStats, GuardedExporter

    foreign = tracer_provider.get_tracer("opentelemetry.instrumentation.genai.someprovider")
    with foreign.start_as_current_span("chat m") as span:
        span.set_attribute("gen_ai.input.messages", '[{"role":"user","parts":[{"content":"pin 4242","type":"text"}]}]')
        span.set_attribute("gen_ai.request.model", "pin 4242")  # not content: left as it is
    with tracer_provider.get_tracer("valiqor_trace").start_as_current_span("ours") as span:
        span.set_attribute("valiqor.input", "already recorded pin 4242")  # ours: the policy ran when recorded
    captured = []

    class Keep:
        def export(self, spans):  # noqa: ANN001
            captured.extend(spans)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None: ...

        def force_flush(self, timeout_millis: int = 0) -> bool:
            return True

    policy = ContentPolicy(redact=lambda text: text.replace("4242", "[PIN]"))
    GuardedExporter(Keep(), name="t", stats=ExportStats(), strip_content=False, policy=policy).export(
        span_exporter.get_finished_spans())
    by_name = {span.name: span for span in captured}
    assert "[PIN]" in by_name["chat m"].attributes["gen_ai.input.messages"]
    assert by_name["chat m"].attributes["gen_ai.request.model"] == "pin 4242"
    assert by_name["ours"].attributes["valiqor.input"] == "already recorded pin 4242"


def test_capture_content_drives_the_official_instrumentations_switch(monkeypatch) -> None:
    from valiqor_trace._content import ContentPolicy, set_content_policy
    from valiqor_trace.instrumentors import _official

    monkeypatch.setattr(_official, "_app_choice", None)
    env: dict[str, str] = {}
    set_content_policy(ContentPolicy(capture=False))
    _official.configure_content_capture(env)
    assert env[_official.CAPTURE_MESSAGE_CONTENT_ENV] == "NO_CONTENT"
    set_content_policy(ContentPolicy(capture=True))  # a later init() with capture on: not stuck on ours
    _official.configure_content_capture(env)
    assert env[_official.CAPTURE_MESSAGE_CONTENT_ENV] == "SPAN_ONLY"

    monkeypatch.setattr(_official, "_app_choice", None)
    env = {_official.CAPTURE_MESSAGE_CONTENT_ENV: "SPAN_AND_EVENT"}  # the app's own choice is kept when on
    _official.configure_content_capture(env)
    assert env[_official.CAPTURE_MESSAGE_CONTENT_ENV] == "SPAN_AND_EVENT"
    set_content_policy(ContentPolicy(capture=False))  # ...and overridden when off
    _official.configure_content_capture(env)
    assert env[_official.CAPTURE_MESSAGE_CONTENT_ENV] == "NO_CONTENT"
