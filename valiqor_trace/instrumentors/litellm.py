"""LiteLLM: its own OpenTelemetry callback traces it; ``init()`` only sets that callback up to fit our traces.

The app turns the callback on (``litellm.callbacks = ["otel"]``); it writes to the global tracer provider,
which ``init()`` sets. Two of its settings are chosen when the app imports ``litellm`` (not when the app set
them itself; ``shutdown()`` puts them back):

- ``USE_OTEL_LITELLM_REQUEST_SPAN=true``: a request made inside another span gets a span of its own under it.
  Without it LiteLLM writes the request's attributes onto that span (our workflow, or a LangChain run), after
  the call, from another thread: on a span that has often ended (the attributes are lost, with one warning
  each), else as if ours (its messages would then skip ``redact``: our spans are redacted when written).
- ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``: from ``capture_content``, as for the official
  instrumentations (LiteLLM reads it when the callback starts).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from valiqor_trace.instrumentors._official import configure_content_capture

__all__ = ["LiteLLMCallbackSetup"]

REQUEST_SPAN_ENV = "USE_OTEL_LITELLM_REQUEST_SPAN"


class LiteLLMCallbackSetup:
    """Sets LiteLLM's OpenTelemetry callback up (it instruments LiteLLM itself)."""

    name: ClassVar[str] = "litellm"

    def __init__(self) -> None:
        self._set_by_us = False

    @property
    def is_instrumented(self) -> bool:
        return self._set_by_us

    def instrument(self, *, tracer_provider: Any = None) -> bool:
        configure_content_capture()
        if REQUEST_SPAN_ENV not in os.environ:
            os.environ[REQUEST_SPAN_ENV] = "true"
            self._set_by_us = True
        return True

    def uninstrument(self) -> None:
        if self._set_by_us:
            os.environ.pop(REQUEST_SPAN_ENV, None)
        self._set_by_us = False
