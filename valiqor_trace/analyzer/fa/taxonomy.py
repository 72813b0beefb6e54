"""Browse the failure taxonomy: buckets, subcategories, and which apply to which feature kind.

The data lives in :mod:`valiqor_trace.analyzer.fa._taxonomy_data`; this module answers questions about
it and validates ids. Every function returns fresh copies, so callers may mutate results.

Scope semantics: a subcategory's ``scope`` names the kind of feature it concerns;
``applies_to`` lists the feature kinds it is checked for (``generic_llm`` -> all four,
``rag`` -> rag and agentic_rag, ``agent`` -> agent and agentic_rag, ``agentic_rag`` -> itself).
``get_subcategories(scope=k)`` returns the subcategories that apply to kind ``k``.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.fa._taxonomy_data import BUCKETS
from valiqor_trace.analyzer.fa.models import FEATURE_KINDS

DETECTOR_TYPES: tuple[str, ...] = ("deterministic", "llm_judge", "hybrid")
_APPLIES_TO: dict[str, tuple[str, ...]] = {
    "generic_llm": FEATURE_KINDS,
    "rag": ("rag", "agentic_rag"),
    "agent": ("agent", "agentic_rag"),
    "agentic_rag": ("agentic_rag",),
}


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    buckets: dict[str, dict[str, Any]] = {}
    subcategories: dict[str, dict[str, Any]] = {}
    for bucket in BUCKETS:
        buckets[bucket["id"]] = bucket
        for sub in bucket["subcategories"]:
            if sub["id"] in subcategories:
                raise RuntimeError(f"duplicate subcategory id {sub['id']!r} in the taxonomy")
            subcategories[sub["id"]] = {
                **sub,
                "bucket_id": bucket["id"],
                "bucket_name": bucket["name"],
                "applies_to": list(_APPLIES_TO[sub["scope"]]),
            }
    return buckets, subcategories


def bucket_ids() -> list[str]:
    """Every bucket id, in taxonomy order."""
    return list(_index()[0])


def subcategory_ids() -> list[str]:
    """Every subcategory id, in taxonomy order."""
    return list(_index()[1])


def subcategory(subcategory_id: str) -> dict[str, Any]:
    """The subcategory record (with ``bucket_id``, ``bucket_name``, ``applies_to``), shared: do not mutate.

    Raises:
        ValidationError: unknown id; the message lists the valid ids.
    """
    found = _index()[1].get(subcategory_id)
    if found is None:
        raise ValidationError(
            f"unknown subcategory {subcategory_id!r}; valid subcategories: {', '.join(subcategory_ids())}"
        )
    return found


def applies_to(subcategory_id: str, feature_kind: str) -> bool:
    """Whether ``subcategory_id`` is checked for a feature of kind ``feature_kind``."""
    return feature_kind in _index()[1][subcategory_id]["applies_to"]


def _check_bucket(bucket_id: str) -> dict[str, Any]:
    bucket = _index()[0].get(bucket_id)
    if bucket is None:
        raise ValidationError(f"unknown bucket {bucket_id!r}; valid buckets: {', '.join(bucket_ids())}")
    return bucket


def _public_sub(sub: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(_index()[1][sub["id"]])


def get_taxonomy() -> list[dict[str, Any]]:
    """The whole taxonomy: a list of buckets, each ``{id, name, description, subcategories: [...]}``.

    Each subcategory has ``id, name, description, scope, applies_to, detector_type,
    default_impact, default_risk, signals, bucket_id, bucket_name``.
    """
    return [
        {
            "id": bucket["id"],
            "name": bucket["name"],
            "description": bucket["description"],
            "subcategories": [_public_sub(sub) for sub in bucket["subcategories"]],
        }
        for bucket in BUCKETS
    ]


def get_subcategories(
    bucket_id: str | None = None, scope: str | None = None, detector_type: str | None = None
) -> list[dict[str, Any]]:
    """Subcategories, optionally only those of one bucket, applying to one feature kind, or of one detector type.

    Args:
        bucket_id: a bucket id (see :func:`bucket_ids`).
        scope: a feature kind: ``rag``, ``agent``, ``agentic_rag`` or ``generic_llm``; returns
            the subcategories checked for that kind (generic ones included).
        detector_type: ``deterministic``, ``llm_judge`` or ``hybrid``.

    Raises:
        ValidationError: an unknown bucket, scope or detector type (the message lists valid values).
    """
    if bucket_id is not None:
        _check_bucket(bucket_id)
    if scope is not None and scope not in FEATURE_KINDS:
        raise ValidationError(f"unknown scope {scope!r}; valid scopes: {', '.join(FEATURE_KINDS)}")
    if detector_type is not None and detector_type not in DETECTOR_TYPES:
        raise ValidationError(
            f"unknown detector_type {detector_type!r}; valid detector types: {', '.join(DETECTOR_TYPES)}"
        )
    return [
        copy.deepcopy(sub)
        for sub in _index()[1].values()
        if (bucket_id is None or sub["bucket_id"] == bucket_id)
        and (scope is None or scope in sub["applies_to"])
        and (detector_type is None or sub["detector_type"] == detector_type)
    ]


def get_bucket_details(bucket_id: str) -> dict[str, Any]:
    """One bucket with its subcategories and counts by detector type and scope.

    Raises:
        ValidationError: unknown bucket id (the message lists the valid ones).
    """
    bucket = _check_bucket(bucket_id)
    subs = [_public_sub(sub) for sub in bucket["subcategories"]]
    by_type = {kind: sum(1 for s in subs if s["detector_type"] == kind) for kind in DETECTOR_TYPES}
    return {
        "id": bucket["id"],
        "name": bucket["name"],
        "description": bucket["description"],
        "subcategory_count": len(subs),
        "detector_types": by_type,
        "scopes": sorted({s["scope"] for s in subs}),
        "subcategories": subs,
    }
