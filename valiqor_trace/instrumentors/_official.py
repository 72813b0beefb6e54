"""The official OpenTelemetry GenAI instrumentations, driven like our own instrumentors.

For a library we do not wrap ourselves (Anthropic, Google GenAI, Bedrock, the OpenAI Agents SDK), ``init()``
switches on the instrumentation the OpenTelemetry project publishes for it, installed by our extra
(``valiqor-trace[anthropic]``). This adapter gives it our instrumentor's shape (``instrument`` returns whether
it is on, ``uninstrument``) and sets it up the way ``init()`` was configured:

- content capture: the instrumentations read ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` when they
  start; ``capture_content=True`` asks for the messages as span attributes (where our exporters apply
  ``redact`` and the length cap), ``capture_content=False`` for none at all, whatever the environment said;
- a library version outside the instrumentation's range is one warning naming both, not an error log;
- an instrumentation the app switched on itself is left to the app (never instrumented twice, never turned off
  by our ``shutdown()``).
"""

from __future__ import annotations

import os
from typing import Any

from valiqor_trace.internal import get_content_policy, log_once

# Read by opentelemetry-util-genai, which every official GenAI instrumentation builds on.
CAPTURE_MESSAGE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
SPAN_ONLY = "SPAN_ONLY"  # messages as span attributes: the only form our exporters see and the analyzer reads
NO_CONTENT = "NO_CONTENT"


def configure_content_capture(environ: Any = None) -> None:
    """Point the official instrumentations' content switch at ``init()``'s ``capture_content``.

    Capture off always wins; capture on keeps a value the app set itself (an app that wants messages as
    log events only may say so), and otherwise asks for span attributes (their default is no content).
    """
    global _app_choice
    env = os.environ if environ is None else environ
    if _app_choice is None:  # what the app said before our first init(); a later init() must not read ours
        _app_choice = env.get(CAPTURE_MESSAGE_CONTENT_ENV, "").strip()
    if not get_content_policy().capture:
        env[CAPTURE_MESSAGE_CONTENT_ENV] = NO_CONTENT
    else:
        env[CAPTURE_MESSAGE_CONTENT_ENV] = _app_choice or SPAN_ONLY


_app_choice: str | None = None


class OfficialInstrumentor:
    """One official ``opentelemetry-instrumentation-*`` instrumentor, switched on and off by ``init()``."""

    def __init__(self, name: str, instrumentor_class: Any, extra: str) -> None:
        self.name = name
        self.extra = extra
        self._instrumentor = instrumentor_class()  # a per-class singleton in opentelemetry-instrumentation
        self._ours = False

    @property
    def is_instrumented(self) -> bool:
        return self._ours and bool(self._instrumentor.is_instrumented_by_opentelemetry)

    def instrument(self, *, tracer_provider: Any = None) -> bool:
        if self._instrumentor.is_instrumented_by_opentelemetry:
            log_once(f"official-by-app:{self.name}", "valiqor-trace: %s is already instrumented by the app's own "
                     "OpenTelemetry setup; its spans go to the app's provider", self.name)
            return False
        conflict = self._dependency_conflict()
        if conflict is not None:
            log_once(f"official-version:{self.name}", "valiqor-trace: %s is not traced: %s (pip install "
                     "'valiqor-trace[%s]' installs versions that fit)", self.name, conflict, self.extra)
            return False
        configure_content_capture()
        self._instrumentor.instrument(tracer_provider=tracer_provider, skip_dep_check=True)
        self._ours = bool(self._instrumentor.is_instrumented_by_opentelemetry)
        return self._ours

    def uninstrument(self) -> None:
        if self.is_instrumented:
            self._instrumentor.uninstrument()
        self._ours = False

    def _dependency_conflict(self) -> str | None:
        from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

        conflict = get_dependency_conflicts(self._instrumentor.instrumentation_dependencies())
        return str(conflict) if conflict is not None else None
