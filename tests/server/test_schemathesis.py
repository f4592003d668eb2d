"""The published OpenAPI against the app: every check schemathesis has, bounded (issue 15 D6).

Positive and negative cases for every operation, once with a visitor's token and once, for the
officer routes, with an officer's. A failure names the check and the operation, so a route that
starts answering a status it does not document (or a body off its model, or a 500) fails here.
The per-operation expectations for refusals the schema cannot state live in ``schemathesis.toml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 4  # per operation and generation mode: the whole API in about a minute on a busy 2-core machine
# Checks that need a recorded sequence of calls (schemathesis' stateful phase) do not apply here.
STATEFUL = {"use_after_free", "ensure_resource_availability", "object_level_authorization", "ignored_auth"}


def _checks() -> list[Any]:
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    return [c for c in CHECKS.get_all() if c.__name__ not in STATEFUL]


def _fuzz(op: Any, mode: Any, headers: dict[str, str], failures: list[str]) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable

    checks = _checks()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=checks)
        except AssertionError as exc:  # schemathesis' FailureGroup: one line per failed check
            failures.append(f"{op.method.upper()} {op.path} [{mode.value}]: {str(exc).splitlines()[0][:300]}")
            raise

    try:
        run()
    except AssertionError:
        pass  # recorded above, shrunk to its smallest case
    except Unsatisfiable:
        assert mode.value == "negative", f"{op.method.upper()} {op.path}: no valid input could be drawn"


def test_every_operation_answers_as_documented(migrated: Any, assistant_engine: Any) -> None:
    from fastapi.testclient import TestClient
    from schemathesis import GenerationMode

    from server.app import create_app
    from tests.codes import RecordingDelivery
    from tests.server.conftest import make_officer

    app = create_app(migrated, assistant=assistant_engine, delivery=RecordingDelivery())
    with TestClient(app) as client:
        visitor = {"Authorization": f"Bearer {client.post('/api/v1/sessions', json={}).json()['token']}"}
        officer = make_officer(client, migrated, "fuzz-admin", None, role="admin")
    config = schemathesis.Config.from_path(ROOT / "schemathesis.toml")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    failures: list[str] = []
    for op in operations:
        headers = officer if "/officer/" in op.path else visitor
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(op, mode, headers, failures)
    assert failures == [], "\n".join(failures)


def test_documented_status_codes_are_the_error_shape_and_every_route_has_a_model(app: Any) -> None:
    """Every /api/v1 operation names its success model and documents its refusals with the one error shape."""
    spec = app.openapi()
    error_ref = "#/components/schemas/ErrorBody"
    missing: list[str] = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in item.items():
            name = f"{method.upper()} {path}"
            ok = [code for code in op["responses"] if code.startswith("2")]
            content = op["responses"][ok[0]].get("content", {})
            binary = {"application/pdf", "application/zip"} & set(content)
            if not any(media.get("schema") for media in content.values()) and not binary:
                missing.append(f"{name}: no response model")
            for code, response in op["responses"].items():
                if code.startswith("2") or (path.startswith("/api/v1/verify/") and code == "404"):
                    continue
                if code == "503" and path == "/api/v1/ready":
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") != error_ref:
                    missing.append(f"{name}: {code} is not documented as ErrorBody")
            takes_body = "requestBody" in op or any(p["in"] != "path" for p in op.get("parameters", []))
            if takes_body and "422" not in op["responses"]:
                missing.append(f"{name}: input is validated but 422 is not documented")
    assert missing == []
