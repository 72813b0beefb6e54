"""Every setting, of ``init()`` and of ``ValiqorClient``, in declarative tables the core owns.

Resolution order, per setting: explicit argument > ``VALIQOR_*`` (or standard
``OTEL_*``) environment variable > ``.valiqorrc`` (JSON, nearest parent
directory) > default. A bad argument raises ``ValueError`` (a programming
error, seen at once); a bad environment or file value warns and falls back.

Both tables live here, so that ``init()`` knows every ``.valiqorrc`` key without
importing the analyzer; the analyzer's client reads its table from here.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valiqor_trace._guard import log_once
from valiqor_trace._parsers import (
    file_path_parser,
    parse_bool,
    parse_callable,
    parse_count,
    parse_database_url,
    parse_days,
    parse_dir_path,
    parse_exporters,
    parse_headers,
    parse_instrument,
    parse_mapping,
    parse_monitor,
    parse_positive_int,
    parse_protocol,
    parse_rate,
    parse_seconds,
    parse_str,
    repr_without_passwords,
    url_parser,
    without_password,
)

RC_FILE_NAME = ".valiqorrc"
DEFAULT_PROJECT = "default"  # the project of spans when neither project_name nor OTEL_SERVICE_NAME names one
DEFAULT_MAX_FIELD_CHARS = 1_000_000  # longest dataset string the client accepts (valiqor_trace.analyzer.datasets uses it)
_SHOWN_MAX = 200  # longer values are elided from messages


def default_home() -> str:
    return os.path.join(os.getcwd(), ".valiqor")


@dataclass(frozen=True)
class Setting:
    """One row of a settings table.

    Attributes:
        secret: the value is a key (or carries one): messages name the setting, never show its value.
    """

    name: str
    parse: Callable[[Any], Any]
    default: Callable[[], Any]
    env: tuple[str, ...] = ()
    from_file: bool = True  # callables and objects cannot come from JSON
    doc: str = ""
    secret: bool = False


OTLP_EXAMPLE = "http://localhost:4318"
SETTINGS: tuple[Setting, ...] = (
    Setting("project_name", parse_str, lambda: None, ("VALIQOR_PROJECT_NAME",),
            doc="Project stamped on every span (`valiqor.project_name`); falls back to OTEL_SERVICE_NAME."),
    Setting("exporters", parse_exporters, lambda: ["store"], ("VALIQOR_EXPORTERS",),
            doc="Where spans go: any of store, otlp, console, none, or SpanExporter/SpanProcessor objects. "
                "`otlp` is added when an endpoint is configured."),
    Setting("endpoint", url_parser(OTLP_EXAMPLE), lambda: None, ("VALIQOR_OTLP_ENDPOINT",),
            doc="OTLP collector URL. A bare http(s)://host:port gets /v1/traces appended. "
                "OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT also enable OTLP export."),
    Setting("protocol", parse_protocol, lambda: "http/protobuf",
            ("VALIQOR_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
            doc="OTLP transport: http/protobuf or grpc."),
    Setting("headers", parse_headers, lambda: None, ("VALIQOR_OTLP_HEADERS",), secret=True,
            doc="Extra OTLP headers (e.g. auth). OTEL_EXPORTER_OTLP_HEADERS is honoured by the exporter too."),
    Setting("store_path", file_path_parser("traces.db"), lambda: None, ("VALIQOR_STORE_PATH",),
            doc="SQLite file of the embedded trace store; default $VALIQOR_HOME/traces.db."),
    Setting("home", parse_dir_path, default_home, ("VALIQOR_HOME",),
            doc="Directory for local data (trace store, run store); default ./.valiqor."),
    Setting("database_url", parse_database_url, lambda: None, ("VALIQOR_DATABASE_URL",),
            doc="PostgreSQL URL of the trace store instead of the SQLite file (extra `postgres`)."),
    Setting("retention_days", parse_days, lambda: None, ("VALIQOR_RETENTION_DAYS",),
            doc="Delete traces last active more than this many days ago from the trace store, at most hourly "
                "on a thread of its own (unset: keep everything); see docs/deploy.md#retention."),
    Setting("sample_rate", parse_rate, lambda: None, ("VALIQOR_SAMPLE_RATE",),
            doc="Share of new traces recorded (parent-based trace-id ratio). Unset: the SDK default, "
                "which honours OTEL_TRACES_SAMPLER/OTEL_TRACES_SAMPLER_ARG."),
    Setting("capture_content", parse_bool, lambda: True, ("VALIQOR_CAPTURE_CONTENT",),
            doc="Record prompts, completions, arguments and return values. Off: no content leaves the process."),
    Setting("max_content_length", parse_positive_int, lambda: 65536, ("VALIQOR_MAX_CONTENT_LENGTH",),
            doc="Longest text kept per attribute, in characters; longer text is cut and marked."),
    Setting("redact", parse_callable, lambda: None, from_file=False,
            doc="Function str -> str applied to every captured text before it is recorded."),
    Setting("instrument", parse_instrument, lambda: True, ("VALIQOR_INSTRUMENT",),
            doc="True/'auto': every supported library that is importable; a list of names; False: none."),
    Setting("max_queue_size", parse_positive_int, lambda: 2048, ("VALIQOR_MAX_QUEUE_SIZE",),
            doc="Spans buffered per exporter before new ones are dropped (and counted)."),
    Setting("schedule_delay_ms", parse_positive_int, lambda: 500, ("VALIQOR_SCHEDULE_DELAY_MS",),
            doc="Longest wait before a batch of spans is exported."),
    Setting("export_timeout_ms", parse_positive_int, lambda: 10000, ("VALIQOR_EXPORT_TIMEOUT_MS",),
            doc="Longest a single export (and shutdown) may take."),
    Setting("resource_attributes", parse_mapping, lambda: None, from_file=True,
            doc="Extra OTel resource attributes (OTEL_RESOURCE_ATTRIBUTES is merged too)."),
    Setting("monitor", parse_monitor, lambda: None, ("VALIQOR_MONITOR",),
            doc="Sampled production monitoring: True, a MonitorConfig or a dict of its fields "
                "(VALIQOR_MONITOR_* env vars fill the rest); see docs/monitoring.md."),
)

# ValiqorClient's settings (valiqor_trace.analyzer.client builds its ClientConfig from this table).
CLIENT_SETTINGS: tuple[Setting, ...] = (
    Setting("api_key", parse_str, lambda: None, ("VALIQOR_API_KEY",), secret=True,
            doc="Key for a `valiqor serve` server (remote mode). Never stored or logged."),
    Setting("project_name", parse_str, lambda: "default", ("VALIQOR_PROJECT_NAME",),
            doc="Default project of runs and queries."),
    Setting("base_url", url_parser(OTLP_EXAMPLE), lambda: None, ("VALIQOR_BASE_URL",),
            doc="URL of a `valiqor serve` server; unset: the embedded engine, in-process."),
    Setting("home", parse_dir_path, default_home, ("VALIQOR_HOME",), doc="Directory of the local stores."),
    Setting("store_path", file_path_parser("traces.db"), lambda: None, ("VALIQOR_STORE_PATH",),
            doc="Trace store file; default $VALIQOR_HOME/traces.db (the one init() writes)."),
    Setting("run_store_path", file_path_parser("runs.db"), lambda: None, ("VALIQOR_RUN_STORE_PATH",),
            doc="Run store file; default $VALIQOR_HOME/runs.db."),
    Setting("database_url", parse_database_url, lambda: None, ("VALIQOR_DATABASE_URL",),
            doc="PostgreSQL URL holding both stores instead of the SQLite files (extra `postgres`); "
                "takes precedence over store_path and run_store_path."),
    Setting("retention_days", parse_days, lambda: None, ("VALIQOR_RETENTION_DAYS",),
            doc="Delete runs (with inputs and tags), alerts and judge-cache entries older than this many days "
                "from the run store, hourly on a thread of its own (unset: keep everything)."),
    Setting("openai_api_key", parse_str, lambda: None, ("VALIQOR_OPENAI_API_KEY", "OPENAI_API_KEY"),
            from_file=False, secret=True, doc="Key for LLM-judge detectors (BYOK). Never stored or logged."),
    Setting("judge_model", parse_str, lambda: None, ("VALIQOR_JUDGE_MODEL",), doc="Model of the LLM judge."),
    Setting("judge_base_url", url_parser("http://127.0.0.1:8000/v1"), lambda: None, ("VALIQOR_JUDGE_BASE_URL",),
            doc="OpenAI-compatible server for the judge (vLLM, Ollama, LM Studio)."),
    Setting("judge_timeout_s", parse_seconds, lambda: 60.0, ("VALIQOR_JUDGE_TIMEOUT_S",),
            doc="Timeout of one judge request."),
    Setting("judge_max_retries", parse_count, lambda: 3, ("VALIQOR_JUDGE_MAX_RETRIES",),
            doc="Retries of a judge request after a 429, 5xx or timeout (Retry-After honoured)."),
    Setting("judge_concurrency", parse_positive_int, lambda: 8, ("VALIQOR_JUDGE_CONCURRENCY",),
            doc="Judge requests in flight at once (items analyzed in parallel when a judge is configured)."),
    Setting("judge_token_budget", parse_positive_int, lambda: None, ("VALIQOR_JUDGE_TOKEN_BUDGET",),
            doc="Most tokens one run may spend on the judge; then its subcategories are skipped (unset: no limit)."),
    Setting("trace_timeout_s", parse_seconds, lambda: 5.0, ("VALIQOR_TRACE_TIMEOUT_S",),
            doc="How long run(trace_id=...) waits for a trace's spans to arrive."),
    Setting("max_field_chars", parse_positive_int, lambda: DEFAULT_MAX_FIELD_CHARS, ("VALIQOR_MAX_FIELD_CHARS",),
            doc="Longest dataset string accepted (input, output, each context passage, tool output)."),
)

# Every key a .valiqorrc may hold, known statically (init() must not import the analyzer to know the client's).
RC_KEYS: frozenset[str] = frozenset(setting.name for setting in SETTINGS + CLIENT_SETTINGS if setting.from_file)


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one ``init()`` call."""

    project_name: str | None = None
    exporters: list[Any] = field(default_factory=lambda: ["store"])
    endpoint: str | None = None
    protocol: str = "http/protobuf"
    headers: dict[str, str] | None = field(default=None, repr=False)  # a secret setting: auth headers carry keys
    store_path: str | None = None
    home: str = ".valiqor"
    database_url: str | None = None
    retention_days: float | None = None
    sample_rate: float | None = None
    capture_content: bool = True
    max_content_length: int = 65536
    redact: Callable[[str], str] | None = None
    instrument: bool | list[str] = True
    max_queue_size: int = 2048
    schedule_delay_ms: int = 500
    export_timeout_ms: int = 10000
    resource_attributes: dict[str, Any] | None = None
    monitor: Any = None  # a valiqor_trace.monitor.MonitorConfig when monitoring is on
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    __repr__ = repr_without_passwords  # the endpoint may carry a collector's basic-auth password

    @property
    def resolved_store_path(self) -> str:
        """Where spans are stored: the PostgreSQL URL, else the SQLite file (see :func:`store_target`)."""
        return store_target(self.database_url, self.store_path, os.path.join(self.home, "traces.db"), self.sources,
                            "store_path")


