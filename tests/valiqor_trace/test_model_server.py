"""The scripted model server, driven by the real openai SDK over a real socket."""

from __future__ import annotations

import asyncio
import json
import math

import pytest

import openai
from valiqor_trace.testing.model_server import ModelServer, Reply, ToolCallSpec, demo_rules

USER = [{"role": "user", "content": "What is the refund policy?"}]


def test_script_is_used_in_order_then_rules_then_echo() -> None:
    with ModelServer([Reply("first"), Reply("second")], rules=[Reply("rule", match="weather")]) as server:
        client = server.client()

        answers = [client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
                   .choices[0].message.content for text in ("a", "b", "the weather?", "hello")]

        assert answers == ["first", "second", "rule", "You said: hello"]
        assert server.pending == 0


def test_a_queued_reply_with_match_waits_for_its_question() -> None:
    with ModelServer([Reply("about shipping", match="shipping"), Reply("anything")]) as server:
        client = server.client()
        first = client.chat.completions.create(model="m", messages=USER).choices[0].message.content
        second = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "Shipping times?"}]).choices[0].message.content

    assert (first, second) == ("anything", "about shipping")


def test_requests_are_recorded_without_credentials() -> None:
    with ModelServer() as server:
        openai.OpenAI(base_url=server.base_url, api_key="sk-super-secret", max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=USER, temperature=0.5)

    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["temperature"] == 0.5 and request.body["messages"] == USER
    assert "sk-super-secret" not in json.dumps(request.headers) and "authorization" not in request.headers


def test_tool_calls_n_choices_and_usage() -> None:
    with ModelServer([Reply.tool_call("get_weather", {"city": "Paris"}, call_id="call_1", usage=(10, 4))]) as server:
        completion = server.client().chat.completions.create(model="m", messages=USER, n=2)

    assert [choice.finish_reason for choice in completion.choices] == ["tool_calls", "tool_calls"]
    call = completion.choices[1].message.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == ("call_1", "get_weather",
                                                                                  {"city": "Paris"})
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 4)


def test_streamed_chat_joins_back_to_the_reply_with_usage() -> None:
    with ModelServer([Reply("one two three four", chunks=2)]) as server:
        chunks = list(server.client().chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}))

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "one two three four"
    assert len(chunks) == 1 + 2 + 1 + 1  # role, 2 text chunks, finish, usage
    assert chunks[-1].usage.completion_tokens == 4


def test_http_errors_become_the_sdks_exceptions() -> None:
    with ModelServer([Reply.error(429, "Rate limit reached"), Reply.error(400, "bad", error_code="invalid")]) as s:
        client = s.client()
        with pytest.raises(openai.RateLimitError, match="Rate limit reached"):
            client.chat.completions.create(model="m", messages=USER)
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="m", messages=USER)

    assert raised.value.code == "invalid"


def test_cut_stream_fails_the_client_after_the_chunks_it_sent() -> None:
    with ModelServer([Reply("a b c d e f", cut_after=2)]) as server:
        stream = server.client().chat.completions.create(model="m", messages=USER, stream=True)
        received = []
        with pytest.raises(openai.APIConnectionError):
            for chunk in stream:
                received.append(chunk)

    assert len(received) == 2


def test_slow_reply_trips_the_client_timeout() -> None:
    with ModelServer([Reply("late", delay_s=0.5)]) as server:
        with pytest.raises(openai.APITimeoutError):
            server.client(timeout=0.1).chat.completions.create(model="m", messages=USER)


def test_responses_plain_and_streamed_with_function_call() -> None:
    reply = Reply("Checking.", tool_calls=(ToolCallSpec("lookup", '{"q": "refunds"}', "call_9"),))
    with ModelServer([Reply("Fourteen days."), reply]) as server:
        client = server.client()
        plain = client.responses.create(model="gpt-4o", input="Refund window?", instructions="Be brief.")
        with client.responses.stream(model="gpt-4o", input="Look it up") as stream:
            final = stream.get_final_response()

    assert plain.output_text == "Fourteen days." and plain.status == "completed"
    assert final.output_text == "Checking."
    call = final.output[1]
    assert (call.type, call.call_id, call.name, call.arguments) == ("function_call", "call_9", "lookup",
                                                                    '{"q": "refunds"}')


def test_embeddings_are_deterministic_unit_vectors_in_both_encodings() -> None:
    with ModelServer(embedding_dimensions=16) as server:
        client = server.client()
        first = client.embeddings.create(model="e", input=["refund", "shipping"])  # SDK default: base64
        again = client.embeddings.create(model="e", input="refund", encoding_format="float")

    refund, shipping = (item.embedding for item in first.data)
    assert len(refund) == 16 and refund != shipping
    assert again.data[0].embedding == pytest.approx(refund, abs=1e-6)
    assert math.isclose(sum(value * value for value in refund), 1.0, rel_tol=1e-5)


def test_legacy_completions_plain_and_streamed() -> None:
    with ModelServer([Reply("Hello"), Reply("Hi there")]) as server:
        client = server.client()
        plain = client.completions.create(model="i", prompt="Greet")
        streamed = "".join(chunk.choices[0].text for chunk in client.completions.create(model="i", prompt="Greet",
                                                                                         stream=True))

    assert (plain.choices[0].text, streamed) == ("Hello", "Hi there")


async def test_async_clients_in_parallel() -> None:
    with ModelServer() as server:
        client = server.async_client()
        answers = await asyncio.gather(*(client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"q{index}"}]) for index in range(30)))

    assert [answer.choices[0].message.content for answer in answers] == [f"You said: q{i}" for i in range(30)]


def test_demo_rules_include_deliberately_wrong_answers() -> None:
    rules = demo_rules()
    assert any(rule.note.startswith("deliberately wrong") for rule in rules)
    with ModelServer(rules=rules) as server:
        reply = server.client().chat.completions.create(
            model="m", messages=[{"role": "user", "content": "What's the weather in Paris?"}])

    arguments = reply.choices[0].message.tool_calls[0].function.arguments
    with pytest.raises(json.JSONDecodeError):  # the scripted model makes a real mistake
        json.loads(arguments)


def test_base_url_before_start_says_what_to_do() -> None:
    with pytest.raises(RuntimeError, match="call start"):
        ModelServer().base_url  # noqa: B018


def test_bad_script_entries_say_what_to_fix() -> None:
    with pytest.raises(TypeError, match=r"script\[1\] is a str, not a Reply; wrap it, e.g. Reply\('oops'\)"):
        ModelServer([Reply("fine"), "oops"])
    with pytest.raises(ValueError, match="status='429' must be an HTTP status code"):
        Reply.error("429")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cut_after=-1 must be >= 0 chunks"):
        Reply("x", cut_after=-1)
