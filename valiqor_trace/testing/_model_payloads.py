"""Wire shapes of the OpenAI API for the scripted model server: replies, chunks, events, errors.

Pure functions from a :class:`~valiqor_trace.testing.model_server.Reply` and the
request body to JSON-ready dicts, so they can be tested without sockets.
"""

from __future__ import annotations

import array
import base64
import hashlib
import itertools
import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from valiqor_trace.testing.model_server import Reply

_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


def count_tokens(text: str) -> int:
    """A stand-in tokenizer: whitespace-separated words (deterministic, good enough for usage numbers)."""
    return len(text.split())


def prompt_text(body: dict[str, Any]) -> str:
    """All the text a request sends, for usage counts."""
    parts: list[str] = []
    for message in body.get("messages") or ():
        parts.append(_content_text(message.get("content")))
    value = body.get("input", body.get("prompt"))
    if isinstance(value, str):
        parts.append(value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                parts.append(_content_text(item.get("content")))
    if isinstance(body.get("instructions"), str):
        parts.append(body["instructions"])
    return " ".join(parts)


def last_user_text(body: dict[str, Any]) -> str:
    """The text a script rule is matched against: the last user message, input or prompt."""
    for message in reversed(body.get("messages") or ()):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    value = body.get("input", body.get("prompt"))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for item in reversed(value):
            if isinstance(item, dict) and item.get("role") == "user":
                return _content_text(item.get("content"))
            if isinstance(item, str):
                return item
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def split_text(text: str, pieces: int | None) -> list[str]:
    """``text`` in ``pieces`` parts (default: one per word, spaces kept) that join back exactly."""
    if not text:
        return []
    if pieces is None:
        words = text.split(" ")
        return [word + (" " if index < len(words) - 1 else "") for index, word in enumerate(words)]
    size = max(1, math.ceil(len(text) / pieces))
    return [text[start:start + size] for start in range(0, len(text), size)]


def error_body(reply: Reply) -> dict[str, Any]:
    return {"error": {"message": reply.error_message or f"scripted error {reply.status}",
                      "type": reply.error_type or "server_error", "param": None, "code": reply.error_code}}


def _usage(reply: Reply, body: dict[str, Any], output: str) -> tuple[int, int]:
    if reply.usage is not None:
        return reply.usage
    return count_tokens(prompt_text(body)), count_tokens(output) + sum(
        count_tokens(call.arguments) for call in reply.tool_calls)


# --- chat completions ---------------------------------------------------------------------------


def chat_completion(reply: Reply, body: dict[str, Any], model: str) -> dict[str, Any]:
    text = reply.text
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": reply.refusal}
    if reply.tool_calls:
        message["tool_calls"] = [{"id": call.id, "type": "function",
                                  "function": {"name": call.name, "arguments": call.arguments}}
                                 for call in reply.tool_calls]
    prompt_tokens, completion_tokens = _usage(reply, body, text or "")
    choices = [{"index": index, "message": message, "finish_reason": reply.finish, "logprobs": None}
               for index in range(int(body.get("n") or 1))]
    return {"id": new_id("chatcmpl"), "object": "chat.completion", "created": int(time.time()), "model": model,
            "system_fingerprint": "fp_scripted", "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def chat_chunks(reply: Reply, body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    """Every chunk of a streamed chat reply, in order (without the final ``[DONE]``)."""
    completion_id, created = new_id("chatcmpl"), int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": "fp_scripted", "choices": choices, **extra}

    choice_count = int(body.get("n") or 1)
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in split_text(reply.text or "", reply.chunks)]
    for call_index, call in enumerate(reply.tool_calls):
        deltas.append({"tool_calls": [{"index": call_index, "id": call.id, "type": "function",
                                       "function": {"name": call.name, "arguments": ""}}]})
        deltas += [{"tool_calls": [{"index": call_index, "function": {"arguments": piece}}]}
                   for piece in split_text(call.arguments, 3)]
    chunks = [chunk([{"index": index, "delta": delta, "finish_reason": None} for index in range(choice_count)])
              for delta in deltas]
    chunks.append(chunk([{"index": index, "delta": {}, "finish_reason": reply.finish}
                         for index in range(choice_count)]))
    if (body.get("stream_options") or {}).get("include_usage"):
        prompt_tokens, completion_tokens = _usage(reply, body, reply.text or "")
        chunks.append(chunk([], usage={"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                       "total_tokens": prompt_tokens + completion_tokens}))
    return chunks


# --- legacy completions -------------------------------------------------------------------------


def text_completion(reply: Reply, body: dict[str, Any], model: str) -> dict[str, Any]:
    prompt_tokens, completion_tokens = _usage(reply, body, reply.text or "")
    return {"id": new_id("cmpl"), "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "text": reply.text or "", "finish_reason": reply.finish, "logprobs": None}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def text_completion_chunks(reply: Reply, body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    completion_id, created = new_id("cmpl"), int(time.time())
    pieces = split_text(reply.text or "", reply.chunks)
    return [{"id": completion_id, "object": "text_completion", "created": created, "model": model,
             "choices": [{"index": 0, "text": piece, "logprobs": None,
                          "finish_reason": reply.finish if index == len(pieces) - 1 else None}]}
            for index, piece in enumerate(pieces or [""])]


# --- responses ----------------------------------------------------------------------------------


def _response_items(reply: Reply) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.text is not None:
        items.append({"type": "message", "id": new_id("msg"), "role": "assistant", "status": "completed",
                      "content": [{"type": "output_text", "text": reply.text, "annotations": []}]})
    for call in reply.tool_calls:
        items.append({"type": "function_call", "id": new_id("fc"), "call_id": call.id, "name": call.name,
                      "arguments": call.arguments, "status": "completed"})
    return items


def response_object(reply: Reply, body: dict[str, Any], model: str, *, status: str = "completed",
                    output: list[dict[str, Any]] | None = None, response_id: str | None = None) -> dict[str, Any]:
    input_tokens, output_tokens = _usage(reply, body, reply.text or "")
    incomplete = reply.finish_reason == "length"
    if status == "completed" and incomplete:
        status = "incomplete"
    return {
        "id": response_id or new_id("resp"), "object": "response", "created_at": int(time.time()), "model": model,
        "status": status, "output": _response_items(reply) if output is None else output,
        "instructions": body.get("instructions"), "tools": body.get("tools") or [], "tool_choice": "auto",
        "parallel_tool_calls": True, "temperature": body.get("temperature"), "top_p": body.get("top_p"),
        "error": None, "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "metadata": {}, "text": body.get("text") or {"format": {"type": "text"}},
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                  "total_tokens": input_tokens + output_tokens,
                  "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
        if status != "in_progress" else None,
    }


def response_events(reply: Reply, body: dict[str, Any], model: str) -> list[dict[str, Any]]:
    """The event sequence of a streamed Responses reply, ``response.created`` to ``response.completed``."""
    response_id = new_id("resp")
    sequence = itertools.count()
    events: list[dict[str, Any]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append({"type": kind, "sequence_number": next(sequence), **fields})

    in_progress = response_object(reply, body, model, status="in_progress", output=[], response_id=response_id)
    emit("response.created", response=in_progress)
    emit("response.in_progress", response=in_progress)
    items = _response_items(reply)
    for index, item in enumerate(items):
        if item["type"] == "message":
            emit("response.output_item.added", output_index=index,
                 item={**item, "status": "in_progress", "content": []})
            part = {"type": "output_text", "text": "", "annotations": []}
            emit("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=part)
            for piece in split_text(reply.text or "", reply.chunks):
                emit("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                     delta=piece, logprobs=[])
            emit("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                 text=reply.text, logprobs=[])
            emit("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                 part={**part, "text": reply.text})
        else:
            emit("response.output_item.added", output_index=index,
                 item={**item, "arguments": "", "status": "in_progress"})
            for piece in split_text(item["arguments"], 3):
                emit("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece)
            emit("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                 arguments=item["arguments"], name=item["name"])
        emit("response.output_item.done", output_index=index, item=item)
    final = response_object(reply, body, model, output=items, response_id=response_id)
    emit(f"response.{final['status']}", response=final)
    return events


# --- embeddings ---------------------------------------------------------------------------------


def embedding_vector(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector derived from ``text`` (equal texts, equal vectors)."""
    digest = b""
    counter = 0
    while len(digest) < dimensions:
        digest += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    values = [(byte - 127.5) / 127.5 for byte in digest[:dimensions]]
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return [value / norm for value in values]


def embeddings(body: dict[str, Any], model: str, dimensions: int) -> dict[str, Any]:
    value = body.get("input")
    texts = [value] if isinstance(value, str) else [item if isinstance(item, str) else repr(item)
                                                     for item in (value or [])]
    size = int(body.get("dimensions") or dimensions)
    data = []
    for index, text in enumerate(texts):
        vector = embedding_vector(text, size)
        encoded: Any = vector
        if body.get("encoding_format") == "base64":
            encoded = base64.b64encode(array.array("f", vector).tobytes()).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(count_tokens(text) for text in texts)
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
