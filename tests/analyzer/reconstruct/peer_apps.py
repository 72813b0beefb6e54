"""Scripted LLM apps traced by a peer instrumentation (or ours: ``valiqor``, ``valiqor-langchain``), as OTLP JSON lines.

Run one peer per process (each patches ``openai`` or LangChain globally)::

    python peer_apps.py --peer openinference --out traces.jsonl --truth truth.json [--protobuf traces.pb]

Apps: ``chat`` (one model call), ``stream`` (one streamed model call), ``rag`` (a
retriever, then the model), ``tools`` (the model requests a tool, the app runs it,
the model answers), ``agent`` (LangChain only: ``create_agent`` runs the same tool loop). The OpenAI API
is faked with a mock transport, so every request and response is known; the
truth file records, per app, what the app actually sent and received, for the
tests to compare the reconstructed items against.

Also the generator of ``tests/fixtures/peers/*`` for peers that need an older
``openai`` (run inside a throwaway venv; see ``tests/fixtures/peers/README.md``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import sys
from typing import Any

os.environ.setdefault("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
os.environ.setdefault("TRACELOOP_TRACE_CONTENT", "true")

import openai  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

OPENAI_3 = int(openai.__version__.split(".")[0]) >= 3
if OPENAI_3:
    import httpx2 as http  # openai 3.x speaks httpx2
else:
    import httpx as http

MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
DOCUMENTS = ["Paris is the capital of France.", "The Eiffel Tower is 330 metres tall.",
             "Paris is the capital of France."]  # the retriever returns a duplicate on purpose
QUESTIONS = {"chat": "Say hello to Ada in one word.", "rag": "How tall is the Eiffel Tower?",
             "tools": "What is 17 times 23?", "stream": "Say hello to Ada, streamed.",
             "agent": "What is 17 times 23, agent?"}
TOOL_SCHEMA = {"type": "function", "function": {"name": "multiply", "description": "Multiply two integers.",
                                                "parameters": {"type": "object", "properties": {
                                                    "a": {"type": "integer"}, "b": {"type": "integer"}},
                                                    "required": ["a", "b"]}}}


class FakeOpenAI:
    """The chat completions endpoint: tool request when tools are offered and unanswered, else an answer."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> Any:
        body = json.loads(request.content)
        n = len(self.calls) + 1
        usage = {"prompt_tokens": 10 * n + len(body["messages"]), "completion_tokens": n + 2}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        answered = any(m.get("role") == "tool" for m in body["messages"])
        if body.get("tools") and not answered:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": f"call_{n}x", "type": "function",
                "function": {"name": "multiply", "arguments": json.dumps({"a": 17, "b": 23})}}]}
            finish = "tool_calls"
        else:
            last_user = [m for m in body["messages"] if m.get("role") == "user"][-1]["content"]
            text = last_user if isinstance(last_user, str) else json.dumps(last_user)
            message = {"role": "assistant", "content": f"Answer #{n}: {_answer_for(text)}"}
            finish = "stop"
        self.calls.append({"request": body, "message": message, "finish_reason": finish, "usage": usage})
        if body.get("stream"):
            return _streamed(n, message, finish, usage, body)
        return http.Response(200, json={"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1,
                                        "model": RESPONSE_MODEL, "usage": usage,
                                        "choices": [{"index": 0, "message": message, "finish_reason": finish}]})


def _streamed(n: int, message: dict[str, Any], finish: str, usage: dict[str, int], body: dict[str, Any]) -> Any:
    """The same answer as server-sent events: a role chunk, the text in pieces, the finish, then usage."""
    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        payload = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1, "model": RESPONSE_MODEL,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return f"data: {json.dumps(payload)}\n\n"

    text = message.get("content") or ""
    pieces = [chunk({"role": "assistant", "content": ""})]
    pieces += [chunk({"content": text[i:i + 8]}) for i in range(0, len(text), 8)]
    pieces.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage_chunk = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 1,
                       "model": RESPONSE_MODEL, "choices": [], "usage": usage}
        pieces.append(f"data: {json.dumps(usage_chunk)}\n\n")
    pieces.append("data: [DONE]\n\n")
    return http.Response(200, content="".join(pieces).encode(), headers={"content-type": "text/event-stream"})


def _answer_for(text: str) -> str:
    if "Eiffel" in text:
        return "It is 330 metres tall."
    if "17" in text:
        return "17 times 23 is 391."
    return "Hello, Ada!"


def multiply(a: int, b: int) -> str:
    return json.dumps({"product": a * b})


