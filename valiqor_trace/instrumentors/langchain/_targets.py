"""What the LangChain instrumentor wraps, declared once as data, and how a target is looked up.

Most targets are private LangChain/LangGraph functions (``_set_config_context``,
``_generate_with_cache``, ...): no release promises them, so each one names the
distribution that owns it and, when it exists only in some releases, which.
tests/instrumentors/langchain/test_langchain_hooks.py checks every target against
the installed langchain-core and langgraph (CI runs it on 0.3.x and the latest 1.x).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass
from typing import Any

__all__ = ["WRAP_TARGETS", "WrapTarget", "installed_version", "is_expected", "resolve"]

_CHAT = "langchain_core.language_models.chat_models"
_LLMS = "langchain_core.language_models.llms"


@dataclass(frozen=True)
class WrapTarget:
    """One function we wrap.

    Attributes:
        module: the module that defines it.
        attribute: ``"Class.method"`` or ``"function"`` in that module.
        hook: which wrapper goes around it (a key of the instrumentor's hook table).
        scope: the span kind the wrapper makes current (``llm``, ``retrieval``); empty when it needs none.
        distribution: the distribution that ships ``module`` (its version is named when the target is missing).
        versions: PEP 440 range of the releases that have it; empty: every release we support.
    """

    module: str
    attribute: str
    hook: str
    scope: str = ""
    distribution: str = "langchain-core"
    versions: str = ""

    @property
    def name(self) -> str:
        return f"{self.module}.{self.attribute}"


WRAP_TARGETS: tuple[WrapTarget, ...] = (
    # Every run starts from a manager CallbackManager.configure built; child runs' managers inherit from it.
    WrapTarget("langchain_core.callbacks.manager", "_configure", "inject"),
    # Run bodies: the run's span is current while LangChain executes the run.
    WrapTarget("langchain_core.runnables.config", "_set_config_context", "config_context"),
    WrapTarget("langgraph._internal._runnable", "_set_config_context", "config_context", distribution="langgraph"),
    WrapTarget(_CHAT, "BaseChatModel._generate_with_cache", "run_call", "llm"),
    WrapTarget(_CHAT, "BaseChatModel._agenerate_with_cache", "run_async_call", "llm"),
    # The stream_v2 event pump, added in langchain-core 1.3.2.
    WrapTarget(_CHAT, "BaseChatModel._iter_v2_events", "run_stream", "llm", versions=">=1.3.2"),
    WrapTarget(_CHAT, "BaseChatModel._aiter_v2_events", "run_async_stream", "llm", versions=">=1.3.2"),
    WrapTarget(_CHAT, "BaseChatModel.stream", "scoped_stream", "llm"),
    WrapTarget(_CHAT, "BaseChatModel.astream", "scoped_async_stream", "llm"),
    WrapTarget(_LLMS, "BaseLLM._generate_helper", "run_call", "llm"),
    WrapTarget(_LLMS, "BaseLLM._agenerate_helper", "run_async_call", "llm"),
    WrapTarget(_LLMS, "BaseLLM.stream", "scoped_stream", "llm"),
    WrapTarget(_LLMS, "BaseLLM.astream", "scoped_async_stream", "llm"),
    WrapTarget("langchain_core.retrievers", "BaseRetriever.invoke", "scoped_call", "retrieval"),
    WrapTarget("langchain_core.retrievers", "BaseRetriever.ainvoke", "scoped_async_call", "retrieval"),
)


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_expected(target: WrapTarget) -> bool:
    """Whether the installed packages should have ``target``: its library is importable, in its range."""
    try:
        if importlib.util.find_spec(target.module.partition(".")[0]) is None:
            return False  # an optional library (LangGraph) that is not installed
    except (ImportError, ValueError):
        return False
    version = installed_version(target.distribution)
    if not target.versions or version is None:  # no metadata (vendored, source tree): try it
        return True
    from packaging.specifiers import SpecifierSet

    return version in SpecifierSet(target.versions, prereleases=True)


def resolve(target: WrapTarget) -> tuple[Any, Any, str] | None:
    """(module, owner, attribute name) of ``target``, or None when the module or the attribute is missing."""
    try:
        module = importlib.import_module(target.module)
    except ImportError:
        return None
    owner_path, _, method = target.attribute.rpartition(".")
    owner: Any = module
    for part in filter(None, owner_path.split(".")):
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    return (module, owner, method) if hasattr(owner, method) else None
