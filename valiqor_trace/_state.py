"""Process-wide state: the tracer our own spans (workflows, tools, retrievers) use.

The composition root (``init()``) tells this module which provider is live; the core
never needs to know what a handle is.
"""

from __future__ import annotations

from opentelemetry import trace

from valiqor_trace._version import __version__

TRACER_NAME = "valiqor_trace"
_provider: trace.TracerProvider | None = None


def set_tracer_provider(provider: trace.TracerProvider | None) -> None:
    """The provider of the active ``init()`` (None: no active handle, use the global one)."""
    global _provider
    _provider = provider


def tracer() -> trace.Tracer:
    """Our tracer on the provider ``init()`` chose (the global one before ``init()``)."""
    return trace.get_tracer(TRACER_NAME, __version__, tracer_provider=_provider)