def summarize_calls(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """What the model endpoint saw and answered, for the truth file."""
    return {"llm_calls": len(calls), "model": RESPONSE_MODEL, "request_model": MODEL,
            "finish_reasons": [call["finish_reason"] for call in calls],
            "input_tokens": sum(call["usage"]["prompt_tokens"] for call in calls),
            "output_tokens": sum(call["usage"]["completion_tokens"] for call in calls),
            "call_outputs": [call["message"].get("content") or "" for call in calls],
            "call_tool_requests": [[c["function"]["name"] for c in call["message"].get("tool_calls") or []]
                                   for call in calls]}


# -- peers: instrument, plus how the app marks its own workflow / tool / retriever steps ---------------

class NoHooks:
    """Peers that trace only model calls: the app's own steps leave no spans.

    ``tool_function`` / ``retriever_function`` are what an app built on a tracer's decorators
    would call instead of the plain function (ours: ``@valiqor_trace.tool``, ``@valiqor_trace.retriever``).
    """

    def tool_function(self, func: Any) -> Any:
        return func

    def retriever_function(self, func: Any) -> Any:
        return func

    @contextlib.contextmanager
    def workflow(self, name: str, question: str, result: dict[str, Any]):  # noqa: ANN201
        yield

    @contextlib.contextmanager
    def tool(self, name: str, call_id: str, arguments: dict[str, Any], result: dict[str, Any]):  # noqa: ANN201
        yield

    @contextlib.contextmanager
    def retriever(self, query: str, documents: list[str]):  # noqa: ANN201
        yield


class OpenInferenceHooks(NoHooks):
    def __init__(self, provider: TracerProvider) -> None:
        from openinference.instrumentation import OITracer, TraceConfig

        self.tracer = OITracer(provider.get_tracer("peer-app"), config=TraceConfig())

    @contextlib.contextmanager
    def workflow(self, name, question, result):  # noqa: ANN001, ANN201
        with self.tracer.start_as_current_span(name, openinference_span_kind="chain") as span:
            span.set_input(question)
            yield
            span.set_output(result["answer"])

    @contextlib.contextmanager
    def tool(self, name, call_id, arguments, result):  # noqa: ANN001, ANN201
        with self.tracer.start_as_current_span(name, openinference_span_kind="tool") as span:
            span.set_tool(name=name, description=TOOL_SCHEMA["function"]["description"],
                          parameters=TOOL_SCHEMA["function"]["parameters"])
            span.set_input(json.dumps(arguments), mime_type="application/json")
            yield
            span.set_output(result["output"])

    @contextlib.contextmanager
    def retriever(self, query, documents):  # noqa: ANN001, ANN201
        from openinference.instrumentation import get_retriever_attributes

        with self.tracer.start_as_current_span("retrieve", openinference_span_kind="retriever") as span:
            span.set_input(query)
            yield
            span.set_attributes(get_retriever_attributes(documents=[
                {"id": f"d{i}", "content": text, "score": 1.0 - i / 10} for i, text in enumerate(documents)]))


class GenAIHooks(NoHooks):
    """The official GenAI helpers (opentelemetry-util-genai) for workflow, tool and retrieval spans."""

    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry.util.genai.handler import TelemetryHandler

        self.handler = TelemetryHandler(tracer_provider=provider)

    @contextlib.contextmanager
    def workflow(self, name, question, result):  # noqa: ANN001, ANN201
        from opentelemetry.util.genai.types import InputMessage, OutputMessage, Text

        with self.handler.workflow(name) as invocation:
            invocation.input_messages = [InputMessage(role="user", parts=[Text(content=question)])]
            yield
            invocation.output_messages = [OutputMessage(role="assistant", parts=[Text(content=result["answer"])],
                                                        finish_reason="stop")]

    @contextlib.contextmanager
    def tool(self, name, call_id, arguments, result):  # noqa: ANN001, ANN201
        with self.handler.tool(name, tool_call_id=call_id, tool_type="function") as invocation:
            invocation.arguments = arguments
            yield
            invocation.tool_result = result["output"]

    @contextlib.contextmanager
    def retriever(self, query, documents):  # noqa: ANN001, ANN201
        from opentelemetry.util.genai import types

        with self.handler.retrieval(data_source_id="kb") as invocation:
            invocation.query_text = query
            yield
            if hasattr(types, "RetrievalDocument"):  # util-genai >= 1.3: the semconv model, ids and scores only
                invocation.documents = [types.RetrievalDocument(id=f"d{i}", score=1.0 - i / 10)
                                        for i in range(len(documents))]
            else:  # util-genai 1.1 took any mapping, text included
                invocation.documents = [{"id": f"d{i}", "content": text, "score": 1.0 - i / 10}
                                        for i, text in enumerate(documents)]


class ValiqorHooks(NoHooks):
    """Our public API, as README "Tracing your app" shows it: a workflow, a decorated tool and retriever."""

    @contextlib.contextmanager
    def workflow(self, name, question, result):  # noqa: ANN001, ANN201
        import valiqor_trace

        with valiqor_trace.trace_workflow(name) as wf:
            wf.set_input(question)
            yield
            wf.set_output(result["answer"])

    def tool_function(self, func: Any) -> Any:
        import valiqor_trace

        return valiqor_trace.tool(TOOL_SCHEMA["function"]["name"],
                                  description=TOOL_SCHEMA["function"]["description"])(func)

    def retriever_function(self, func: Any) -> Any:
        import valiqor_trace

        return valiqor_trace.retriever("kb")(func)


def instrument(peer: str, provider: TracerProvider, logger_provider: Any) -> NoHooks:
    if peer in ("valiqor", "valiqor-langchain"):  # ours, as an app turns it on; LangChain's calls nest OpenAI's
        import valiqor_trace

        valiqor_trace.init(project_name="peer-app", tracer_provider=provider, exporters="none",
                           instrument=["openai"] if peer == "valiqor" else ["langchain", "openai"])
        return ValiqorHooks()
    if peer == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
        return OpenInferenceHooks(provider)
    if peer == "openinference-langchain":
        from openinference.instrumentation.langchain import LangChainInstrumentor
        LangChainInstrumentor().instrument(tracer_provider=provider)
    elif peer == "openai-v2":  # recorded only: tests/fixtures/peers/record_openai_v2.py
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
        return GenAIHooks(provider)
    elif peer == "openai-v2-default":  # as installed, untouched: no message content is recorded
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "false"
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif peer == "genai-openai":  # the official instrumentation on opentelemetry-util-genai >= 1.3
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as GenAIOpenAIInstrumentor
        GenAIOpenAIInstrumentor().instrument(tracer_provider=provider)
        return GenAIHooks(provider)
    elif peer == "genai-langchain":
        os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
        from opentelemetry.instrumentation.genai.langchain import LangChainInstrumentor as GenAILangChainInstrumentor
        GenAILangChainInstrumentor().instrument(tracer_provider=provider)
    elif peer == "genai-events":  # openai-v2 2.1b0: messages as per-message log events
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        from opentelemetry.sdk._events import EventLoggerProvider
        OpenAIInstrumentor().instrument(tracer_provider=provider,
                                        event_logger_provider=EventLoggerProvider(logger_provider))
    elif peer in ("openllmetry", "openllmetry-legacy"):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    elif peer == "openllmetry-langchain":
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor
        LangchainInstrumentor().instrument(tracer_provider=provider)
    else:
        raise SystemExit(f"unknown peer {peer!r}")
    return NoHooks()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True)
    parser.add_argument("--out", required=True, help="OTLP JSON lines (collector file exporter style)")
    parser.add_argument("--truth", required=True, help="what the apps sent and received, as JSON")
    parser.add_argument("--protobuf", help="also write the spans as one OTLP protobuf ExportTraceServiceRequest")
    parser.add_argument("--apps", default="chat,rag,tools")
    args = parser.parse_args()

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    logs = _log_pipeline()
    hooks = instrument(args.peer, provider, logs[0] if logs else None)
    fake = FakeOpenAI()
    if args.peer.endswith("langchain"):
        from langchain_apps import run_langchain_app as run_app  # noqa: PLC0415 - only LangChain peers need it
    else:
        from openai_apps import run_openai_app as run_app  # noqa: PLC0415
    truth = {}
    for app in args.apps.split(","):
        start = len(exporter.get_finished_spans())
        truth[app] = run_app(app, QUESTIONS[app], fake, hooks, http)
        spans = exporter.get_finished_spans()[start:]
        truth[app]["trace_ids"] = sorted({f"{s.context.trace_id:032x}" for s in spans})
    provider.force_flush()
    _write(args, exporter.get_finished_spans(), logs, truth)


