"""A LiteLLM app traced by LiteLLM's own OpenTelemetry callback under init(): a chat, a streamed answer and a
tool call against the scripted local OpenAI server. Writes the trace ids and what the app saw (``--truth``),
and optionally the stored spans as JSON lines (``--out``: the recorded fixture ``tests/fixtures/litellm``).

    python tests/instrumentors/providers/litellm_app.py --home /tmp/h --truth t.json [--out spans.jsonl]
        [--secret TEXT] [--no-capture]

Needs ``litellm`` (its own venv: it pins many packages). LiteLLM logs a request from a background thread
after the call returns, so the app waits (bounded) for LiteLLM's spans before shutting down.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else LiteLLM fetches its price list at import

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor  # noqa: E402

import valiqor_trace  # noqa: E402
from valiqor_trace.testing import ModelServer, Reply  # noqa: E402

MODEL = "openai/gpt-4o-mini"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                          "required": ["city"]}}}]


class LiteLLMSpans(SpanProcessor):
    """Counts the spans LiteLLM's tracer ended."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        if span.instrumentation_scope is not None and span.instrumentation_scope.name == "litellm":
            with self._lock:
                self.count += 1

    def wait_for(self, count: int, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count < count and time.monotonic() < deadline:
            time.sleep(0.02)


@valiqor_trace.tool("get_weather")
def get_weather(city: str) -> str:
    return f"18°C and sunny in {city}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--out")
    parser.add_argument("--secret", default="")
    parser.add_argument("--no-capture", action="store_true")
    args = parser.parse_args()
    secret = args.secret
    handle = valiqor_trace.init(project_name="litellm-app", home=args.home, capture_content=not args.no_capture,
                                redact=(lambda text: text.replace(secret, "[CARD]")) if secret else None)
    import litellm

    litellm.callbacks = ["otel"]
    counter = LiteLLMSpans()
    trace.get_tracer_provider().add_span_processor(counter)  # type: ignore[attr-defined]
    card = f" for card {secret}" if secret else ""
    truth: dict[str, Any] = {}
    with ModelServer([Reply("Paris is the capital of France."),
                      Reply("Light travels about 300,000 km every second.", chunks=4),
                      Reply.tool_call("get_weather", {"city": "Paris"}),
                      Reply(f"It is 18°C and sunny in Paris right now{card}.")]) as server:
        options = {"api_base": server.base_url, "api_key": "sk-local"}
        question = "What is the capital of France?"
        with valiqor_trace.trace_workflow("litellm-chat") as chat:
            reply = litellm.completion(model=MODEL, messages=[{"role": "system", "content": "Answer in one sentence."},
                                                              {"role": "user", "content": question}], **options)
        truth["chat"] = {"trace_id": chat.trace_id, "question": question, "answer": reply.choices[0].message.content,
                         "system_prompt": "Answer in one sentence.", "tool_calls": []}

        question = "How fast is light, in one sentence?"
        with valiqor_trace.trace_workflow("litellm-stream") as streamed:
            # A stream is logged from the thread that finishes it, outside the app's context: name the parent.
            chunks = litellm.completion(model=MODEL, messages=[{"role": "user", "content": question}], stream=True,
                                        metadata={"litellm_parent_otel_span": trace.get_current_span()}, **options)
            answer = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
        truth["stream"] = {"trace_id": streamed.trace_id, "question": question, "answer": answer, "tool_calls": []}

        question = f"What's the weather in Paris{card}?"
        with valiqor_trace.trace_workflow("litellm-tools") as tools:
            messages: list[Any] = [{"role": "user", "content": question}]
            reply = litellm.completion(model=MODEL, messages=messages, tools=TOOLS, **options)
            call = reply.choices[0].message.tool_calls[0]
            result = get_weather(**json.loads(call.function.arguments))
            messages += [reply.choices[0].message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": result}]
            final = litellm.completion(model=MODEL, messages=messages, tools=TOOLS, **options)
        truth["tools"] = {"trace_id": tools.trace_id, "question": question, "answer": final.choices[0].message.content,
                          "tool_calls": [{"id": call.id, "name": "get_weather", "arguments": {"city": "Paris"},
                                          "output": result}]}
    # request spans, plus (content captured) one raw-request span each
    counter.wait_for(4 * (1 if args.no_capture else 2))
    handle.shutdown()
    with open(args.truth, "w") as out:
        json.dump(truth, out, indent=1, ensure_ascii=False)
    if args.out:
        from valiqor_trace.store import SpanStore

        store = SpanStore(os.path.join(args.home, "traces.db"))
        with open(args.out, "w") as out:
            for app in truth.values():
                for span in store.get_trace(app["trace_id"]):
                    out.write(json.dumps(span.model_dump(mode="json"), ensure_ascii=False) + "\n")
    print(json.dumps({name: app["trace_id"] for name, app in truth.items()}))


if __name__ == "__main__":
    main()
