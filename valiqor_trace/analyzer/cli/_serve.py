"""``valiqor serve``: the OTLP receiver, the Failure Analysis API and the web UI over HTTP; ``valiqor ui``: the
same app on the local stores, for this machine only (both need the ``server`` extra)."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import webbrowser
from typing import Any

from valiqor_trace.errors import ServerStartError, StoreUnavailableError


def register(cli) -> None:
    parser = cli.command("serve", "receive OTLP traces and serve the Failure Analysis API over HTTP")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine)")
    parser.add_argument("--port", type=int, default=4318, help="port (default 4318, the OTLP/HTTP port)")
    parser.add_argument("--data-dir", metavar="DIR", help="where traces.db and runs.db live (default $VALIQOR_HOME)")
    parser.add_argument("--database-url", metavar="URL",
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
    parser.set_defaults(func=run_server)

    ui = cli.command("ui", "look at the local traces and analyses in a browser (the web UI on 127.0.0.1)")
    ui.add_argument("--port", type=int, default=4318, help="port (default 4318)")
    ui.add_argument("--data-dir", metavar="DIR", help="where traces.db and runs.db live (default: $VALIQOR_HOME "
                                                      "or ./.valiqor, where `valiqor demo` writes)")
    ui.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")
    ui.set_defaults(func=run_ui)


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
        serve("127.0.0.1", args.port, ServerConfig(data_dir=args.data_dir, decode_workers=0),
                     log_level="warning", on_ready=ready)
    except ServerStartError as exc:
        print(f"valiqor ui: {exc.describe(host='--host', port='--port')}", file=sys.stderr)
        return 1
    return 0


def _has_browser() -> bool:
    """Whether a browser can open here: always on macOS and Windows; on Linux only with a display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_server(args: argparse.Namespace) -> int:
    loaded = _server_module("serve")
    if loaded is None:
        return 1
    ServerConfig, serve = loaded  # noqa: N806 - the class's own name
    keys = [*args.api_key, *filter(None, (k.strip() for k in os.environ.get("VALIQOR_SERVER_API_KEYS", "").split(",")))]
    config = ServerConfig(data_dir=args.data_dir, database_url=args.database_url, api_keys=tuple(keys),
                          project_name=args.project_name,
                          max_body_bytes=int(args.max_body_mb * 1024 * 1024), run_workers=args.workers,
                          decode_workers=_decode_workers(args.decode_workers), retention_days=args.retention_days)
    try:
        serve(args.host, args.port, config, insecure=args.insecure, log_level="warning")
    except ServerStartError as exc:  # one line naming the flags to change; exit 1, like every other failure
        print(f"valiqor serve: {exc.describe(host='--host', port='--port')}", file=sys.stderr)
        return 1
    except StoreUnavailableError as exc:
        print(f"valiqor serve: {exc}", file=sys.stderr)
        return 1
    return 0
