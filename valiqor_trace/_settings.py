"""Every setting of ``init()`` in one declarative table.

Resolution order, per setting: explicit argument > ``VALIQOR_*`` (or standard
``OTEL_*``) environment variable > ``.valiqorrc`` (JSON, nearest parent
directory) > default. A bad argument raises ``ValueError`` (a programming
error, seen at once); a bad environment or file value warns and falls back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valiqor_trace._internal import log_once

RC_FILE_NAME = ".valiqorrc"
KNOWN_EXPORTERS = ("store", "otlp", "console", "none")
KNOWN_PROTOCOLS = ("http/protobuf", "grpc")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"expected true/false, got {value!r}")


def _parse_rate(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number between 0 and 1, got {value!r}")
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"expected a number between 0 and 1, got {value!r}")
    return rate


def parse_positive_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a positive whole number, got {value!r}")
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return number


def parse_str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _parse_protocol(value: Any) -> str:
    text = parse_str(value).lower()
    if text == "http":
        text = "http/protobuf"
    if text not in KNOWN_PROTOCOLS:
        raise ValueError(f"expected one of {', '.join(KNOWN_PROTOCOLS)}, got {value!r}")
    return text


def _split_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(f"expected a list or a comma-separated string, got {value!r}")


def _parse_exporters(value: Any) -> list[Any]:
    """Names from KNOWN_EXPORTERS, or SpanExporter / SpanProcessor objects (arguments only)."""
    items = [value] if not isinstance(value, (str, list, tuple)) else _split_list(value)
    for item in items:
        if isinstance(item, str) and item not in KNOWN_EXPORTERS:
            raise ValueError(f"unknown exporter {item!r}; expected one of {', '.join(KNOWN_EXPORTERS)} "
                             "or a SpanExporter/SpanProcessor instance")
        if not isinstance(item, str) and not (hasattr(item, "export") or hasattr(item, "on_end")):
            raise ValueError(f"exporter {item!r} is neither a name nor a SpanExporter/SpanProcessor")
    return items


def _parse_instrument(value: Any) -> bool | list[str]:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("auto", "all") + _TRUE:
        return True
    if isinstance(value, str) and value.strip().lower() in ("none",) + _FALSE:
        return False
    names = [str(name).strip() for name in _split_list(value)]
    if not all(names):
        raise ValueError(f"expected 'auto', False, or a list of integration names, got {value!r}")
    return names


def _parse_headers(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str):  # OTEL_EXPORTER_OTLP_HEADERS form: "k1=v1,k2=v2"
        pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected 'key=value,key2=value2'")
        return {k.strip(): v.strip() for k, v in pairs}
    raise ValueError(f"expected a mapping of header names to values, got {type(value).__name__}")


def _parse_callable(value: Any) -> Callable[[str], str]:
    if not callable(value):
        raise ValueError(f"expected a callable taking and returning a string, got {value!r}")
    return value


def _parse_mapping(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    return dict(value)


def _parse_monitor(value: Any) -> Any:
    from valiqor_trace.monitor._config import parse_monitor

    return parse_monitor(value)


def default_home() -> str:
    return os.path.join(os.getcwd(), ".valiqor")


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[Any], Any]
    default: Callable[[], Any]
    env: tuple[str, ...] = ()
    from_file: bool = True  # callables and objects cannot come from JSON
    doc: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting("project_name", parse_str, lambda: None, ("VALIQOR_PROJECT_NAME",),
             doc="Project stamped on every span (`valiqor.project_name`); falls back to OTEL_SERVICE_NAME."),
    Setting("exporters", _parse_exporters, lambda: ["store"], ("VALIQOR_EXPORTERS",),
             doc="Where spans go: any of store, otlp, console, none, or SpanExporter/SpanProcessor objects. "
                 "`otlp` is added when an endpoint is configured."),
    Setting("endpoint", parse_str, lambda: None, ("VALIQOR_OTLP_ENDPOINT",),
             doc="OTLP collector URL. A bare http(s)://host:port gets /v1/traces appended. "
                 "OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT also enable OTLP export."),
    Setting("protocol", _parse_protocol, lambda: "http/protobuf",
             ("VALIQOR_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
             doc="OTLP transport: http/protobuf or grpc."),
    Setting("headers", _parse_headers, lambda: None, ("VALIQOR_OTLP_HEADERS",),
             doc="Extra OTLP headers (e.g. auth). OTEL_EXPORTER_OTLP_HEADERS is honoured by the exporter too."),
    Setting("store_path", parse_str, lambda: None, ("VALIQOR_STORE_PATH",),
             doc="SQLite file of the embedded trace store; default $VALIQOR_HOME/traces.db."),
    Setting("home", parse_str, default_home, ("VALIQOR_HOME",),
             doc="Directory for local data (trace store, run store); default ./.valiqor."),
    Setting("sample_rate", _parse_rate, lambda: None, ("VALIQOR_SAMPLE_RATE",),
             doc="Share of new traces recorded (parent-based trace-id ratio). Unset: the SDK default, "
                 "which honours OTEL_TRACES_SAMPLER/OTEL_TRACES_SAMPLER_ARG."),
    Setting("capture_content", parse_bool, lambda: True, ("VALIQOR_CAPTURE_CONTENT",),
             doc="Record prompts, completions, arguments and return values. Off: no content leaves the process."),
    Setting("max_content_length", parse_positive_int, lambda: 65536, ("VALIQOR_MAX_CONTENT_LENGTH",),
             doc="Longest text kept per attribute, in characters; longer text is cut and marked."),
    Setting("redact", _parse_callable, lambda: None, from_file=False,
             doc="Function str -> str applied to every captured text before it is recorded."),
    Setting("instrument", _parse_instrument, lambda: True, ("VALIQOR_INSTRUMENT",),
             doc="True/'auto': every supported library that is importable; a list of names; False: none."),
    Setting("max_queue_size", parse_positive_int, lambda: 2048, ("VALIQOR_MAX_QUEUE_SIZE",),
             doc="Spans buffered per exporter before new ones are dropped (and counted)."),
    Setting("schedule_delay_ms", parse_positive_int, lambda: 500, ("VALIQOR_SCHEDULE_DELAY_MS",),
             doc="Longest wait before a batch of spans is exported."),
    Setting("export_timeout_ms", parse_positive_int, lambda: 10000, ("VALIQOR_EXPORT_TIMEOUT_MS",),
             doc="Longest a single export (and shutdown) may take."),
    Setting("resource_attributes", _parse_mapping, lambda: None, from_file=True,
             doc="Extra OTel resource attributes (OTEL_RESOURCE_ATTRIBUTES is merged too)."),
    Setting("monitor", _parse_monitor, lambda: None, ("VALIQOR_MONITOR",),
             doc="Sampled production monitoring: True, a MonitorConfig or a dict of its fields "
                 "(VALIQOR_MONITOR_* env vars fill the rest); see docs/monitoring.md."),
)
# Keys a .valiqorrc may hold: init()'s settings and those other tables (the client's) register.
RC_KEYS: set[str] = {setting.name for setting in SETTINGS if setting.from_file}


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one ``init()`` call."""

    project_name: str | None = None
    exporters: list[Any] = field(default_factory=lambda: ["store"])
    endpoint: str | None = None
    protocol: str = "http/protobuf"
    headers: dict[str, str] | None = None
    store_path: str | None = None
    home: str = ".valiqor"
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

    @property
    def resolved_store_path(self) -> str:
        return self.store_path or os.path.join(self.home, "traces.db")


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
        log_once(f"rc-unknown:{path}", "Ignoring unknown keys in %s: %s", path, ", ".join(unknown))
    return data


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
    rc = _read_rc_file(find_rc_file() if rc_path == "auto" else (Path(rc_path) if rc_path else None))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in table:
        values[setting.name], sources[setting.name] = _resolve_one(setting, arguments, env, rc, owner)
    return values, sources


def _resolve_one(setting: Setting, arguments: Mapping[str, Any], env: Mapping[str, str],
                 rc: Mapping[str, Any], owner: str) -> tuple[Any, str]:
    given = arguments.get(setting.name)
    if given is not None:
        try:
            return setting.parse(given), "argument"
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{owner}({setting.name}=...): {exc}") from None
    for var in setting.env:
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        try:
            return setting.parse(raw), f"env {var}"
        except (TypeError, ValueError) as exc:
            log_once(f"env:{var}={raw}", "Ignoring %s=%r: %s; using the next source", var, raw, exc)
    if setting.from_file and setting.name in rc:
        try:
            return setting.parse(rc[setting.name]), RC_FILE_NAME
        except (TypeError, ValueError) as exc:
            log_once(f"rc:{setting.name}", "Ignoring %s in %s: %s; using the default", setting.name, RC_FILE_NAME, exc)
    return setting.default(), "default"
