"""Property-based fuzzing of the published OpenAPI: no input may produce a 5xx."""

from __future__ import annotations

from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")


def test_no_server_errors_across_the_api(app: Any, client: Any) -> None:
    from hypothesis import HealthCheck, settings

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    token = client.post("/api/v1/sessions", json={}).json()["token"]
    failures: list[str] = []
    ops = [op.ok() for op in schema.get_all_operations()]

    for op in ops:
        strategy = op.as_strategy()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: Any, op: Any = op) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call()
            if response.status_code >= 500:
                failures.append(f"{op.method.upper()} {op.path}: {response.status_code} {response.text[:200]}")

        from hypothesis import given

        given(case=strategy)(run)()
    assert failures == []
