"""The client users hold: ``valiqor_trace.ValiqorClient``."""

from __future__ import annotations

from valiqor_trace.analyzer.client._client import ValiqorClient

__all__ = ["ValiqorClient"]
