"""Errors pass through unchanged, suppression means no spans, and the content policy is obeyed."""

from __future__ import annotations

import pytest
from opentelemetry import context as otel_context
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.trace import StatusCode

import openai
import valiqor_trace
from tests.instrumentors.openai import fakes
from tests.instrumentors.openai.fakes import sdk_http
from valiqor_trace.internal import raise_internal_errors
from valiqor_trace.attributes import is_content_key
from valiqor_trace.testing import capture_spans
from valiqor_trace.testing.model_server import Reply


class RecordingOpenAI(openai.OpenAI):
    """The SDK's client, remembering every status error it builds (to check identity)."""

    made: list[Exception] = []

    def _make_status_error(self, err_msg, *, body, response):  # noqa: ANN001, ANN202
        error = super()._make_status_error(err_msg, body=body, response=response)
        self.made.append(error)
        return error


def test_status_error_reaches_the_app_as_the_same_object(traced) -> None:  # noqa: ANN001
    handler = fakes.json_handler({"error": {"message": "Rate limit reached", "type": "requests"}}, status=429)
    client = RecordingOpenAI(api_key=fakes.API_KEY, base_url="http://mock.test/v1", max_retries=0,
                             http_client=sdk_http.Client(transport=sdk_http.MockTransport(handler)))
    RecordingOpenAI.made = []

    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)

    assert raised.value is RecordingOpenAI.made[-1]
    span = traced.only_span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.attributes["http.response.status_code"] == 429
    event = span.events[0]
    assert event.name == "exception" and event.attributes["exception.type"].endswith("RateLimitError")
    assert "gen_ai.output.messages" not in span.attributes


def test_retries_inside_the_sdk_make_one_span(traced) -> None:  # noqa: ANN001
    statuses = iter([500, 500, 200])

    def handler(request: sdk_http.Request) -> sdk_http.Response:
        status = next(statuses)
        if status != 200:
            return sdk_http.Response(status, json={"error": {"message": "boom"}}, headers={"retry-after-ms": "1"})
        return fakes.json_handler(fakes.chat_completion())(request)

    client = openai.OpenAI(api_key=fakes.API_KEY, base_url="http://mock.test/v1", max_retries=2,
                           http_client=sdk_http.Client(transport=sdk_http.MockTransport(handler)))

    result = client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)

    assert result.id == "chatcmpl-fixed"
    span = traced.only_span()
    assert span.status.status_code is StatusCode.UNSET


def test_connection_error_and_timeout(traced, model_server) -> None:  # noqa: ANN001
    def refuse(request: sdk_http.Request) -> sdk_http.Response:
        raise sdk_http.ConnectError("connection refused", request=request)

    with pytest.raises(openai.APIConnectionError):
        fakes.client(refuse).chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
    model_server.enqueue(Reply("too late", delay_s=0.5))
    with pytest.raises(openai.APITimeoutError):
        model_server.client(timeout=0.2).chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)

    refused, timed_out = traced.spans()
    assert refused.attributes["error.type"] == "APIConnectionError"
    assert timed_out.attributes["error.type"] == "APITimeoutError"
    assert timed_out.status.status_code is StatusCode.ERROR


def test_suppressed_calls_make_no_spans(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.routing_handler(
        chat_completions=lambda request: (fakes.sse_handler(fakes.text_chunks(["a"]))(request)
                                          if fakes.request_json(request).get("stream")
                                          else fakes.json_handler(fakes.chat_completion())(request))))

    with valiqor_trace.suppress_instrumentation():
        client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, stream=True)
        assert type(stream) is openai.Stream  # untouched: not even proxied
        list(stream)
    token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    try:  # OTel's own key, as other instrumentations and exporters set it
        client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
    finally:
        otel_context.detach(token)

    assert traced.spans() == [] and traced.counter.started == 0
    client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
    assert len(traced.spans()) == 1  # and it comes back once the block ends


SECRET_TEXT = "my-private-question-about-FRANCE"
SECRET_ANSWER = "a-private-answer"


