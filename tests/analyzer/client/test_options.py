"""The Failure Analysis options are defined once (FailureAnalysisOptions) and every entry point takes all of them.

Adding an option is adding a field to the model: these tests walk its fields, so an entry point that
forgets one (a missing keyword, a keyword not passed on, a field the server or the monitor's analysis
process drops) fails here by name.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic.fields import FieldInfo

from valiqor_trace.analyzer.client import ValiqorClient
from valiqor_trace.analyzer.client._failure_analysis import FailureAnalysisAPI
from valiqor_trace.analyzer.client._protocols import FailureAnalysis
from valiqor_trace.analyzer.client._remote import RemoteFailureAnalysisAPI
from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.fa.engine import AnalysisOptions, validate_options
from valiqor_trace.analyzer.fa.models import Thresholds
from valiqor_trace.analyzer.fa.options import FailureAnalysisOptions
from valiqor_trace.analyzer.server._schemas import PlaygroundRequest, RunRequest
from tests.helpers import REPO_ROOT, LiveServer

FIELDS = FailureAnalysisOptions.model_fields
DATASET = [{"input": "What is the capital of France?", "output": "Paris.", "context": ["Paris is in France."]}]
KEY = "sk-options-test-0123456789"
ENTRY_POINTS = [(cls, name) for cls in (FailureAnalysisAPI, RemoteFailureAnalysisAPI, FailureAnalysis)
                for name in ("run", "run_async")]


def _sample(name: str, field: FieldInfo) -> Any:
    """A value of the option's type that is not its default (types only: the spy stops before the taxonomy)."""
    if field.default is True:
        return False
    if name == "openai_api_key":
        return KEY
    if name == "thresholds":
        return Thresholds(gate_severity=1.5, alert_confidence=0.9)
    kinds = typing.get_args(field.annotation)
    if str in kinds:
        return f"sample-{name}"
    if list[str] in kinds:
        return [f"sample-{name}", "second"]
    pytest.fail(f"no sample value for the new option {name!r} ({field.annotation}): add one to _sample")


SAMPLES = {name: _sample(name, field) for name, field in FIELDS.items()}


class _Stop(Exception):
    pass


def _spy(seen: list[FailureAnalysisOptions], stop: Callable[[], Exception]) -> Callable[..., Any]:
    def prepare(trace_id: Any, dataset: Any, options: FailureAnalysisOptions, **_: Any) -> Any:
        seen.append(options)
        raise stop()

    return prepare


@pytest.mark.parametrize("owner, method", ENTRY_POINTS, ids=lambda v: getattr(v, "__name__", v))
def test_every_option_is_a_keyword_with_the_models_default(owner: type, method: str) -> None:
    parameters = list(inspect.signature(getattr(owner, method)).parameters.values())
    assert [p.name for p in parameters] == ["self", "trace_id", "dataset", *FIELDS]
    for parameter in parameters[3:]:
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, parameter
        assert parameter.default == FIELDS[parameter.name].default, parameter


@pytest.mark.parametrize("method", ["run", "run_async"])
def test_every_option_reaches_the_embedded_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    client = ValiqorClient(home=str(tmp_path))
    seen: list[FailureAnalysisOptions] = []
    monkeypatch.setattr(client.failure_analysis, "_prepare", _spy(seen, _Stop))
    for name, value in SAMPLES.items():
        with pytest.raises(_Stop):
            getattr(client.failure_analysis, method)(dataset=DATASET, **{name: value})
        assert getattr(seen[-1], name) == value, name
        others = {other: getattr(seen[-1], other) for other in FIELDS if other != name}
        assert others == {other: FIELDS[other].default for other in others}, name  # no option crosses to another


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, ValiqorClient]]:
    """Our server on 127.0.0.1 and a remote client of it."""
    pytest.importorskip("starlette")
    from valiqor_trace.analyzer.server import ServerConfig, create_app

    app = create_app(ServerConfig(data_dir=str(tmp_path / "server"), trace_timeout_s=0.0))
    with LiveServer(app) as live, ValiqorClient(base_url=live.url, project_name="remote") as client:
        yield app, client
    app.state.server.close()


@pytest.mark.parametrize("method", ["run", "run_async"])
def test_every_option_reaches_the_servers_run_from_a_remote_client(served, monkeypatch: pytest.MonkeyPatch,
                                                                  method: str) -> None:
    app, client = served
    seen: list[FailureAnalysisOptions] = []
    monkeypatch.setattr(app.state.server.api.fa, "_prepare", _spy(seen, lambda: ValidationError("stop")))
    for name, value in SAMPLES.items():
        with pytest.raises(ValidationError, match="stop"):
            getattr(client.failure_analysis, method)(dataset=DATASET, **{name: value})
        assert getattr(seen[-1], name) == value, name


