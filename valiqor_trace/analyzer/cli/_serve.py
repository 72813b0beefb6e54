"""``valiqor serve``: the OTLP receiver, the Failure Analysis API and the web UI over HTTP; ``valiqor ui``: the
same app on the local stores, for this machine only (both need the ``server`` extra)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
import webbrowser
from typing import Any

from valiqor_trace.errors import ServerStartError, StoreUnavailableError
from valiqor_trace.monitor import MonitorConfig, parse_monitor

# MonitorConfig fields a command line cannot set: functions, secrets (a command line is visible in `ps`:
# the webhook URL comes from VALIQOR_MONITOR_WEBHOOK_URL), and what only an app's own tracer provider has.
# So do the bounds of the in-app span buffer (the server reads traces from its store).
_NOT_FLAGS = ("analyze", "on_alert", "webhook_url", "webhook_headers", "record_unsampled", "max_spans_per_trace",
              "max_traces_in_flight")
# A field's annotation -> how its flag's text is read (MonitorConfig then checks the value, naming the field).
_FLAG_TYPES: dict[str, Any] = {
    "float": float, "int": int, "str": str, "str | None": str,
    "int | None": lambda text: None if text.strip().lower() in ("none", "unlimited") else int(text),
    "tuple[str, ...] | None": lambda text: tuple(part.strip() for part in text.split(",")),
}


def _database_url(text: str) -> str:
    from valiqor_trace.internal import is_database_url, without_password

    if not is_database_url(text):
        raise argparse.ArgumentTypeError(f"{without_password(text)!r} is not a postgresql:// URL (e.g. "
                                         "postgresql://valiqor@db:5432/valiqor); leave it out for the SQLite files")
    return text


def register(cli) -> None:
    parser = cli.command("serve", "receive OTLP traces and serve the Failure Analysis API over HTTP")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine)")
    parser.add_argument("--port", type=int, default=4318, help="port (default 4318, the OTLP/HTTP port)")
    parser.add_argument("--data-dir", metavar="DIR", help="where traces.db and runs.db live (default $VALIQOR_HOME)")
    parser.add_argument("--database-url", metavar="URL", type=_database_url,
                        help="keep traces and runs in PostgreSQL instead (postgresql://user@host:5432/db; env "
                             "VALIQOR_DATABASE_URL; extra `postgres`): several servers may share it")
    parser.add_argument("--api-key", action="append", default=[], metavar="KEY",
                        help="accept this bearer key (repeat for several; write --api-key=KEY when a key starts "
                             "with '-'; env VALIQOR_SERVER_API_KEYS, comma-separated); without one, no auth")
    parser.add_argument("--insecure", action="store_true",
                        help="allow a non-loopback --host without an API key")
    parser.add_argument("--workers", type=int, default=2, help="FA runs executing at once (default 2)")
    parser.add_argument("--max-body-mb", type=float, default=16.0, help="largest OTLP body in MiB (default 16)")
    parser.add_argument("--project-name", help="project of runs that name none")
    parser.add_argument("--retention-days", type=_days, default=None, metavar="DAYS",
                        help="delete traces, runs, alerts and judge-cache entries older than DAYS, hourly, while "
                             "serving (env VALIQOR_RETENTION_DAYS; default: keep everything)")
    parser.add_argument("--decode-workers", type=int, default=None, metavar="N",
                        help="processes decoding OTLP bodies (default: 1 on a multi-core machine, else 0)")
    parser.add_argument("--run-lease-s", type=float, default=None, metavar="SECONDS",
                        help="how long a server holds an FA run without renewing it: a replica killed mid-run "
                             "leaves the run to another after this long (default 30; env VALIQOR_RUN_LEASE_S)")
    add_monitor_arguments(parser)
    parser.set_defaults(func=run_server)

    ui = cli.command("ui", "look at the local traces and analyses in a browser (the web UI on 127.0.0.1)")
    ui.add_argument("--port", type=int, default=4318, help="port (default 4318)")
    ui.add_argument("--data-dir", metavar="DIR", help="where traces.db and runs.db live (default: $VALIQOR_HOME "
                                                      "or ./.valiqor, where `valiqor demo` writes)")
    ui.add_argument("--database-url", metavar="URL", type=_database_url, help="read the stores in PostgreSQL instead (env "
                                                          "VALIQOR_DATABASE_URL)")
    ui.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")
    ui.set_defaults(func=run_ui)


def add_monitor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--monitor`` and one ``--monitor-FIELD`` flag per :class:`MonitorConfig` field a command line can set."""
    group = parser.add_argument_group(
        "monitoring on ingest", "analyze a share of the received traces, as in-app monitoring does "
        "(docs/monitoring.md); VALIQOR_MONITOR=1 turns it on too, VALIQOR_MONITOR_* fill fields not given here, "
        "and the alert webhook comes from VALIQOR_MONITOR_WEBHOOK_URL")
    group.add_argument("--monitor", action="store_true", default=None,
                       help="turn monitoring on (any --monitor-* flag does too)")
    for field in dataclasses.fields(MonitorConfig):
        if field.name in _NOT_FLAGS:
            continue
        flag = "--monitor-" + field.name.replace("_", "-")
        if field.type == "bool":
            group.add_argument(flag, dest=f"monitor_{field.name}", action=argparse.BooleanOptionalAction,
                               default=argparse.SUPPRESS, help=f"default {field.default}")
        else:
            group.add_argument(flag, dest=f"monitor_{field.name}", type=_FLAG_TYPES[str(field.type)],
                               metavar=_metavar(field.name, str(field.type)), default=argparse.SUPPRESS,
                               help=f"default {field.default}")