def store_target(database_url: str | None, path: str | None, default: str, sources: Mapping[str, str],
                 path_setting: str) -> str:
    """The database, else the file ``path``, else ``default`` — unless the file was named more directly than
    the database (an argument or flag over ``VALIQOR_DATABASE_URL``): then the file, as for any setting."""
    if database_url and path and _rank(sources.get(path_setting)) > _rank(sources.get("database_url")):
        return path
    return database_url or path or default


def _rank(source: str | None) -> int:
    # where a setting came from (see _resolve_one): argument > environment variable > .valiqorrc > default
    if source == "argument":
        return 3
    if source in (None, "default"):
        return 0
    return 1 if source == RC_FILE_NAME else 2


def find_rc_file(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest ``.valiqorrc`` in ``start`` (default: cwd) or its parents."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / RC_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def _read_rc_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log_once(f"rc:{path}", "Ignoring %s: not readable JSON (%s)", path, exc)
        return {}
    if not isinstance(data, dict):
        log_once(f"rc:{path}", "Ignoring %s: expected a JSON object of settings", path)
        return {}
    unknown = sorted(set(data) - RC_KEYS)
    if unknown:
        log_once(f"rc-unknown:{path}", "Ignoring unknown keys in %s: %s (the keys are the settings in the "
                 "README's configuration tables)", path, ", ".join(map(_with_suggestion, unknown)))
    return data


def _with_suggestion(key: str) -> str:
    close = difflib.get_close_matches(key, RC_KEYS, n=1)
    return f"{key} (did you mean {close[0]}?)" if close else key


def resolve_settings(arguments: Mapping[str, Any], *, environ: Mapping[str, str] | None = None,
                     rc_path: Path | None | str = "auto") -> Settings:
    """Resolve every ``init()`` setting; see the module docstring for the order.

    Args:
        arguments: keyword arguments given to ``init()``; ``None`` means "not given".
        environ: environment to read (default ``os.environ``).
        rc_path: ``"auto"`` to search for ``.valiqorrc``, a path, or ``None`` to skip the file.

    Raises:
        ValueError: an argument is invalid; the message names it and the fix.
    """
    values, sources = resolve_table(SETTINGS, arguments, owner="init", environ=environ, rc_path=rc_path)
    return Settings(**values, sources=sources)


def resolve_table(table: tuple[Setting, ...], arguments: Mapping[str, Any], *, owner: str,
                  environ: Mapping[str, str] | None = None,
                  rc_path: Path | None | str = "auto") -> tuple[dict[str, Any], dict[str, str]]:
    """Resolve a table of settings; return the values and, per setting, where it came from.

    ``owner`` names the call in error messages (``init``, ``ValiqorClient``).
    """
    env = os.environ if environ is None else environ
    names = {setting.name for setting in table}
    unknown = set(arguments) - names
    if unknown:
        raise ValueError(f"{owner}(): unknown setting(s): {', '.join(sorted(unknown))}")
    path = find_rc_file() if rc_path == "auto" else (Path(rc_path) if rc_path else None)
    rc = _RcFile(str(path) if path else RC_FILE_NAME, _read_rc_file(path))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in table:
        values[setting.name], sources[setting.name] = _resolve_one(setting, arguments, env, rc, owner)
    return values, sources


@dataclass(frozen=True)
class _RcFile:
    path: str
    values: Mapping[str, Any]


def shown_value(value: Any, *, secret: bool = False) -> str:
    """How messages show a setting's value: ``repr`` of a short plain value, a URL's password masked;
    ``...`` for secrets and objects."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if secret or not isinstance(value, (str, int, float, bool)) or len(repr(value)) > _SHOWN_MAX:
        return "..."
    return repr(without_password(value) if isinstance(value, str) else value)


def env_value(setting: Setting, env: Mapping[str, str], *,
              fallback: str = "the next source") -> tuple[Any, str] | None:
    """``(value, "env VAR")`` from the first of ``setting.env`` that is set and valid, or None.

    The one reader of ``VALIQOR_*`` variables (``init()``, ``ValiqorClient`` and the monitor's fields): an
    empty variable is unset; a bad value is logged once, naming the variable but never a secret's value,
    and skipped (``fallback`` says what is used instead).
    """
    for var in setting.env:
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        try:
            return setting.parse(raw), f"env {var}"
        except (TypeError, ValueError) as exc:
            named = f"{var}={shown_value(raw, secret=setting.secret)}"  # a secret's value stays out of the log
            log_once(f"env:{named}", "Ignoring %s: %s; using %s", named, exc, fallback)
    return None


def _resolve_one(setting: Setting, arguments: Mapping[str, Any], env: Mapping[str, str],
                 rc: _RcFile, owner: str) -> tuple[Any, str]:
    given = arguments.get(setting.name)
    if given is not None:
        try:
            return setting.parse(given), "argument"
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{owner}({setting.name}={shown_value(given, secret=setting.secret)}): {exc}") from None
    from_env = env_value(setting, env)
    if from_env is not None:
        return from_env
    if setting.from_file and setting.name in rc.values:
        raw = rc.values[setting.name]
        try:
            return setting.parse(raw), RC_FILE_NAME
        except (TypeError, ValueError) as exc:
            shown = shown_value(raw, secret=setting.secret)
            log_once(f"rc:{rc.path}:{setting.name}", "Ignoring %s=%s in %s: %s; using the default",
                     setting.name, shown, rc.path, exc)
    return setting.default(), "default"
