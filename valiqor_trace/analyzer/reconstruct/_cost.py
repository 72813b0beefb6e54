"""The cost of a trace's model calls: each priced from its recorded usage (docs/cost.md), summed per item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from valiqor_trace.analyzer.reconstruct import _views as v
from valiqor_trace.internal import CallUsage, default_pricing


def call_cost(view: v.SpanView) -> float | None:
    """USD of the model call on ``view`` at the price of its day, or None when it cannot be priced."""
    call = view.llm
    if call is None:
        return None
    return default_pricing().cost_usd(CallUsage(
        model=call.response_model or call.request_model, provider=call.provider, input_tokens=call.input_tokens,
        output_tokens=call.output_tokens, cache_read_tokens=call.cache_read_tokens, started_unix_nano=view.start))


def cost_fact(costs: Sequence[float | None]) -> dict[str, Any]:
    """``{usd, llm_calls, unpriced_calls}``: usd sums the calls that could be priced (None when none could),
    so with unpriced calls it is a lower bound, and says so."""
    priced = [cost for cost in costs if cost is not None]
    return {"usd": sum(priced) if priced else None, "llm_calls": len(costs), "unpriced_calls": len(costs) - len(priced)}