def _metavar(name: str, annotation: str) -> str:
    if name.endswith("_s"):
        return "SECONDS"
    if annotation.startswith("tuple"):
        return "A,B,..."
    return {"float": "X", "int": "N", "int | None": "N"}.get(annotation, "VALUE")


def monitor_config(args: argparse.Namespace, environ: Any = None) -> MonitorConfig | None:
    """The monitoring of ``valiqor serve``: flags, then ``VALIQOR_MONITOR_*``; None when off.

    Raises:
        ValueError: a bad value, naming the field.
    """
    env = os.environ if environ is None else environ
    flags = vars(args)  # a flag not given is absent (argparse.SUPPRESS): "none" may be a value
    given = {field.name: flags[f"monitor_{field.name}"] for field in dataclasses.fields(MonitorConfig)
             if f"monitor_{field.name}" in flags}
    wanted = args.monitor if args.monitor is not None else bool(given) or parse_monitor(
        env.get("VALIQOR_MONITOR", "0"), env) is not None
    return parse_monitor(given, env) if wanted else None
def _days(text: str) -> float:
    from valiqor_trace.internal import parse_days

    try:
        return parse_days(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}, e.g. --retention-days 30") from None


def _decode_workers(requested: int | None) -> int:
    if requested is not None:
        return max(0, requested)
    return 1 if (os.cpu_count() or 1) > 1 else 0


def _server_module(command: str) -> Any:
    """(ServerConfig, serve), or None after saying which extra to install."""
    try:
        from valiqor_trace.analyzer.server import ServerConfig, serve
    except ModuleNotFoundError as exc:
        if exc.name in ("starlette", "uvicorn", "jinja2"):
            print(f"valiqor {command}: needs the server extra: pip install 'valiqor-trace[server]'", file=sys.stderr)
            return None
        raise
    return ServerConfig, serve


def run_ui(args: argparse.Namespace) -> int:
    """The server app on the local stores, bound to this machine only and without keys: nobody else can reach it."""
    loaded = _server_module("ui")
    if loaded is None:
        return 1
    ServerConfig, serve = loaded  # noqa: N806 - the class's own name

    def ready(url: str) -> None:
        print(f"valiqor ui: {url}  (Ctrl-C stops it)", flush=True)
        if not args.no_browser and _has_browser():
            threading.Timer(0.3, webbrowser.open, args=(url,)).start()

    try:
        config = ServerConfig(data_dir=args.data_dir, database_url=args.database_url, decode_workers=0,
                              viewer=True)
        serve("127.0.0.1", args.port, config, log_level="warning", on_ready=ready)
    except ServerStartError as exc:
        print(f"valiqor ui: {exc.describe(host='--host', port='--port')}", file=sys.stderr)
        return 1
    except StoreUnavailableError as exc:
        print(f"valiqor ui: {exc}", file=sys.stderr)
        return 1
    return 0


def _has_browser() -> bool:
    """Whether a browser can open here: always on macOS and Windows; on Linux only with a display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run_lease_s(requested: float | None) -> float:
    """The flag, else ``VALIQOR_RUN_LEASE_S``, else 30 s; a bad env value falls back with a warning."""
    if requested is not None:
        return requested
    raw = os.environ.get("VALIQOR_RUN_LEASE_S", "").strip()
    if raw:
        try:
            value = float(raw)
            if value > 0:
                return value
        except ValueError:
            pass
        print(f"valiqor serve: VALIQOR_RUN_LEASE_S={raw!r} is not a number of seconds > 0; using 30",
              file=sys.stderr)
    return 30.0


def run_server(args: argparse.Namespace) -> int:
    loaded = _server_module("serve")
    if loaded is None:
        return 1
    ServerConfig, serve = loaded  # noqa: N806 - the class's own name
    keys = [*args.api_key, *filter(None, (k.strip() for k in os.environ.get("VALIQOR_SERVER_API_KEYS", "").split(",")))]
    try:
        monitor = monitor_config(args)
    except ValueError as exc:
        print(f"valiqor serve: monitoring: {exc} (set with --monitor-FIELD or VALIQOR_MONITOR_FIELD)", file=sys.stderr)
        return 1
    if args.run_lease_s is not None and not args.run_lease_s > 0:
        print(f"valiqor serve: --run-lease-s must be > 0 seconds, got {args.run_lease_s}", file=sys.stderr)
        return 1
    config = ServerConfig(data_dir=args.data_dir, database_url=args.database_url, api_keys=tuple(keys),
                          project_name=args.project_name,
                          max_body_bytes=int(args.max_body_mb * 1024 * 1024), run_workers=args.workers,
                          decode_workers=_decode_workers(args.decode_workers), monitor=monitor,
                          run_lease_s=_run_lease_s(args.run_lease_s),
                          retention_days=args.retention_days)
    try:
        serve(args.host, args.port, config, insecure=args.insecure, log_level="warning")
    except ServerStartError as exc:  # one line naming the flags to change; exit 1, like every other failure
        print(f"valiqor serve: {exc.describe(host='--host', port='--port')}", file=sys.stderr)
        return 1
    except StoreUnavailableError as exc:
        print(f"valiqor serve: {exc}", file=sys.stderr)
        return 1
    return 0
