"""``valiqor serve``: an OTLP/HTTP trace receiver and the Failure Analysis REST API (the ``server`` extra).

Example:
    import uvicorn
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    uvicorn.run(create_app(ServerConfig(data_dir="/var/lib/valiqor", api_keys=("s3cret",))), port=4318)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ below imports on first use, for type checkers
    from valiqor_trace.analyzer.server._app import ServerConfig, create_app
    from valiqor_trace.analyzer.server._main import serve

__all__ = ["ServerConfig", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    # Lazy: the client imports valiqor_trace.analyzer.server._errors without needing starlette installed.
    if name in ("ServerConfig", "create_app"):
        from valiqor_trace.analyzer.server import _app

        return getattr(_app, name)
    if name == "serve":
        from valiqor_trace.analyzer.server._main import serve

        return serve
    raise AttributeError(f"module 'valiqor_trace.analyzer.server' has no attribute {name!r}")
