"""Instrumentors for LLM libraries; ``valiqor_trace.init()`` picks them up automatically.

Internal package: users call ``valiqor_trace.init(instrument=...)``. What ``init()``
uses from here is the registry of integrations (:class:`Integrations`); each
instrumentor is imported only when its library is.
"""

from __future__ import annotations

from valiqor_trace.instrumentors._registry import (
    INTEGRATIONS,
    Integration,
    Integrations,
    check_selection,
    load_instrumentor,
)

__all__ = ["INTEGRATIONS", "Integration", "Integrations", "check_selection", "load_instrumentor"]
