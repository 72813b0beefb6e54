"""init() instruments each supported library when the app imports it, and never imports it itself."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import valiqor_trace
from tests.helpers import run_python


def test_libraries_are_instrumented_on_import_not_loaded_by_init(tmp_path: Path) -> None:
    out = run_python("""
    import json, sys, valiqor_trace
    handle = valiqor_trace.init(exporters="none")
    before = [m for m in ("openai", "langchain_core", "llama_index.core") if m in sys.modules]
    instrumented_before = handle.instrumented
    import openai
    after_openai = handle.instrumented
    import langchain_core
    print(json.dumps({"before": before, "instrumented_before": instrumented_before,
                      "after_openai": after_openai, "after_langchain": handle.instrumented}))
    handle.shutdown()
    """, cwd=tmp_path)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["before"] == [] and result["instrumented_before"] == []
    assert result["after_openai"] == ["openai"]
    assert result["after_langchain"] == ["langchain", "openai"]


def test_explicit_selection_and_false(tracer_provider) -> None:
    pytest.importorskip("openai")
    import openai  # noqa: F401 - already imported: instrumented at once

    handle = valiqor_trace.init(instrument=["openai"], tracer_provider=tracer_provider, exporters="none")
    assert handle.instrumented == ["openai"]
    handle.shutdown()
    assert handle.instrumented == []
    handle = valiqor_trace.init(instrument=False, tracer_provider=tracer_provider, exporters="none")
    assert handle.instrumented == []


def test_after_shutdown_a_later_import_is_not_instrumented(tmp_path: Path) -> None:
    out = run_python("""
    import valiqor_trace
    handle = valiqor_trace.init(exporters="none", instrument=["langchain"])
    handle.shutdown()
    import langchain_core
    print(handle.instrumented)
    """, cwd=tmp_path)
    assert out.strip().splitlines()[-1] == "[]"


def test_an_instrumentor_that_cannot_be_imported_is_one_warning_not_silence(caplog) -> None:
    from valiqor_trace.instrumentors import Integration, load_instrumentor

    broken = Integration("demo-lib", "json", "valiqor_trace.instrumentors.no_such_module:Instrumentor", "demo", "demo-lib")
    with caplog.at_level("DEBUG", logger="valiqor_trace"):
        assert load_instrumentor(broken) is None
        assert load_instrumentor(broken) is None
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "cannot load the demo-lib instrumentor" in warnings[0].getMessage()
    assert "no_such_module" in warnings[0].getMessage()


def test_a_library_without_its_official_instrumentation_says_which_extra_to_install(caplog) -> None:
    from valiqor_trace.instrumentors import Integration, load_instrumentor

    provider = Integration("demo-provider", "json", "opentelemetry.instrumentation.genai.no_such_provider:X",
                           "demo-provider", "demo-provider", official=True)
    with caplog.at_level("DEBUG", logger="valiqor_trace"):
        assert load_instrumentor(provider) is None
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert "demo-provider calls are not traced" in warning.getMessage()
    assert "pip install 'valiqor-trace[demo-provider]'" in warning.getMessage()


def test_every_official_integration_is_installed_by_its_extra() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from valiqor_trace.instrumentors import INTEGRATIONS

    extras = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for integration in INTEGRATIONS:
        if integration.official:
            module = integration.instrumentor.partition(":")[0]
            distribution = "opentelemetry-instrumentation-" + module.removeprefix(
                "opentelemetry.instrumentation.").replace(".", "-").replace("_", "-")
            assert any(req.startswith(distribution) for req in extras[integration.extra]), integration.name


def test_each_integration_names_the_distribution_its_instrumentor_checks() -> None:
    """The entry points tell opentelemetry-instrument the distribution without importing the library."""
    from valiqor_trace.instrumentors import INTEGRATIONS, load_instrumentor

    checked = 0
    for integration in INTEGRATIONS:
        if integration.official:
            continue  # the OpenTelemetry project's class, not one of our adapters
        if importlib.util.find_spec(integration.requires.partition(".")[0]) is None:
            continue
        assert load_instrumentor(integration).library == integration.distribution
        checked += 1
    assert checked >= 1