def _every_shape(server) -> int:  # noqa: ANN001
    """Calls every API shape with secret text; returns how many spans that makes (the Responses call is last)."""
    server.enqueue(Reply(SECRET_ANSWER), Reply(SECRET_ANSWER), Reply.tool_call("lookup", {"q": SECRET_ANSWER}),
                   Reply(SECRET_ANSWER))
    client = server.client()
    messages = [{"role": "system", "content": SECRET_TEXT}, {"role": "user", "content": SECRET_TEXT}]
    tools = [{"type": "function", "function": {"name": "lookup", "description": SECRET_TEXT,
                                               "parameters": {"type": "object"}}}]
    client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                   response_format={"type": "json_schema", "json_schema": {"name": SECRET_TEXT}})
    list(client.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True))
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    client.embeddings.create(model="text-embedding-3-small", input=SECRET_TEXT)
    if not fakes.RESPONSES_API:
        return 4
    client.responses.create(model="gpt-4o", input=SECRET_TEXT, instructions=SECRET_TEXT)
    return 5


def _everything_recorded(spans) -> str:  # noqa: ANN001
    return repr([(dict(span.attributes), [dict(event.attributes) for event in span.events]) for span in spans])


def test_capture_content_off_records_no_content_at_all(model_server) -> None:  # noqa: ANN001
    with capture_spans(capture_content=False, instrument=["openai"]) as exporter:
        expected = _every_shape(model_server)
        spans = exporter.get_finished_spans()

    assert len(spans) == expected
    recorded = _everything_recorded(spans)
    assert SECRET_TEXT not in recorded and SECRET_ANSWER not in recorded
    assert not [key for span in spans for key in span.attributes if is_content_key(key)]
    chat = spans[0].attributes  # what is not content stays: the analyzer still sees the call's shape
    assert chat["gen_ai.request.model"] == "gpt-4o-mini" and chat["gen_ai.output.type"] == "json"
    assert tuple(chat["gen_ai.response.finish_reasons"]) == ("stop",)
    assert chat["gen_ai.usage.output_tokens"] == 1
    assert tuple(spans[2].attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)


def test_capture_on_through_init_records_content_and_never_the_key(model_server) -> None:  # noqa: ANN001
    with capture_spans(instrument=["openai"]) as exporter:
        _every_shape(model_server)
        spans = exporter.get_finished_spans()

    recorded = _everything_recorded(spans)
    assert SECRET_TEXT in recorded and SECRET_ANSWER in recorded
    assert "scripted-model-server" not in recorded  # the API key the model server's client uses


def test_redaction_and_length_cap_apply_to_every_content_attribute(model_server) -> None:  # noqa: ANN001
    model_server.enqueue(Reply("The answer mentions FRANCE twice: FRANCE."))
    with capture_spans(instrument=["openai"], redact=lambda text: text.replace("FRANCE", "[REDACTED]"),
                       max_content_length=400) as exporter:
        model_server.client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "About FRANCE " + "x" * 1000}])
        span = exporter.get_finished_spans()[0]

    assert "FRANCE" not in _everything_recorded([span])
    assert "[REDACTED]" in span.attributes["gen_ai.output.messages"]
    assert span.attributes["gen_ai.input.messages"].endswith("chars]")  # cut to the cap, and says so
    assert len(span.attributes["gen_ai.input.messages"]) < 500


def test_a_bug_in_our_extraction_never_reaches_the_app(traced, monkeypatch) -> None:  # noqa: ANN001
    from valiqor_trace.instrumentors.openai import _chat

    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("bug in the instrumentor")

    monkeypatch.setattr(_chat, "chat_output_messages_json", broken)
    monkeypatch.setattr(_chat.ChatStreamAccumulator, "add", broken)
    handler = fakes.routing_handler(chat_completions=lambda request: (
        fakes.sse_handler(fakes.text_chunks(["a ", "b"]))(request) if fakes.request_json(request).get("stream")
        else fakes.json_handler(fakes.chat_completion())(request)))
    client = fakes.client(handler)
    raise_internal_errors(False)
    try:
        result = client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                                     stream=True))
    finally:
        raise_internal_errors(None)

    assert result.choices[0].message.content == "Paris is the capital of France."
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks) == "a b"
    assert traced.counter.open == 0 and len(traced.spans()) == 2  # spans still end
