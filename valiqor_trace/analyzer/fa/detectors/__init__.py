"""The deterministic detectors, in the order the engine runs them.

Each module holds a few small checks and a ``DETECTORS`` tuple; this package joins them
into :data:`REGISTRY`. A detector covers one or more taxonomy subcategories; every
deterministic or hybrid subcategory is covered by at least one detector (a test checks).
"""

from __future__ import annotations

from valiqor_trace.analyzer.fa.detectors import (
    agent,
    claims,
    compliance,
    contradiction,
    generation,
    grounding,
    injection,
    leaks,
    retrieval,
    steps,
    structured,
    tools,
    unsafe,
)
from valiqor_trace.analyzer.fa.detectors.base import CheckResult, Detector, ItemView, finding

REGISTRY: tuple[Detector, ...] = (
    *generation.DETECTORS,
    *retrieval.DETECTORS,
    *tools.DETECTORS,
    *steps.DETECTORS,
    *agent.DETECTORS,
    *grounding.DETECTORS,
    *structured.DETECTORS,
    *contradiction.DETECTORS,
    *claims.DETECTORS,
    *compliance.DETECTORS,
    *injection.DETECTORS,
    *leaks.DETECTORS,
    *unsafe.DETECTORS,
)

__all__ = ["REGISTRY", "CheckResult", "Detector", "ItemView", "finding"]
