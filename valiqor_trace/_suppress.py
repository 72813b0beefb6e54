"""Turn instrumentation off for a block: our own I/O (export, judge calls) must never be traced."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY


@contextlib.contextmanager
def suppress_instrumentation() -> Iterator[None]:
    """Inside this block, every OTel instrumentation (ours and the standard ones) records nothing."""
    token = otel_context.attach(otel_context.set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        yield
    finally:
        otel_context.detach(token)


def is_instrumentation_suppressed() -> bool:
    """True inside :func:`suppress_instrumentation` or OTel's own equivalent."""
    return bool(otel_context.get_value(_SUPPRESS_INSTRUMENTATION_KEY))
