"""Which traces monitoring analyzes: a deterministic rule on the trace ID, and a recording sampler.

The rule (the same in every process, service and language): read the low 64 bits of the
trace ID (its last 16 hex characters) as an unsigned integer; the trace is selected when
that number is below ``round(rate * 2**64)``. It is the arithmetic of OpenTelemetry's
``TraceIdRatioBased`` sampler, so with a monitoring rate at or below the export rate every
monitored trace is also an exported one (each verdict points at a trace your backend has).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from valiqor_trace._ids import normalize_trace_id

LOW_64_BITS = (1 << 64) - 1
# Attribute every verdict span starts with; RecordUnsampledSampler always samples those spans.
VERDICT_RUN_ID = "valiqor.fa.run_id"


def sample_threshold(rate: float) -> int:
    """The bound the low 64 bits of a trace ID are compared with: ``round(rate * 2**64)``."""
    return round(rate * (LOW_64_BITS + 1))


def trace_id_selected(trace_id: int | str, rate: float) -> bool:
    """True when monitoring at ``rate`` analyzes the trace ``trace_id`` (an int or 32-hex string)."""
    number = int(normalize_trace_id(trace_id), 16) if isinstance(trace_id, str) else trace_id
    return (number & LOW_64_BITS) < sample_threshold(rate)


class RecordUnsampledSampler(Sampler):
    """Delegates to ``base``, but records (without exporting) what ``base`` drops.

    Export processors skip spans whose sampled flag is off, so exporting is unchanged;
    the monitor processor sees every span and can analyze a trace that was not exported.
    Verdict spans (they start with ``valiqor.fa.run_id``) are always sampled, so that
    every verdict is exported.
    """

    def __init__(self, base: Sampler) -> None:
        self.base = base

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None, trace_state: TraceState | None = None) -> SamplingResult:
        if attributes and VERDICT_RUN_ID in attributes:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        result = self.base.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)
        if result.decision is Decision.DROP:
            # The span's own attributes: a dropping sampler returns none, and the SDK records what we return.
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"RecordUnsampled{{{self.base.get_description()}}}"


def record_unsampled(base: Sampler | None) -> RecordUnsampledSampler:
    """Wrap ``base`` (``None``: the SDK's default from ``OTEL_TRACES_SAMPLER``, else parent-based always-on)."""
    if base is None:
        try:
            from opentelemetry.sdk.trace import sampling

            base = sampling._get_from_env_or_default()  # the sampler TracerProvider() would pick
        except Exception:  # noqa: BLE001 - a private SDK helper: fall back to the SDK's documented default
            base = ParentBased(ALWAYS_ON)
    return RecordUnsampledSampler(base)
