"""Chat completions through the real SDK: the span tells the truth and the app sees no difference."""

from __future__ import annotations

import pydantic
from opentelemetry.trace import SpanKind, StatusCode

import openai
from tests.instrumentors.openai import fakes
from tests.instrumentors.openai.fakes import content

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_chat_span_has_request_response_usage_and_messages(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(fakes.chat_completion()))

    client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, temperature=0.2, top_p=0.9,
                                   max_tokens=100, stop=["\n\n"], seed=7, presence_penalty=0.1,
                                   frequency_penalty=0.3, service_tier="auto")

    span = traced.only_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["valiqor.span.kind"] == "llm"
    assert attributes["server.address"] == "mock.test" and attributes["server.port"] == 8443
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.request.temperature"] == 0.2 and attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.request.max_tokens"] == 100 and attributes["gen_ai.request.seed"] == 7
    assert tuple(attributes["gen_ai.request.stop_sequences"]) == ("\n\n",)
    assert attributes["gen_ai.request.presence_penalty"] == 0.1
    assert attributes["gen_ai.request.frequency_penalty"] == 0.3
    assert attributes["openai.request.service_tier"] == "auto"
    assert attributes["gen_ai.response.id"] == "chatcmpl-fixed"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert tuple(attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attributes["gen_ai.usage.input_tokens"] == 12 and attributes["gen_ai.usage.output_tokens"] == 7
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attributes["openai.response.system_fingerprint"] == "fp_fixed"
    # Chat Completions carry the system prompt in the history: it stays there (semconv), not in system_instructions.
    assert content(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "You are a geography tutor."}]},
        {"role": "user", "parts": [{"type": "text", "content": "What is the capital of France?"}]},
    ]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Paris is the capital of France."}],
         "finish_reason": "stop"}]
    assert span.status.status_code is StatusCode.UNSET
    assert fakes.API_KEY not in str(dict(attributes))


def test_the_app_receives_exactly_what_an_uninstrumented_client_returns(traced) -> None:  # noqa: ANN001
    handler = fakes.json_handler(fakes.chat_completion(tool_calls=[fakes.tool_call("call_1", "get_weather", "{}")]))
    traced.instrumentor.uninstrument()
    baseline = fakes.client(handler).chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
    traced.instrumentor.instrument(tracer_provider=traced.provider)

    result = fakes.client(handler).chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)

    assert type(result) is type(baseline)
    assert result.model_dump() == baseline.model_dump()
    if hasattr(baseline, "_request_id"):  # added to the SDK's models after openai 1.40
        assert result._request_id == baseline._request_id == "req_fixed"
    assert len(traced.spans()) == 1  # and the instrumented call was traced


def test_tool_calls_and_tool_results_in_history_and_tool_definitions(traced) -> None:  # noqa: ANN001
    reply = fakes.chat_completion(None, finish_reason="tool_calls", tool_calls=[
        fakes.tool_call("call_a", "get_weather", '{"city": "Paris"}'),
        fakes.tool_call("call_b", "get_weather", '{"city": "Rome"'),  # invalid JSON stays as the model wrote it
    ])
    client = fakes.client(fakes.json_handler(reply))
    history = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [fakes.tool_call("call_0", "get_weather",
                                                                               '{"city": "Oslo"}')]},
        {"role": "tool", "tool_call_id": "call_0", "content": "Oslo: 3C, rain"},
        {"role": "user", "content": "And Paris and Rome?"},
    ]

    result = client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=[WEATHER_TOOL],
                                            tool_choice="auto")

    assert result.choices[0].message.tool_calls[1].function.arguments == '{"city": "Rome"'
    span = traced.only_span()
    assert span.attributes["valiqor.request.tool_choice"] == "auto"
    assert content(span, "gen_ai.tool.definitions") == [{
        "type": "function", "name": "get_weather", "description": "Current weather for a city",
        "parameters": WEATHER_TOOL["function"]["parameters"]}]
    messages = content(span, "gen_ai.input.messages")
    assert messages[1] == {"role": "assistant", "parts": [
        {"type": "tool_call", "id": "call_0", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]}
    assert messages[2] == {"role": "tool", "parts": [
        {"type": "tool_call_response", "id": "call_0", "response": "Oslo: 3C, rain"}]}
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "tool_call", "id": "call_a", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "tool_call", "id": "call_b", "name": "get_weather", "arguments": '{"city": "Rome"'},
    ]}]
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("tool_calls",)


def test_n_choices_are_all_recorded(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(fakes.chat_completion("Bonjour", choices=3)))

    client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES, n=3)

    span = traced.only_span()
    assert span.attributes["gen_ai.request.choice.count"] == 3
    assert tuple(span.attributes["gen_ai.response.finish_reasons"]) == ("stop", "stop", "stop")
    assert len(content(span, "gen_ai.output.messages")) == 3


