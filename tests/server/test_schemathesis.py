"""Property-based fuzzing of the published OpenAPI: no input may produce a 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")


def _fuzz(op: Any, token: str, failures: list[str]) -> Callable[[], None]:
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=op.as_strategy())
    def run(case: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call()
        if response.status_code >= 500:
            failures.append(f"{op.method.upper()} {op.path}: {response.status_code} {response.text[:200]}")

    return run


def test_no_server_errors_across_the_api(migrated: Any, assistant_engine: Any) -> None:
    from fastapi.testclient import TestClient

    from server.app import create_app
    from tests.codes import RecordingDelivery

    app = create_app(migrated, assistant=assistant_engine, delivery=RecordingDelivery())
    failures: list[str] = []
    with TestClient(app) as client:
        token = client.post("/api/v1/sessions", json={}).json()["token"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for op in operations:
        _fuzz(op, token, failures)()
    assert failures == []