def _log_pipeline() -> tuple[Any, Any] | None:
    try:
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs import export as log_export
    except ImportError:
        return None
    memory = getattr(log_export, "InMemoryLogRecordExporter", None) or getattr(log_export, "InMemoryLogExporter")
    logger_provider = LoggerProvider()
    exporter = memory()
    logger_provider.add_log_record_processor(log_export.SimpleLogRecordProcessor(exporter))
    return logger_provider, exporter


def _write(args: argparse.Namespace, spans: Any, logs: tuple[Any, Any] | None, truth: dict[str, Any]) -> None:
    from google.protobuf.json_format import MessageToDict
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    request = encode_spans(spans)  # the real OTLP exporter's encoding
    with open(args.out, "w", encoding="utf-8") as out:
        # One line per resource batch, as the collector's file exporter writes them.
        for resource_spans in request.resource_spans:
            document = MessageToDict(type(request)(resource_spans=[resource_spans]))
            out.write(json.dumps(_hex_ids(document)) + "\n")
        if logs is not None:
            from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

            records = logs[1].get_finished_logs()
            if records:
                out.write(json.dumps(_hex_ids(MessageToDict(encode_logs(records)))) + "\n")
    if args.protobuf:
        with open(args.protobuf, "wb") as out:
            out.write(request.SerializeToString())
    with open(args.truth, "w", encoding="utf-8") as out:
        json.dump(truth, out, indent=1)


def _hex_ids(node: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping writes base64."""
    if isinstance(node, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and v else _hex_ids(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_hex_ids(item) for item in node]
    return node


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
