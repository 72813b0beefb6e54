"""The estimated cost of a model call, from its token usage and a maintained price table (docs/cost.md).

The table is ``genai-prices`` (the ``cost`` extra), read when traces are read (reconstruction, ``valiqor
traces show``), never on the path of an instrumented call: prices change and the table is updated, so a
trace read later is priced with the newer table at the call's own date, and tracing pays nothing for it.

Unknown is an answer: no table installed, no model, no token counts, or a model or provider the table does
not know all give ``None``, never a nearby model's price.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Provider names of the GenAI conventions (gen_ai.provider.name / gen_ai.system) and of OpenInference
# (llm.provider / llm.system) whose id in the table differs; others are looked up as they are.
_PROVIDER_IDS = {
    "azure.ai.openai": "azure", "azure.ai.inference": "azure", "az.ai.openai": "azure", "az.ai.inference": "azure",
    "aws.bedrock": "aws", "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
    "vertexai": "google", "mistral_ai": "mistral", "mistralai": "mistral", "x_ai": "x-ai", "xai": "x-ai",
}


@dataclass(frozen=True)
class CallUsage:
    """What a model call used, as its span recorded it."""

    model: str | None
    provider: str | None
    input_tokens: int | None  # all input tokens, cached ones included (as the GenAI conventions count them)
    output_tokens: int | None
    cache_read_tokens: int | None = None
    started_unix_nano: int | None = None  # the call's date picks the price in force then


PriceFunction = Callable[[CallUsage], float | None]


def _genai_prices() -> Any | None:
    try:
        return importlib.import_module("genai_prices")  # an optional extra: typed as Any wherever it is absent
    except ImportError:
        return None


def table_price(usage: CallUsage, genai_prices: Any) -> float | None:
    """The price in USD from ``genai_prices``' table, or None when the table does not price this call."""
    if not usage.model or usage.input_tokens is None or usage.output_tokens is None:
        return None
    day = (dt.datetime.fromtimestamp(usage.started_unix_nano / 1e9, dt.timezone.utc).date()
           if usage.started_unix_nano else None)
    return _table_price(usage.model, usage.provider.lower() if usage.provider else None, usage.input_tokens,
                        usage.output_tokens, usage.cache_read_tokens or None, day, genai_prices)


# A table lookup costs ~0.1 ms (model matching); calls that repeat a model, counts and day cost it once. Prices
# change by date, so the day of the call is as exact as its time.
@functools.lru_cache(maxsize=4096)
def _table_price(model: str, provider: str | None, input_tokens: int, output_tokens: int,
                 cache_read_tokens: int | None, day: dt.date | None, genai_prices: Any) -> float | None:
    when = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc) if day else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the table warns of a stale snapshot; the price is still its own
            result = genai_prices.calc_price(
                genai_prices.Usage(input_tokens=input_tokens, output_tokens=output_tokens,
                                   cache_read_tokens=cache_read_tokens),
                model, provider_id=_PROVIDER_IDS.get(provider, provider) if provider else None,
                genai_request_timestamp=when)
    except (LookupError, ValueError):  # a model or provider the table does not know, or counts it rejects
        return None
    return float(result.total_price)


class Pricing:
    """Prices model calls; ``price_function`` is the seam (default: the installed table, if any)."""

    def __init__(self, price_function: PriceFunction | None = None, *, available: bool = True) -> None:
        self._price = price_function
        self.available = available

    @classmethod
    def installed(cls) -> Pricing:
        """Pricing from ``genai-prices`` when it is installed; otherwise every cost is unknown."""
        module = _genai_prices()
        if module is None:
            return cls(None, available=False)
        return cls(functools.partial(table_price, genai_prices=module))

    def cost_usd(self, usage: CallUsage) -> float | None:
        return self._price(usage) if self._price is not None else None


_default: Pricing | None = None


def default_pricing() -> Pricing:
    """The process's pricing, built on first use (loading the table takes about a second, paid only when costs
    are read)."""
    global _default
    if _default is None:
        _default = Pricing.installed()
    return _default


def set_default_pricing(pricing: Pricing | None) -> Pricing | None:
    """Replace the process's pricing (tests: a table that is absent); None: back to the installed table.
    Returns the previous one."""
    global _default
    previous, _default = _default, pricing
    return previous
