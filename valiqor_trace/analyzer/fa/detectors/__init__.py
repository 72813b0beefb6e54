"""The deterministic detectors, in the order the engine runs them.

Each module holds a few small checks and a ``DETECTORS`` tuple; this package joins them
into :data:`REGISTRY`. A detector covers one or more taxonomy subcategories; every
deterministic or hybrid subcategory is covered by at least one detector (a test checks).
"""

from __future__ import annotations

from valiqor_trace.analyzer.fa.detectors import (
    agent,
    calls,
    claims,
    compliance,
    contradiction,
    failed_tools,
    generation,
    grounding,
    injection,
    instructions,
    leaks,
    retrieval,
    schedule,
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
    *calls.DETECTORS,
    *agent.DETECTORS,
    *failed_tools.DETECTORS,
    *grounding.DETECTORS,
    *structured.DETECTORS,
    *schedule.DETECTORS,
    *contradiction.DETECTORS,
    *claims.DETECTORS,
    *compliance.DETECTORS,
    *instructions.DETECTORS,
    *injection.DETECTORS,
    *leaks.DETECTORS,
    *unsafe.DETECTORS,
)

__all__ = ["REGISTRY", "CheckResult", "Detector", "ItemView", "finding"]
