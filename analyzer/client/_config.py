"""The client's settings: argument > ``VALIQOR_*`` env > ``.valiqorrc`` > default (one table, as for init)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from analyzer.datasets import DEFAULT_MAX_FIELD_CHARS
from valiqor_trace._settings import (
    RC_KEYS,
    Setting,
    default_home,
    parse_positive_int,
    parse_str,
    resolve_table,
)


def _parse_seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number of seconds, got {value!r}")
    seconds = float(value)
    if seconds < 0:
        raise ValueError(f"expected a number of seconds >= 0, got {value!r}")
    return seconds


def _parse_count(value: Any) -> int:
    if isinstance(value, bool) or int(value) < 0:
        raise ValueError(f"expected a whole number >= 0, got {value!r}")
    return int(value)


CLIENT_SETTINGS: tuple[Setting, ...] = (
    Setting("api_key", parse_str, lambda: None, ("VALIQOR_API_KEY",),
            doc="Key for a `valiqor serve` server (remote mode). Never stored or logged."),
    Setting("project_name", parse_str, lambda: "default", ("VALIQOR_PROJECT_NAME",),
            doc="Default project of runs and queries."),
    Setting("base_url", parse_str, lambda: None, ("VALIQOR_BASE_URL",),
            doc="URL of a `valiqor serve` server; unset: the embedded engine, in-process."),
    Setting("home", parse_str, default_home, ("VALIQOR_HOME",), doc="Directory of the local stores."),
    Setting("store_path", parse_str, lambda: None, ("VALIQOR_STORE_PATH",),
            doc="Trace store file; default $VALIQOR_HOME/traces.db (the one init() writes)."),
    Setting("run_store_path", parse_str, lambda: None, ("VALIQOR_RUN_STORE_PATH",),
            doc="Run store file; default $VALIQOR_HOME/runs.db."),
    Setting("openai_api_key", parse_str, lambda: None, ("VALIQOR_OPENAI_API_KEY", "OPENAI_API_KEY"),
            from_file=False, doc="Key for LLM-judge detectors (BYOK). Never stored or logged."),
    Setting("judge_model", parse_str, lambda: None, ("VALIQOR_JUDGE_MODEL",), doc="Model of the LLM judge."),
    Setting("judge_base_url", parse_str, lambda: None, ("VALIQOR_JUDGE_BASE_URL",),
            doc="OpenAI-compatible server for the judge (vLLM, Ollama, LM Studio)."),
    Setting("judge_timeout_s", _parse_seconds, lambda: 60.0, ("VALIQOR_JUDGE_TIMEOUT_S",),
            doc="Timeout of one judge request."),
    Setting("judge_max_retries", _parse_count, lambda: 3, ("VALIQOR_JUDGE_MAX_RETRIES",),
            doc="Retries of a judge request after a 429, 5xx or timeout (Retry-After honoured)."),
    Setting("judge_concurrency", parse_positive_int, lambda: 8, ("VALIQOR_JUDGE_CONCURRENCY",),
            doc="Judge requests in flight at once (items analyzed in parallel when a judge is configured)."),
    Setting("judge_token_budget", parse_positive_int, lambda: None, ("VALIQOR_JUDGE_TOKEN_BUDGET",),
            doc="Most tokens one run may spend on the judge; then its subcategories are skipped (unset: no limit)."),
    Setting("trace_timeout_s", _parse_seconds, lambda: 5.0, ("VALIQOR_TRACE_TIMEOUT_S",),
            doc="How long run(trace_id=...) waits for a trace's spans to arrive."),
    Setting("max_field_chars", parse_positive_int, lambda: DEFAULT_MAX_FIELD_CHARS, ("VALIQOR_MAX_FIELD_CHARS",),
            doc="Longest dataset string accepted (input, output, each context passage, tool output)."),
)
RC_KEYS.update(setting.name for setting in CLIENT_SETTINGS if setting.from_file)


@dataclass(frozen=True)
class ClientConfig:
    """Resolved client settings; secrets are kept out of ``repr``."""

    project_name: str
    home: str
    base_url: str | None = None
    store_path: str | None = None
    run_store_path: str | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    judge_timeout_s: float = 60.0
    judge_max_retries: int = 3
    judge_concurrency: int = 8
    judge_token_budget: int | None = None
    trace_timeout_s: float = 5.0
    max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    api_key: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def trace_store_file(self) -> str:
        return self.store_path or os.path.join(self.home, "traces.db")

    @property
    def run_store_file(self) -> str:
        return self.run_store_path or os.path.join(self.home, "runs.db")


def resolve_client_config(arguments: Mapping[str, Any]) -> ClientConfig:
    values, sources = resolve_table(CLIENT_SETTINGS, arguments, owner="ValiqorClient")
    return ClientConfig(**values, sources=sources)
