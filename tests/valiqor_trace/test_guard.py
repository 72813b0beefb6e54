"""The one internal-error guard, in its three forms: context manager, decorator, and from an ``except`` block.

In production an internal error is logged once per call site (with its traceback) and swallowed; under
tests it is re-raised unchanged, so bugs are seen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from valiqor_trace.internal import handle_internal_errors, raise_internal_errors, report_internal_error


@pytest.fixture
def production() -> Iterator[None]:
    raise_internal_errors(False)
    try:
        yield
    finally:
        raise_internal_errors(None)


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "valiqor_trace"]


def test_every_form_swallows_and_logs_once_per_call_site_in_production(production: None,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    @handle_internal_errors("guard test: decorated")
    def decorated() -> str:
        raise KeyError("bug")

    def hot_path() -> str:
        try:
            raise KeyError("bug")
        except Exception:
            report_internal_error("guard test: hot path", "detector %s failed (skipped)", "d1",
                                  level=logging.WARNING)
        return "went on"

    for _ in range(2):
        with handle_internal_errors("guard test: block"):
            raise KeyError("bug")
        assert decorated() is None
        assert hot_path() == "went on"
    records = _errors(caplog)
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.ERROR, "valiqor-trace internal error in guard test: block (ignored; the app is unaffected)"),
        (logging.ERROR, "valiqor-trace internal error in guard test: decorated (ignored; the app is unaffected)"),
        (logging.WARNING, "detector d1 failed (skipped)"),
    ]
    assert all(r.exc_info is not None and isinstance(r.exc_info[1], KeyError) for r in records)


def test_every_form_re_raises_the_same_error_under_tests() -> None:
    raise_internal_errors(True)
    error = KeyError("bug")
    try:
        with pytest.raises(KeyError) as raised:
            with handle_internal_errors("guard test: raise block"):
                raise error
        assert raised.value is error

        @handle_internal_errors("guard test: raise decorated")
        def decorated() -> None:
            raise error

        with pytest.raises(KeyError) as raised:
            decorated()
        assert raised.value is error
        with pytest.raises(KeyError) as raised:
            try:
                raise error
            except KeyError:
                report_internal_error("guard test: raise hot path")
        assert raised.value is error
    finally:
        raise_internal_errors(None)
