"""Run the server under uvicorn, refusing an open bind without a key.

The listening sockets are bound before anything else starts or is printed: a port
that is taken is then one :class:`ServerStartError`, not a banner followed by
uvicorn's log line and its exit code 3 (which ``valiqor fa run`` uses for "the CI
gate blocks").
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from valiqor_trace.errors import ServerStartError, ValidationError
from valiqor_trace.analyzer.server._app import ServerConfig, create_app
from valiqor_trace.internal import describe_store

logger = logging.getLogger("valiqor_trace.server")
DEFAULT_PORT = 4318  # the OTLP/HTTP port, so exporters' default endpoint finds it
# errno of a failed bind -> (what it means, the fix); {host}/{port} name the settings (see ServerStartError).
_BIND_FAILURES = {
    errno.EADDRINUSE: ("address already in use", "pick another {port}"),
    errno.EACCES: ("permission denied", "ports below 1024 need administrator rights: pick another {port}"),
    errno.EADDRNOTAVAIL: ("this machine has no such address", "check {host}"),
}


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def check_bind(host: str, api_keys: tuple[str, ...], insecure: bool) -> None:
    """Refuse to listen beyond this machine with no key, unless told ``insecure``.

    Raises:
        ValidationError: saying how to add a key or accept the risk.
    """
    if api_keys or is_loopback(host):
        return
    if not insecure:
        raise ValidationError(
            f"refusing to listen on {host} without an API key: anyone who can reach it could read your traces. "
            "Give --api-key KEY (or VALIQOR_SERVER_API_KEYS), bind 127.0.0.1, or pass --insecure to accept this.")
    logger.warning("listening on %s WITHOUT an API key (--insecure): anyone who can reach it can read traces",
                   host)


def listen_sockets(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to every address ``host`` names (as asyncio's ``create_server`` would bind).

    Raises:
        ServerStartError: naming the address, what went wrong and the fix.
    """
    address = f"{host}:{port}"
    if not 0 <= port <= 65535:  # getaddrinfo would silently wrap it round to another port
        raise ServerStartError(address, "not a port number", "pick a {port} from 1 to 65535")
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ServerStartError(address, "unknown host", "check {host}") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, sockaddr in dict.fromkeys(infos):
            sockets.append(_bound_socket(family, kind, proto, sockaddr, address))
    except ServerStartError:
        _close(sockets)
        raise
    return sockets


def _bound_socket(family: int, kind: int, proto: int, sockaddr: tuple, address: str) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # restart at once after a stop (TIME_WAIT); on Windows it would allow port theft
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:  # one socket per family, as asyncio does: no dual-stack overlap
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        reason, fix = _BIND_FAILURES.get(exc.errno or 0, (exc.strerror or str(exc), "check {host} and {port}"))
        raise ServerStartError(address, reason, fix) from None
    return sock


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: ServerConfig | None = None, *,
          insecure: bool = False, log_level: str = "info", on_ready: Callable[[str], Any] | None = None) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM stop it cleanly).

    ``on_ready(url)`` is called once the address is bound and the app is built, before serving
    (``valiqor ui`` prints the URL and opens a browser there).

    Raises:
        ValidationError: a non-loopback ``host`` without an API key (see :func:`check_bind`).
        ServerStartError: the address cannot be listened on (nothing was started or printed), or the
            server stopped during start-up.
    """
    import uvicorn

    config = config or ServerConfig()
    check_bind(host, config.api_keys, insecure)
    sockets = listen_sockets(host, port)
    try:
        app = create_app(config)
    except BaseException:
        _close(sockets)
        raise
    state = app.state.server
    bound_port = sockets[0].getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on"))
    try:
        logger.warning("valiqor serve: http://%s:%d (web UI: /, OTLP: /v1/traces, API: /api/v1, "
                       "docs: /openapi.json), data in %s", host, bound_port, _data_location(state.client.config))
        if on_ready is not None:
            on_ready(f"http://{host}:{bound_port}/")
        server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a server is stopped: uvicorn has shut down gracefully and re-raised it
    except SystemExit:
        # uvicorn exits the process (code 3) when start-up fails; say so once, as for a taken port.
        if server.started:
            raise
        raise ServerStartError(f"{host}:{port}", "the server stopped during start-up", "see the log above") from None
    finally:
        state.close()
        _close(sockets)


def _data_location(config: Any) -> str:
    """Where the stores are, for the start-up line: the database (without its password), else the directory."""
    url = config.database_url
    return describe_store(url) if url else config.home


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()
