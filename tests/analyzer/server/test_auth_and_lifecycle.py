"""Auth on every endpoint, the bind rule, the OpenAPI document's coverage, and runs across a restart."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from starlette.routing import Route

from valiqor_trace.errors import ValidationError
from valiqor_trace.analyzer.runs import RunStore
from valiqor_trace.analyzer.server import ServerConfig, create_app
from valiqor_trace.analyzer.server._app import openapi_of
from valiqor_trace.analyzer.server._main import check_bind
from valiqor_trace.analyzer.server._runs import RESTARTED_REASON, STOPPED_REASON
from valiqor_trace.analyzer.server.ui._pages import PAGE_PATHS
from tests.analyzer.server.conftest import AUTH, DATASET, KEY, LiveServer

_SAMPLE_PATH_VALUES = {"run_id": "run_x", "trace_id": "0af7651916cd43dd8448eb211c80319c", "bucket_id": "retrieval",
                       "span_id": "00f067aa0ba902b7"}


def _operations(app) -> list[tuple[str, str]]:
    document = openapi_of(app)
    operations = [(method.upper(), path.format(**_SAMPLE_PATH_VALUES))
                  for path, methods in document["paths"].items() for method in methods]
    return [*operations, ("GET", "/openapi.json")]


def test_every_endpoint_but_health_needs_the_key(app, live: LiveServer) -> None:
    client = live.client()
    operations = _operations(app)
    assert len(operations) >= 22
    for method, path in operations:
        for headers, expected in (({}, "missing API key"), ({"Authorization": "Bearer wrong"}, "not valid"),
                                  ({"Authorization": KEY}, "not a bearer token")):
            response = client.request(method, path, headers=headers)
            if path == "/health":
                assert response.status_code == 200
                continue
            assert response.status_code == 401, (method, path, headers, response.status_code)
            assert response.headers["www-authenticate"] == "Bearer"
            assert expected in response.json()["error"]["message"]
    assert client.get("/api/v1/fa/taxonomy", headers=AUTH).status_code == 200


def test_without_keys_the_server_is_open(tmp_path: Path, database_url: str | None) -> None:
    app = create_app(ServerConfig(data_dir=str(tmp_path / "open"), database_url=database_url))
    try:
        with LiveServer(app) as live:
            assert live.client().get("/api/v1/fa/taxonomy").status_code == 200
        assert "security" not in openapi_of(app)
    finally:
        app.state.server.close()


def test_the_openapi_document_lists_exactly_the_routes(app, http) -> None:
    served = http.get("/openapi.json").json()
    assert served == openapi_of(app) and served["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, methods in served["paths"].items() for method in methods}
    routed = {(route.path, method) for route in app.routes if isinstance(route, Route)
              for method in route.methods - {"HEAD"} if route.path != "/openapi.json" and route.path not in PAGE_PATHS}
    assert documented == routed
    for path, methods in served["paths"].items():
        for method, operation in methods.items():
            assert "200" in operation["responses"], (method, path)
            if path != "/health":
                assert "401" in operation["responses"], (method, path)


@pytest.mark.parametrize(("host", "keys", "insecure", "allowed"), [
    ("127.0.0.1", (), False, True), ("localhost", (), False, True), ("::1", (), False, True),
    ("0.0.0.0", (), False, False), ("0.0.0.0", ("k",), False, True), ("0.0.0.0", (), True, True),
    ("192.0.2.10", (), False, False),
])
def test_binding_beyond_loopback_needs_a_key_or_insecure(host: str, keys: tuple, insecure: bool,
                                                         allowed: bool) -> None:
    if allowed:
        check_bind(host, keys, insecure)
    else:
        with pytest.raises(ValidationError, match="--api-key"):
            check_bind(host, keys, insecure)


def test_runs_left_in_flight_are_failed_when_the_server_restarts(tmp_path: Path, database_url: str | None) -> None:
    data = tmp_path / "data"
    store = RunStore(database_url or data / "runs.db")
    for run_id, pid in (("run_same_pid", os.getpid()), ("run_dead_pid", 2**22 + 12345)):
        store.start_run(run_id=run_id, project_name="p", input_type="dataset", feature_kind=None, trace_id=None,
                        source="api", created_at="2026-01-01T00:00:00+00:00", created_ns=1, total_items=3,
                        options={})
        store._db.execute("UPDATE runs SET owner_pid = ? WHERE run_id = ?", (pid, run_id))
    store.close()
    app = create_app(ServerConfig(data_dir=str(data), database_url=database_url, api_keys=(KEY,)))
    try:
        with LiveServer(app) as live, live.client(AUTH) as http:
            same = http.get("/api/v1/fa/runs/run_same_pid").json()
            assert same["status"] == "failed" and same["error"] == RESTARTED_REASON
            dead = http.get("/api/v1/fa/runs/run_dead_pid").json()
            assert dead["status"] == "failed" and "stopped before it finished" in dead["error"]
    finally:
        app.state.server.close()


def test_stopping_the_server_queues_runs_in_flight_again_and_the_next_server_completes_them(
        tmp_path: Path, monkeypatch, database_url: str | None) -> None:
    import valiqor_trace.analyzer.runs._executor as executor

    release = threading.Event()
    real = executor.analyze_item

    def slow(*args, **kwargs):
        release.wait(5)
        return real(*args, **kwargs)

    monkeypatch.setattr(executor, "analyze_item", slow)
    data = str(tmp_path / "data")
    app = create_app(ServerConfig(data_dir=data, database_url=database_url, run_workers=1))
    with LiveServer(app) as live, live.client() as http:
        running = http.post("/api/v1/fa/runs", json={"dataset": DATASET, "wait_s": 0}).json()["run_id"]
        queued = http.post("/api/v1/fa/runs", json={"dataset": DATASET, "wait_s": 0}).json()["run_id"]
        # a run with its own key can run nowhere else (the key is never stored): it fails, saying so
        keyed = http.post("/api/v1/fa/runs", json={"dataset": DATASET, "wait_s": 0,
                                                   "openai_api_key": "sk-never-stored"}).json()["run_id"]
        deadline = time.monotonic() + 5
        while http.get(f"/api/v1/fa/runs/{running}").json()["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
    app.state.server.runs.close(grace_s=0.1)
    store = app.state.server.client.run_store
    try:
        for run_id in (running, queued):
            assert store.get_status_row(run_id)["status"] == "queued"
        assert store.get_status_row(keyed)["status"] == "failed"
        assert store.get_status_row(keyed)["error"] == STOPPED_REASON
    finally:
        release.set()
        app.state.server.close()
    monkeypatch.setattr(executor, "analyze_item", real)
    restarted = create_app(ServerConfig(data_dir=data, database_url=database_url, run_workers=1))
    try:
        with LiveServer(restarted) as live, live.client() as http:
            for run_id, attempts in ((running, 2), (queued, 1)):
                deadline = time.monotonic() + 10
                while (status := http.get(f"/api/v1/fa/runs/{run_id}").json())["status"] != "completed":
                    assert time.monotonic() < deadline, status
                    time.sleep(0.05)
                assert status["attempts"] == attempts and status["current_item"] == 3
                assert len(http.get(f"/api/v1/fa/runs/{run_id}/inputs").json()) == 3
        for stored in Path(data).glob("runs.db*"):  # the file and its WAL
            assert b"sk-never-stored" not in stored.read_bytes(), stored
    finally:
        restarted.state.server.close()
