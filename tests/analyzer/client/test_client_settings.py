"""ValiqorClient's URL and path settings: a bad argument raises naming it; a bad env value warns and falls back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from valiqor_trace.errors import ValidationError
from valiqor_trace import ValiqorClient


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"base_url": "localhost:4318"}, "ValiqorClient(base_url='localhost:4318'): not a URL; give a scheme and host, "
                                     "e.g. 'http://localhost:4318'"),
    ({"judge_base_url": "127.0.0.1:8000/v1"}, "ValiqorClient(judge_base_url='127.0.0.1:8000/v1'): not a URL; give a "
                                              "scheme and host, e.g. 'http://127.0.0.1:8000/v1'"),
    ({"judge_base_url": "ollama"}, "ValiqorClient(judge_base_url='ollama'): not a URL; give a scheme and host, "
                                   "e.g. 'http://ollama'"),
])
def test_bad_url_arguments_raise_naming_the_setting_and_the_fix(kwargs, message) -> None:
    with pytest.raises(ValidationError) as caught:
        ValiqorClient(**kwargs)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_bad_path_arguments_raise_naming_the_setting(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(ValidationError, match=r"ValiqorClient\(home='.*notes.txt'\): is a file, not a directory"):
        ValiqorClient(home=str(a_file))
    with pytest.raises(ValidationError, match=r"ValiqorClient\(run_store_path='.*'\): is a directory; give the path "
                                              r"of a file in it, e.g. '.*runs.db'"):
        ValiqorClient(run_store_path=str(tmp_path))


def test_path_objects_are_accepted(tmp_path: Path) -> None:
    with ValiqorClient(home=tmp_path / "data") as client:
        assert client.config.run_store_file == str(tmp_path / "data" / "runs.db")


def test_bad_url_in_env_warns_and_falls_back(monkeypatch, caplog) -> None:
    monkeypatch.setenv("VALIQOR_BASE_URL", "valiqor:4318")
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        client = ValiqorClient()
    assert client.config.base_url is None  # embedded mode, as with no base_url at all
    assert any("VALIQOR_BASE_URL='valiqor:4318'" in r.getMessage() and "'http://valiqor:4318'" in r.getMessage()
               for r in caplog.records)


def test_server_data_dir_that_is_a_file_raises_naming_data_dir(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from valiqor_trace.analyzer.server import ServerConfig

    a_file = tmp_path / "traces.db"
    a_file.write_text("x")
    with pytest.raises(ValueError, match=r"ServerConfig\(data_dir='.*traces.db'\): is a file, not a directory"):
        ServerConfig(data_dir=str(a_file))
