"""serve() binds before it starts or prints anything; an address it cannot use is one ServerStartError."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from valiqor_trace.errors import ServerStartError
from valiqor_trace.analyzer.server import ServerConfig, serve


@pytest.fixture
def taken_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_taken_port_raises_before_anything_starts(tmp_path: Path, taken_port: int,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(ServerStartError) as caught:
        serve("127.0.0.1", taken_port, ServerConfig(data_dir=str(tmp_path / "data")))
    assert str(caught.value) == f"cannot listen on 127.0.0.1:{taken_port}: address already in use (pick another port)"
    assert caught.value.describe(port="--port").endswith("(pick another --port)")
    assert not (tmp_path / "data").exists() and "valiqor serve:" not in caplog.text  # no stores, no banner


@pytest.mark.parametrize(("host", "port", "expected"), [
    ("127.0.0.1", 70000, "cannot listen on 127.0.0.1:70000: not a port number (pick a port from 1 to 65535)"),
    ("no-such-host.invalid", 4318, "cannot listen on no-such-host.invalid:4318: unknown host (check the host)"),
])
def test_an_address_it_cannot_use_names_the_fix(tmp_path: Path, host: str, port: int, expected: str) -> None:
    with pytest.raises(ServerStartError) as caught:
        serve(host, port, ServerConfig(data_dir=str(tmp_path / "data"), api_keys=("k",)))
    assert str(caught.value) == expected


def test_a_key_that_starts_with_a_dash_is_given_as_api_key_equals() -> None:
    # secrets.token_urlsafe() starts with "-" one time in 64: the documented form must take it
    from valiqor_trace.cli import build_cli

    args = build_cli().parser.parse_args(["serve", "--api-key=-Zk3q", "--api-key", "plain"])
    assert args.api_key == ["-Zk3q", "plain"]


class _Ready(Exception):
    """Raised by on_ready: the test has what it needs once the server would start serving."""


def test_the_start_line_names_where_the_data_is_without_a_password(
        tmp_path: Path, database_url: str | None, caplog: pytest.LogCaptureFixture) -> None:
    # a password in the URL (trust auth ignores it) must not reach the log; the line names the database
    url = database_url.replace("postgres@", "postgres:hunter2@", 1) if database_url else None
    caplog.set_level(logging.WARNING, logger="valiqor_trace.server")

    def ready(url: str) -> None:
        raise _Ready(url)

    with pytest.raises(_Ready):
        serve("127.0.0.1", 0, ServerConfig(data_dir=str(tmp_path / "data"), database_url=url), on_ready=ready)
    line = next(record.getMessage() for record in caplog.records if "valiqor serve: http://" in record.getMessage())
    if url is None:
        assert line.endswith(f"data in {tmp_path / 'data'}")
    else:
        assert "hunter2" not in caplog.text
        assert line.endswith("data in " + url.replace(":hunter2@", ":...@"))
        assert str(tmp_path) not in line
