"""``OpenAIInstrumentor``: wraps the SDK's resource methods (sync and async) and puts them back."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import wrapt

from valiqor_trace.instrumentors._base import BaseInstrumentor
from valiqor_trace.instrumentors.openai._call import Endpoint
from valiqor_trace.instrumentors.openai._chat import CHAT
from valiqor_trace.instrumentors.openai._completions import COMPLETIONS
from valiqor_trace.instrumentors.openai._embeddings import EMBEDDINGS
from valiqor_trace.instrumentors.openai._patch import async_helper_close_wrapper, async_wrapper, helper_close_wrapper, sync_wrapper
from valiqor_trace.instrumentors.openai._responses import RESPONSES
from valiqor_trace.internal import log_once


@dataclass(frozen=True)
class Target:
    """One method to wrap: ``module.cls.method``; absent ones (older SDKs) are skipped."""

    module: str
    cls: str
    method: str
    endpoint: Endpoint | None  # None: a ``.stream()`` helper's close()
    is_async: bool
    may_call_create: bool = False  # the SDK method may run a wrapped ``create`` for the same request


def _api(module: str, sync_cls: str, async_cls: str, method: str, endpoint: Endpoint,
         may_call_create: bool = False) -> tuple[Target, Target]:
    return (Target(module, sync_cls, method, endpoint, False, may_call_create),
            Target(module, async_cls, method, endpoint, True, may_call_create))


TARGETS: tuple[Target, ...] = (
    *_api("openai.resources.chat.completions", "Completions", "AsyncCompletions", "create", CHAT),
    *_api("openai.resources.chat.completions", "Completions", "AsyncCompletions", "parse", CHAT),
    # openai 1.40-1.9x kept parse() under beta; newer SDKs alias it to the class above (deduplicated).
    # openai 1.40's beta parse() calls chat.completions.create(): that inner call records no second span.
    *_api("openai.resources.beta.chat.completions", "Completions", "AsyncCompletions", "parse", CHAT, True),
    *_api("openai.resources.responses", "Responses", "AsyncResponses", "create", RESPONSES),
    *_api("openai.resources.responses", "Responses", "AsyncResponses", "parse", RESPONSES),
    *_api("openai.resources.embeddings", "Embeddings", "AsyncEmbeddings", "create", EMBEDDINGS),
    *_api("openai.resources.completions", "Completions", "AsyncCompletions", "create", COMPLETIONS),
    Target("openai.lib.streaming.chat", "ChatCompletionStream", "close", None, False),
    Target("openai.lib.streaming.chat", "AsyncChatCompletionStream", "close", None, True),
    Target("openai.lib.streaming.responses", "ResponseStream", "close", None, False),
    Target("openai.lib.streaming.responses", "AsyncResponseStream", "close", None, True),
)


def _resolve(target: Target) -> Any | None:
    try:
        owner = getattr(importlib.import_module(target.module), target.cls)
    except (ImportError, AttributeError):
        return None
    return owner if target.method in vars(owner) else None


class OpenAIInstrumentor(BaseInstrumentor):
    """Traces the ``openai`` SDK: chat completions, Responses, embeddings and legacy completions.

    Covers ``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI``, ``AsyncAzureOpenAI`` and any
    client with a custom ``base_url``, because it wraps the resource classes they share.
    ``valiqor_trace.init()`` turns it on; use it directly only with your own provider::

        OpenAIInstrumentor().instrument(tracer_provider=provider)
    """

    name: ClassVar[str] = "openai"
    library: ClassVar[str] = "openai"
    # pyproject's floor through 3.x; CI runs the tests on 1.40.0, the last 1.x and 2.x, and the latest 3.x.
    supported_versions: ClassVar[str] = ">=1.40,<4"

    def __init__(self) -> None:
        super().__init__()
        self._wrapped: list[tuple[Any, str, Any, Any]] = []  # (owner, method, original, our wrapper)

    def _instrument(self, *, tracer_provider: Any = None, **options: Any) -> None:
        seen: set[tuple[int, str]] = set()
        for target in TARGETS:
            owner = _resolve(target)
            if owner is None or (id(owner), target.method) in seen:
                continue
            seen.add((id(owner), target.method))
            original = vars(owner)[target.method]
            wrapper = wrapt.wrap_function_wrapper(owner, target.method, self._wrapper_for(target))
            self._wrapped.append((owner, target.method, original, wrapper))

    def _wrapper_for(self, target: Target) -> Any:
        if target.endpoint is None:
            return async_helper_close_wrapper() if target.is_async else helper_close_wrapper()
        factory = async_wrapper if target.is_async else sync_wrapper
        assert self.tracer is not None  # instrument() sets it before _instrument()
        return factory(self.tracer, target.endpoint, may_call_create=target.may_call_create)

    def _uninstrument(self) -> None:
        for owner, method, original, wrapper in reversed(self._wrapped):
            if vars(owner).get(method) is wrapper:
                setattr(owner, method, original)
            else:  # someone wrapped on top of us; removing our layer would remove theirs
                log_once(f"unwrap:{owner.__qualname__}.{method}", "valiqor-trace: %s.%s was wrapped again after "
                         "valiqor-trace instrumented it; it is left as is", owner.__qualname__, method)
        self._wrapped.clear()
