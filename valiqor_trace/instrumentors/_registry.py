"""The registry of integrations that ``init(instrument=...)`` can switch on.

Each integration names the module whose presence means the library is
installed, and where its instrumentor lives. Instrumentors are imported only
when their library is imported by the app, so nothing heavy loads at ``init()``.
The registry lives with the instrumentors (it names them), and ``init()`` takes
it from :mod:`valiqor_trace.instrumentors`: the core never names this layer.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import threading
from dataclasses import dataclass
from typing import Any

import wrapt

from valiqor_trace.instrumentors._official import OfficialInstrumentor
from valiqor_trace.instrumentors._official_llama_index import LlamaIndexAgentsInstrumentor
from valiqor_trace.internal import handle_internal_errors, log_once


@dataclass(frozen=True)
class Integration:
    name: str
    requires: str  # a module that is importable when the library is installed
    instrumentor: str  # "module:Class"
    extra: str  # pip extra that installs the library
    distribution: str  # the library's distribution (the instrumentor's ``library``), named without importing it
    official: bool = False  # the OpenTelemetry project's instrumentation (installed by the extra), not ours
    adapter: type[OfficialInstrumentor] = OfficialInstrumentor  # how init() drives an official one


INTEGRATIONS: tuple[Integration, ...] = (
    Integration("openai", "openai", "valiqor_trace.instrumentors.openai:OpenAIInstrumentor", "openai", "openai"),
    Integration("langchain", "langchain_core", "valiqor_trace.instrumentors.langchain:LangChainInstrumentor", "langchain",
                "langchain-core"),
    Integration("llama_index", "llama_index.core", "valiqor_trace.instrumentors.retrievers.llama_index:LlamaIndexInstrumentor",
                "llama-index", "llama-index-core"),
    # LiteLLM traces itself (its "otel" callback, switched on by the app); this only sets that callback up.
    Integration("litellm", "litellm", "valiqor_trace.instrumentors.litellm:LiteLLMCallbackSetup", "litellm",
                "litellm"),
    # Libraries we do not wrap: their official GenAI instrumentation (_official.py), from the library's extra.
    Integration("anthropic", "anthropic", "opentelemetry.instrumentation.genai.anthropic:AnthropicInstrumentor",
                "anthropic", "anthropic", official=True),
    Integration("google_genai", "google.genai",
                "opentelemetry.instrumentation.google_genai:GoogleGenAiSdkInstrumentor", "google-genai", "google-genai", official=True),
    Integration("bedrock", "boto3", "opentelemetry.instrumentation.genai.bedrock:BedrockInstrumentor", "bedrock", "boto3",
                official=True),
    # Agent, workflow and tool spans; the model calls under them are our openai instrumentor's.
    Integration("openai_agents", "agents",
                "opentelemetry.instrumentation.genai.openai_agents:OpenAIAgentsInstrumentor", "openai-agents",
                "openai-agents", official=True),
    # LlamaIndex agents and their tools (model calls: the provider's instrumentation; retrievals: ours above).
    Integration("llama_index_agents", "llama_index.core",
                "opentelemetry.instrumentation.genai.llama_index:LlamaIndexInstrumentor", "llama-index",
                "llama-index-core", official=True, adapter=LlamaIndexAgentsInstrumentor),
)
_BY_NAME = {integration.name: integration for integration in INTEGRATIONS}
# Which Integrations set instrumented each library in this process. Two sets can be live at once (init()
# and the opentelemetry-instrument entry points, docs/zero-code.md); the second must not wrap the library
# again, or every call would record two spans.
_OWNERS: dict[str, Integrations] = {}
_OWNERS_LOCK = threading.Lock()


def check_selection(selection: bool | list[str]) -> None:
    """Raise ``ValueError`` for names that are not integrations (a typo should be seen at once)."""
    if isinstance(selection, list):
        unknown = [name for name in selection if name not in _BY_NAME]
        if unknown:
            raise ValueError(f"init(instrument=...): unknown integration(s) {', '.join(unknown)}; "
                             f"known: {', '.join(_BY_NAME)}")


def is_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def load_instrumentor(integration: Integration) -> Any | None:
    """The instrumentor class of ``integration``, or None (with one warning) if ours cannot be imported.

    Our instrumentors ship in this package, so a failing import is a bug or an incompatible release of the
    library: said loudly, once, but never raised into the app that called ``init()``.
    """
    module_name, _, class_name = integration.instrumentor.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if integration.official and not is_installed(module_name):  # the app has the library, not our extra
            log_once(f"instrumentor-missing:{integration.name}", "valiqor-trace: %s calls are not traced: its "
                     "OpenTelemetry instrumentation is not installed (pip install 'valiqor-trace[%s]')",
                     integration.name, integration.extra)
            return None
        log_once(f"instrumentor-import:{integration.name}", "valiqor-trace: cannot load the %s instrumentor "
                 "(%s: %s); %s calls are not traced", integration.name, type(exc).__name__, exc, integration.name)
        return None
    return getattr(module, class_name, None)


class Integrations:
    """The integrations one ``init()`` switched on.

    Each selected library is instrumented when it is imported (a wrapt post-import
    hook; at once if it already is), so ``init()`` never pays to import libraries
    the app has not loaded yet.
    """

    def __init__(self, tracer_provider: Any) -> None:
        self.tracer_provider = tracer_provider
        self.active: dict[str, Any] = {}
        self._stopped = False
        self._lock = threading.RLock()

    def enable(self, selection: bool | list[str]) -> None:
        if selection is False:
            return
        explicit = isinstance(selection, list)
        for integration in [_BY_NAME[name] for name in selection] if isinstance(selection, list) else INTEGRATIONS:
            if not is_installed(integration.requires):
                if explicit:
                    log_once(f"missing:{integration.name}", "valiqor-trace: cannot instrument %s: the library is "
                             "not installed (pip install 'valiqor-trace[%s]')", integration.name, integration.extra)
                continue
            wrapt.register_post_import_hook(functools.partial(self._on_import, integration), integration.requires)

    def _on_import(self, integration: Integration, module: Any) -> None:
        with self._lock, handle_internal_errors(f"instrument {integration.name}"):
            if self._stopped or integration.name in self.active:
                return  # hooks cannot be unregistered: a stopped set ignores them
            with _OWNERS_LOCK:
                if integration.name in _OWNERS:
                    return  # already instrumented by another live set
                _OWNERS[integration.name] = self
            try:
                instrumentor_class = load_instrumentor(integration)
                if instrumentor_class is None:
                    return
                instrumentor = (integration.adapter(integration.name, instrumentor_class, integration.extra)
                                if integration.official else instrumentor_class())
                if instrumentor.instrument(tracer_provider=self.tracer_provider):
                    self.active[integration.name] = instrumentor
            finally:
                if integration.name not in self.active:
                    _release(integration.name, self)

    def disable(self) -> None:
        """Uninstrument everything and ignore later imports."""
        with self._lock:
            self._stopped = True
            active, self.active = self.active, {}
        for name, instrumentor in active.items():
            with handle_internal_errors(f"uninstrument {name}"):
                instrumentor.uninstrument()
            _release(name, self)


def _release(name: str, owner: Integrations) -> None:
    with _OWNERS_LOCK:
        if _OWNERS.get(name) is owner:
            del _OWNERS[name]