def test_response_format_json_schema_sets_output_type_and_records_the_schema(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(fakes.chat_completion('{"city": "Paris"}')))
    response_format = {"type": "json_schema", "json_schema": {
        "name": "answer", "schema": {"type": "object", "properties": {"city": {"type": "string"}}}}}

    client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                   response_format=response_format)
    client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                   response_format={"type": "json_object"})

    schema_span, object_span = traced.spans()
    assert schema_span.attributes["gen_ai.output.type"] == "json"
    assert content(schema_span, "valiqor.request.response_format") == response_format
    assert object_span.attributes["gen_ai.output.type"] == "json"


class City(pydantic.BaseModel):
    city: str
    country: str


def test_parse_with_a_pydantic_model_is_traced_and_returns_the_parsed_object(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(fakes.chat_completion('{"city": "Paris", "country": "France"}')))

    completion = fakes.chat_helpers(client).parse(model="gpt-4o-mini", messages=fakes.USER_MESSAGES,
                                                  response_format=City)

    assert completion.choices[0].message.parsed == City(city="Paris", country="France")
    span = traced.only_span()
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["gen_ai.output.type"] == "json"
    assert content(span, "valiqor.request.response_format")["json_schema"]["name"] == "City"
    assert content(span, "gen_ai.output.messages")[0]["parts"][0]["content"] == '{"city": "Paris", "country": "France"}'


def test_messages_given_as_sdk_models_and_content_parts_are_read(traced) -> None:  # noqa: ANN001
    client = fakes.client(fakes.json_handler(fakes.chat_completion("A cat.")))
    previous = client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)
    traced.exporter.clear()
    messages = [
        {"role": "user", "content": [
            {"type": "text", "text": "What is in this image?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 5000}},
        ]},
        previous.choices[0].message,  # apps append the SDK's own message object
    ]

    client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    recorded = content(traced.only_span(), "gen_ai.input.messages")
    parts = recorded[0]["parts"]
    assert parts[0] == {"type": "text", "content": "What is in this image?"}
    assert parts[1] == {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"}
    assert parts[2]["type"] == "blob" and parts[2]["mime_type"] == "image/png" and "AAAA" not in parts[2]["content"]
    assert recorded[1] == {"role": "assistant", "parts": [{"type": "text", "content": "A cat."}]}


def test_messages_from_a_generator_reach_the_sdk_untouched(traced) -> None:  # noqa: ANN001
    seen = []

    def handler(request):  # noqa: ANN001, ANN202
        seen.append(fakes.request_json(request)["messages"])
        return fakes.json_handler(fakes.chat_completion())(request)

    client = fakes.client(handler)
    client.chat.completions.create(model="gpt-4o-mini", messages=(message for message in fakes.USER_MESSAGES))

    assert seen == [fakes.USER_MESSAGES]  # we did not consume the generator before the SDK could
    assert "gen_ai.input.messages" not in traced.only_span().attributes


def test_azure_client_is_traced_as_azure_openai(traced) -> None:  # noqa: ANN001
    handler = fakes.json_handler(fakes.chat_completion())
    client = openai.AzureOpenAI(api_key=fakes.API_KEY, api_version="2024-10-21", max_retries=0,
                                azure_endpoint="https://contoso.openai.azure.com",
                                http_client=fakes.sdk_http.Client(transport=fakes.sdk_http.MockTransport(handler)))

    client.chat.completions.create(model="my-deployment", messages=fakes.USER_MESSAGES)

    span = traced.only_span()
    assert span.name == "chat my-deployment"
    assert span.attributes["gen_ai.provider.name"] == "azure.ai.openai"
    assert span.attributes["server.address"] == "contoso.openai.azure.com"


async def test_async_chat_is_traced_as_a_child_of_the_current_span(traced) -> None:  # noqa: ANN001
    client = fakes.async_client(fakes.json_handler(fakes.chat_completion()))
    tracer = traced.provider.get_tracer("app")

    with tracer.start_as_current_span("handle-request") as parent:
        result = await client.chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)

    assert result.choices[0].message.content == "Paris is the capital of France."
    chat = next(span for span in traced.spans() if span.name == "chat gpt-4o-mini")
    assert chat.parent.span_id == parent.get_span_context().span_id
    assert chat.context.trace_id == parent.get_span_context().trace_id
    assert content(chat, "gen_ai.output.messages")[0]["parts"][0]["content"] == "Paris is the capital of France."


def test_http_requests_made_by_the_sdk_see_the_chat_span_as_current(traced) -> None:  # noqa: ANN001
    from opentelemetry import trace

    seen = []

    def handler(request):  # noqa: ANN001, ANN202
        seen.append(trace.get_current_span().get_span_context().span_id)
        return fakes.json_handler(fakes.chat_completion())(request)

    fakes.client(handler).chat.completions.create(model="gpt-4o-mini", messages=fakes.USER_MESSAGES)

    assert seen == [traced.only_span().context.span_id]  # an HTTP instrumentation would nest under it