def test_every_option_is_in_the_servers_documented_request_body(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from valiqor_trace.analyzer.server import ServerConfig, create_app
    from valiqor_trace.analyzer.server._app import openapi_of

    app = create_app(ServerConfig(data_dir=str(tmp_path)))
    try:
        schema = openapi_of(app)["components"]["schemas"]["RunRequest"]
    finally:
        app.state.server.close()
    assert set(FIELDS) <= set(schema["properties"])
    for name in FIELDS:
        assert FIELDS[name].description and schema["properties"][name]["description"] == FIELDS[name].description


def test_a_bad_option_names_the_option_and_the_fix_the_same_way_in_both_modes(served, tmp_path: Path) -> None:
    _, remote = served
    embedded = ValiqorClient(home=str(tmp_path / "embedded"))
    calls = {  # the option named, and the fix the message must give
        ("run_eval", "True or False"): lambda c: c.failure_analysis.run(dataset=DATASET, run_eval="maybe"),
        ("buckets", "as a list of ids"): lambda c: c.failure_analysis.run_async(dataset=DATASET, buckets=3),
        ("thresholds.gate_sverity", "Thresholds(...) or a dict of its fields"):
            lambda c: c.failure_analysis.run(dataset=DATASET, thresholds={"gate_sverity": 2.0}),
    }
    for (name, fix), call in calls.items():
        messages = []
        for client in (embedded, remote):
            with pytest.raises(ValidationError) as caught:
                call(client)
            messages.append(str(caught.value))
        assert messages[0] == messages[1], name
        assert f"{name}: " in messages[0] and fix in messages[0], messages[0]
    assert embedded.failure_analysis.count_runs() == 0 and remote.failure_analysis.count_runs() == 0


def test_one_name_is_a_list_of_one_in_both_modes(served, tmp_path: Path) -> None:
    _, remote = served
    embedded = ValiqorClient(home=str(tmp_path / "embedded"))
    for client in (embedded, remote):
        result = client.failure_analysis.run(dataset=DATASET, buckets="hallucination")
        assert result.failure_tags and {tag.bucket_id for tag in result.failure_tags} == {"hallucination"}


def test_the_key_is_never_dumped_shown_or_echoed(tmp_path: Path) -> None:
    options = FailureAnalysisOptions(openai_api_key=KEY, buckets=["retrieval"])
    assert options.openai_api_key == KEY  # the run can use it...
    shown = [repr(options), str(options), options.model_dump_json(), json.dumps(options.model_dump())]
    assert not any(KEY in text for text in shown)  # ...and nothing it prints or stores has it
    assert "openai_api_key" not in AnalysisOptions.of(options, judge=None).recorded()
    wrong = KEY + "\n"  # a key read from a file, newline and all
    with pytest.raises(ValidationError) as caught:
        ValiqorClient(home=str(tmp_path)).failure_analysis.run(dataset=DATASET, openai_api_key=wrong)
    assert "openai_api_key: " in str(caught.value) and "line breaks" in str(caught.value)
    assert KEY not in str(caught.value)


def test_the_server_request_bodies_never_show_the_key() -> None:
    run = RunRequest(openai_api_key=KEY, dataset=DATASET)
    playground = PlaygroundRequest(input_text="q", output_text="a", openai_api_key=KEY)
    assert run.options().openai_api_key == KEY and playground.openai_api_key == KEY  # the run can use it...
    shown = [repr(run), str(run), repr(playground), str(playground)]
    assert not any(KEY in text for text in shown)  # ...and a log line showing the request does not


def test_an_empty_key_means_no_key_for_the_run(tmp_path: Path) -> None:
    client = ValiqorClient(home=str(tmp_path), openai_api_key=None, judge_base_url=None)
    result = client.failure_analysis.run(dataset=DATASET, openai_api_key="")
    assert result.status == "completed" and any("llm_judge" in s.detector for s in result.detectors_skipped)


def test_every_documented_example_is_a_value_the_engine_accepts() -> None:
    # The examples appear in error messages and in the OpenAPI document: a wrong one would mislead.
    for name, field in FIELDS.items():
        assert field.examples, f"give the option {name!r} an example"
        options = FailureAnalysisOptions(**{name: field.examples[0]})
        validate_options(AnalysisOptions.of(options, judge=None))


def test_the_monitors_analysis_process_rebuilds_every_option() -> None:
    from valiqor_trace.analyzer.monitor._child import build_options
    from valiqor_trace.analyzer.monitor._process import options_spec

    valid = {"feature_kind": "rag", "run_eval": False, "run_security": False, "run_scan": False,
             "mandatory_eval_metrics": ["groundedness"], "mandatory_security_categories": ["S1"],
             "subcategories": ["entity_fabrication", "empty_retrieval"], "buckets": ["hallucination", "retrieval"],
             "thresholds": Thresholds(gate_severity=1.5)}
    engine_options = set(FIELDS) - {"project_name", "openai_api_key"}  # the child has its own project; no key
    assert set(valid) == engine_options, "give the new option a valid non-default value here"
    options = AnalysisOptions(**valid)
    rebuilt = build_options(json.loads(json.dumps(options_spec(options, "monitored"))))
    assert {name: getattr(rebuilt, name) for name in valid} == valid


def test_every_option_is_documented_in_the_readme() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    options = readme.split("- **Options**", 1)[1].split("\n- **", 1)[0]
    for name in FIELDS:
        assert f"`{name}" in options, f"run({name}=...) is missing from README's Options bullet"
