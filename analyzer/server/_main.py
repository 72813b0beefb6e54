"""Run the server under uvicorn, refusing an open bind without a key."""

from __future__ import annotations

import ipaddress
import logging
import socket

from analyzer.errors import ValidationError
from analyzer.server._app import ServerConfig, create_app

logger = logging.getLogger("valiqor_trace.server")
DEFAULT_PORT = 4318  # the OTLP/HTTP port, so exporters' default endpoint finds it


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


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, config: ServerConfig | None = None, *,
          insecure: bool = False, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM stop it cleanly)."""
    import uvicorn

    config = config or ServerConfig()
    check_bind(host, config.api_keys, insecure)
    app = create_app(config)
    state = app.state.server
    logger.warning("valiqor serve: http://%s:%d (OTLP: /v1/traces, API: /api/v1, docs: /openapi.json), data in %s",
                   host, port, state.client.config.home)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on")
    finally:
        state.close()
