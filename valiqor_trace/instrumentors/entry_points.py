"""Our instrumentors as ``opentelemetry_instrumentor`` entry points, for ``opentelemetry-instrument``.

``opentelemetry-instrument python app.py`` loads every installed entry point of that group and calls
``instrument()`` on it (docs/zero-code.md). These thin adapters give that loader what it expects, an
``opentelemetry.instrumentation`` ``BaseInstrumentor``, and hand the work to the same registry ``init()``
uses: a library is instrumented when the app imports it (never imported here), and a library ``init()``
already instrumented is not wrapped twice.

Only the loader imports this module: it needs ``opentelemetry-instrumentation``, which is not a dependency
of valiqor-trace (it comes with ``opentelemetry-distro``, the ``otel-instrument`` extra).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from valiqor_trace.instrumentors._registry import INTEGRATIONS, Integration, Integrations, is_installed

__all__ = ["LangChainEntryPoint", "LlamaIndexEntryPoint", "OpenAIEntryPoint"]

_BY_NAME = {integration.name: integration for integration in INTEGRATIONS}


class _EntryPoint(BaseInstrumentor):
    """One integration of the registry, switched on the way ``opentelemetry-instrument`` switches on its own."""

    integration_name: ClassVar[str]
    _integrations: Integrations | None = None

    @property
    def integration(self) -> Integration:
        return _BY_NAME[self.integration_name]

    def instrumentation_dependencies(self) -> Collection[str]:
        # The distribution alone: the supported versions are checked by our instrumentor when the library is
        # imported (one warning naming the range), as under init().
        return (self.integration.distribution,)

    def _instrument(self, **kwargs: Any) -> None:
        # The loader skips its dependency check for us (it checks a distribution's "instruments" extra,
        # which one package of three integrations cannot declare), so an absent library is skipped here.
        if not is_installed(self.integration.requires):
            return
        self._integrations = Integrations(kwargs.get("tracer_provider"))
        self._integrations.enable([self.integration_name])

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._integrations is not None:
            self._integrations.disable()
            self._integrations = None


class OpenAIEntryPoint(_EntryPoint):
    integration_name: ClassVar[str] = "openai"


class LangChainEntryPoint(_EntryPoint):
    integration_name: ClassVar[str] = "langchain"


class LlamaIndexEntryPoint(_EntryPoint):
    integration_name: ClassVar[str] = "llama_index"
