"""``MonitorConfig``: what sampled production monitoring analyzes, how often, and whom it tells.

``init(monitor=...)`` takes ``True``, a :class:`MonitorConfig`, or a dict of its fields.
For ``True`` and dicts, ``VALIQOR_MONITOR_*`` environment variables fill the fields
that were not given (see :data:`ENV_FIELDS`); a :class:`MonitorConfig` is used as is.
A bad argument raises ``ValueError`` naming the field; a bad environment value is
logged and ignored, as for every other setting.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from valiqor_trace._parsers import (
    file_path_parser,
    parse_bool,
    parse_headers,
    parse_rate,
    parse_seconds,
    parse_url,
)
from valiqor_trace._settings import Setting, env_value

FEATURE_KINDS = ("rag", "agent", "agentic_rag", "generic_llm")
# Webhook URLs often carry their secret (Slack, Teams): errors and logs never show these values.
_SECRET_FIELDS = ("webhook_url", "webhook_headers")
_WEBHOOK_EXAMPLE = "https://hooks.example.com/valiqor"


@dataclass(frozen=True)
class MonitorConfig:
    """Settings of sampled production monitoring (``init(monitor=MonitorConfig(...))``).

    Sampling and rules:
        sample_rate: share of traces analyzed, chosen by trace ID (see ``docs/monitoring.md``): the low 64
            bits of the trace ID, read as an unsigned integer, are below ``round(sample_rate * 2**64)``.
        always_on_error: also analyze every trace with a span whose status is ERROR.
        max_per_minute: at most this many analyses start per minute (the rest are counted as
            ``rate_limited``); ``None`` for no limit.
        projects: only traces whose root span's project (``valiqor.project_name``) is one of these.
        span_names: only traces with a span whose name matches one of these ``fnmatch`` patterns.
        feature_kinds: only traces whose reconstructed item is of one of these kinds
            (rag, agent, agentic_rag, generic_llm).

    Analysis:
        feature_kind: analyze every trace as this kind (default: inferred per trace).
        buckets, subcategories: restrict FA to these (default: all).
        judge: use the LLM judge configured for ``ValiqorClient`` (key, model, base URL); default off, so
            monitoring is deterministic and costs nothing per trace.
        run_store_path: the run store monitoring runs go to; default ``$VALIQOR_HOME/runs.db``.
        emit_verdict: record each verdict as a ``fa.verdict`` span linked to the analyzed trace.
        analyze: replace the built-in analysis by your own function of a
            :class:`~valiqor_trace.monitor.CompletedTrace` (it runs on the worker thread).

    Alerts (when the run's ``summary.should_alert`` holds, under the thresholds below):
        alert_severity, alert_confidence: a failing tag at or above both alerts.
        on_alert: called with each :class:`~valiqor_trace.analyzer.monitor.Alert` (on the worker thread).
        webhook_url: POSTed a JSON body per alert (trace_id, run_id, failures, ...), with retries.
        webhook_headers: extra headers for the webhook (e.g. an auth token).
        webhook_timeout_s, webhook_max_attempts, webhook_backoff_s: per attempt; attempts; first pause
            (doubling) between attempts.
        alert_cooldown_s: after an alert for a failure type, the same type does not alert again for this
            long (the alerts it would have sent are counted and reported with the next one).

    Bounds:
        grace_period_s: wait this long after a trace's local root span ends for late child spans.
        max_spans_per_trace: spans kept per trace in memory (the oldest child is evicted beyond it).
        max_traces_in_flight: traces buffered at once (the oldest is evicted beyond it).
        queue_size: completed traces waiting for the worker (new ones are dropped beyond it).
        workers: analysis threads (with ``executor="process"``: analysis processes, one per thread).
        executor: ``thread`` (default): FA runs in the worker threads, sharing the app's GIL; ``process``: FA
            runs in child processes (``python -m valiqor_trace.analyzer.monitor._child``), so it never holds the app's GIL.
        shutdown_timeout_s: how long shutdown waits for queued analyses before giving up on them.
        record_unsampled: when ``init()`` creates the provider, record (but do not export) traces that
            export sampling drops, so that they can still be analyzed. Off: only exported traces are seen.
    """

    sample_rate: float = 0.1
    always_on_error: bool = True
    max_per_minute: int | None = 60
    projects: tuple[str, ...] | None = None
    span_names: tuple[str, ...] | None = None
    feature_kinds: tuple[str, ...] | None = None
    feature_kind: str | None = None
    buckets: tuple[str, ...] | None = None
    subcategories: tuple[str, ...] | None = None
    judge: bool = False
    run_store_path: str | None = None
    emit_verdict: bool = True
    analyze: Callable[[Any], Any] | None = None
    alert_severity: float = 4.0
    alert_confidence: float = 0.7
    on_alert: Callable[[Any], Any] | None = None
    webhook_url: str | None = field(default=None, repr=False)  # a Slack/Teams webhook URL is itself the credential
    webhook_headers: Mapping[str, str] | None = field(default=None, repr=False)
    webhook_timeout_s: float = 5.0
    webhook_max_attempts: int = 3
    webhook_backoff_s: float = 0.5
    alert_cooldown_s: float = 300.0
    grace_period_s: float = 0.5
    max_spans_per_trace: int = 1000
    max_traces_in_flight: int = 1000
    queue_size: int = 100
    workers: int = 1
    executor: str = "thread"
    shutdown_timeout_s: float = 5.0
    record_unsampled: bool = True

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, check(value))
            except (TypeError, ValueError) as exc:
                shown = "..." if name in _SECRET_FIELDS else repr(value)
                raise ValueError(f"MonitorConfig({name}={shown}): {exc}") from None
        if self.feature_kind is not None and self.feature_kind not in FEATURE_KINDS:
            raise ValueError(f"MonitorConfig(feature_kind={self.feature_kind!r}): expected one of "
                             f"{', '.join(FEATURE_KINDS)}")
        unknown = sorted(set(self.feature_kinds or ()) - set(FEATURE_KINDS))
        if unknown:
            raise ValueError(f"MonitorConfig(feature_kinds=...): unknown kind(s) {', '.join(unknown)}; expected "
                             f"{', '.join(FEATURE_KINDS)}")


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) <= 0:
        raise ValueError("expected a positive whole number")
    return int(value)


def _optional_limit(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return _positive_int(value)
    except (TypeError, ValueError):
        raise ValueError("expected a positive whole number, or None for no limit") from None


def _names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(item, str) and item for item in items):
        raise ValueError("expected a non-empty list of names (or a comma-separated string)")
    return tuple(items)


def _callable(value: Any) -> Any:
    if value is not None and not callable(value):
        raise ValueError("expected a function")
    return value


def _executor(value: Any) -> str:
    if value not in ("thread", "process"):
        raise ValueError("expected 'thread' or 'process'")
    return value


def _url(value: Any) -> str | None:
    return None if value is None else parse_url(value, example=_WEBHOOK_EXAMPLE, echo=False)


def _headers(value: Any) -> dict[str, str] | None:
    return None if value is None else parse_headers(value)


_runs_file = file_path_parser("runs.db")


def _optional_path(value: Any) -> str | None:
    return None if value is None else _runs_file(value)


def _optional_str(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError("expected a non-empty string")
    return value


def _severity(value: Any) -> float:
    if isinstance(value, bool) or not 0.0 <= float(value) <= 5.0:
        raise ValueError("expected a severity between 0 and 5")
    return float(value)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "sample_rate": parse_rate, "always_on_error": parse_bool, "max_per_minute": _optional_limit, "projects": _names,
    "span_names": _names, "feature_kinds": _names, "feature_kind": _optional_str, "buckets": _names,
    "subcategories": _names, "judge": parse_bool, "run_store_path": _optional_path, "emit_verdict": parse_bool,
    "analyze": _callable, "alert_severity": _severity, "alert_confidence": parse_rate, "on_alert": _callable,
    "webhook_url": _url, "webhook_headers": _headers, "webhook_timeout_s": parse_seconds,
    "webhook_max_attempts": _positive_int, "webhook_backoff_s": parse_seconds, "alert_cooldown_s": parse_seconds,
    "grace_period_s": parse_seconds, "max_spans_per_trace": _positive_int, "max_traces_in_flight": _positive_int,
    "queue_size": _positive_int, "workers": _positive_int, "executor": _executor, "shutdown_timeout_s": parse_seconds,
    "record_unsampled": parse_bool,
}


def _env_limit(text: str) -> int | None:
    return None if text.strip().lower() in ("none", "unlimited") else int(text)


def _env_field(name: str, convert: Callable[[str], Any], var: str) -> Setting:
    """A monitor field's environment variable as a settings row (read like every other setting's)."""
    return Setting(name, lambda raw: _CHECKS[name](convert(raw)), lambda: None, (var,),
                   secret=name in _SECRET_FIELDS)


# Environment variables that fill fields of ``monitor=True`` / ``monitor={...}`` when not given.
ENV_SETTINGS: tuple[Setting, ...] = (
    _env_field("sample_rate", float, "VALIQOR_MONITOR_SAMPLE_RATE"),
    _env_field("always_on_error", parse_bool, "VALIQOR_MONITOR_ALWAYS_ON_ERROR"),
    _env_field("max_per_minute", _env_limit, "VALIQOR_MONITOR_MAX_PER_MINUTE"),
    _env_field("buckets", _names, "VALIQOR_MONITOR_BUCKETS"),
    _env_field("judge", parse_bool, "VALIQOR_MONITOR_JUDGE"),
    _env_field("webhook_url", str, "VALIQOR_MONITOR_WEBHOOK_URL"),
    _env_field("alert_cooldown_s", float, "VALIQOR_MONITOR_ALERT_COOLDOWN_S"),
    _env_field("executor", str, "VALIQOR_MONITOR_EXECUTOR"),
)
# The same, by variable: (field, parser of the variable's text).
ENV_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {s.env[0]: (s.name, s.parse) for s in ENV_SETTINGS}


def _from_env(given: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for setting in ENV_SETTINGS:
        found = None if setting.name in given else env_value(setting, environ, fallback="the default")
        if found is not None:
            values[setting.name] = found[0]
    return values


def parse_monitor(value: Any, environ: Mapping[str, str] | None = None) -> MonitorConfig | None:
    """``init(monitor=...)``: True/"1" -> defaults (+ env), False/"0" -> off, dict -> its fields (+ env).

    Raises:
        ValueError: unknown fields or bad values, naming them.
    """
    env = os.environ if environ is None else environ
    if isinstance(value, MonitorConfig):
        return value
    if isinstance(value, str):
        value = parse_bool(value)
    if isinstance(value, bool):
        return MonitorConfig(**_from_env({}, env)) if value else None
    if isinstance(value, Mapping):
        names = {f.name for f in dataclasses.fields(MonitorConfig)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"unknown monitor field(s) {', '.join(map(str, unknown))}; valid fields: "
                             f"{', '.join(sorted(names))}")
        return MonitorConfig(**{**_from_env(value, env), **value})
    raise ValueError(f"expected True, False, a MonitorConfig or a dict of its fields, got {type(value).__name__}")
