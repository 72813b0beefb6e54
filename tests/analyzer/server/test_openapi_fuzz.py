"""Property test of the REST API from its own OpenAPI document (schemathesis): no 500s, answers as documented."""

from __future__ import annotations

import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from valiqor_trace.analyzer.server import ServerConfig, create_app
from valiqor_trace.analyzer.server._app import openapi_of
from tests.analyzer.server.conftest import AUTH, DATASET, KEY, LiveServer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, module_database_url: str | None):
    app = create_app(ServerConfig(data_dir=str(tmp_path_factory.mktemp("fuzz")), database_url=module_database_url,
                                  api_keys=(KEY,), trace_timeout_s=0.0))
    with LiveServer(app) as live, live.client(AUTH) as http:
        http.post("/api/v1/fa/runs", json={"dataset": DATASET})  # some data, so reads have something to return
        yield live
    app.state.server.close()


def _operations() -> list:
    with tempfile.TemporaryDirectory() as folder:  # collection time: no tmp_path yet
        app = create_app(ServerConfig(data_dir=folder, api_keys=(KEY,)))  # only to read its document
        try:
            schema = schemathesis.openapi.from_dict(openapi_of(app))
        finally:
            app.state.server.close()
    return [result.ok() for result in schema.get_all_operations()]


# schemathesis' own pytest plugin does not run under pytest 9, so drive Hypothesis with its strategies.
@pytest.mark.parametrize("operation", _operations(), ids=lambda operation: operation.label)
def test_api_answers_as_documented(operation, fuzz_app) -> None:
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case) -> None:
        if isinstance(case.body, dict):
            case.body.pop("openai_api_key", None)  # a valid-looking key would call a judge over the network
        case.call_and_validate(base_url=fuzz_app.url, headers=AUTH, checks=CHECKS)

    check()
