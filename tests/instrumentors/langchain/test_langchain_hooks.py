"""Every function the LangChain instrumentor wraps exists in the installed langchain-core / langgraph, and a
missing one is one WARNING naming it and the installed version.

The wrap targets are private LangChain functions no release promises. CI runs this folder on langchain-core
0.3.86 + langgraph 0.6 and on the latest 1.x (.ci/run), so a rename in either line fails here first.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import logging
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from packaging.specifiers import SpecifierSet

from valiqor_trace.instrumentors._base import is_patched
from valiqor_trace.instrumentors.langchain import _HOOKS, LangChainInstrumentor
from valiqor_trace.instrumentors.langchain._targets import WRAP_TARGETS, WrapTarget

_CHAT = "langchain_core.language_models.chat_models"


def _lookup(target: WrapTarget) -> tuple[Any, str] | None:
    """(owner, attribute name) of ``target`` found by plain imports and getattr, or None."""
    owner: Any = importlib.import_module(target.module)
    path = target.attribute.split(".")
    for part in path[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    return (owner, path[-1]) if callable(getattr(owner, path[-1], None)) else None


def _in_range(target: WrapTarget) -> bool:
    return importlib.metadata.version(target.distribution) in SpecifierSet(target.versions, prereleases=True)


@pytest.mark.parametrize("target", WRAP_TARGETS, ids=lambda target: target.name)
def test_every_wrap_target_resolves_in_the_installed_release(target: WrapTarget) -> None:
    pytest.importorskip(target.module.partition(".")[0])  # LangGraph is optional (CI installs it)
    version = importlib.metadata.version(target.distribution)
    assert target.hook in _HOOKS
    if _in_range(target):
        assert _lookup(target), f"{target.name} is missing in {target.distribution} {version}"
    else:  # the declared range must not hide a hook this release has (it would go unwrapped)
        assert _lookup(target) is None, f"{target.name} exists in {target.distribution} {version}: " \
                                        f"widen versions={target.versions!r}"


def test_instrumenting_the_installed_release_wraps_every_target_it_has_without_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    instrumentor = LangChainInstrumentor()
    expected = [found for target in WRAP_TARGETS
                if importlib.util.find_spec(target.module.partition(".")[0]) and _in_range(target)
                and (found := _lookup(target))]
    with caplog.at_level(logging.WARNING, logger="valiqor_trace"):
        assert instrumentor.instrument(tracer_provider=TracerProvider())
    try:
        assert [f"{owner.__name__}.{name}" for owner, name in expected
                if not is_patched(vars(owner)[name])] == []
    finally:
        instrumentor.uninstrument()
    assert not any(is_patched(vars(owner)[name]) for owner, name in expected)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_missing_target_is_one_warning_naming_it_and_the_installed_version(
        caplog: pytest.LogCaptureFixture) -> None:
    renamed = WrapTarget(_CHAT, "BaseChatModel._valiqor_test_renamed_hook", "run_call", "llm")
    moved = WrapTarget("langchain_core.valiqor_test_moved_module", "_set_config_context", "config_context")
    not_yet = WrapTarget(_CHAT, "BaseChatModel._valiqor_test_future_hook", "run_call", "llm", versions=">=99")
    not_installed = WrapTarget("valiqor_test_absent_library.runnable", "_set_config_context", "config_context",
                               distribution="valiqor-test-absent-library")
    version = importlib.metadata.version("langchain-core")
    with caplog.at_level(logging.DEBUG, logger="valiqor_trace"):
        for _ in range(2):  # a second instrumentation (another init()) does not repeat it
            instrumentor = LangChainInstrumentor()
            instrumentor.targets = (renamed, moved, not_yet, not_installed)
            assert instrumentor.instrument(tracer_provider=TracerProvider())
            instrumentor.uninstrument()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith(f"valiqor-trace: langchain-core {version} has no {renamed.name}, which the "
                                  "LangChain instrumentor wraps")
    assert warnings[1].startswith(f"valiqor-trace: langchain-core {version} has no {moved.name}")
    assert not any("valiqor_test_future_hook" in r.getMessage() or "valiqor_test_absent" in r.getMessage()
                   for r in caplog.records)
