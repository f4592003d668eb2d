"""D3: every personal field of every catalogue form is masked by its TYPE in the citizen, officer and console views."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from protocol.catalog import PERSONAL_TYPES, default_catalog
from protocol.forms import example_answers
from tests.codes import prove
from tests.server.conftest import VALID_NIK, make_officer, new_session

OTHER_NIK = "3510015204900002"


def _full_answers(service: Any) -> dict[str, Any]:
    data = example_answers(service, VALID_NIK, "Budi Santoso")
    for f in service.form:  # optional personal fields too, with a NIK unlike the applicant's
        if f.type == "nik" and f.name != "nik":
            data[f.name] = OTHER_NIK
        elif f.type == "kk":
            data[f.name] = "3510010101200001"
        elif f.type == "phone":
            data[f.name] = "081234567890"
        elif f.type == "email":
            data[f.name] = "warga@example.com"
        elif f.type == "select" and data.get(f.name) not in {o.value for o in f.options}:
            data[f.name] = f.options[0].value
    return data


def test_every_personal_field_of_every_form_is_masked(client: TestClient, migrated: Any) -> None:
    catalog = default_catalog()
    h = new_session(client)
    prove(client, h, VALID_NIK, "Budi Santoso", "budi@example.com")
    admin = make_officer(client, migrated, "admin1", None, role="admin")
    personal_seen = 0
    for service in catalog.services:
        if not service.form:
            continue
        data = _full_answers(service)
        r = client.post(
            "/api/v1/applications",
            json={"service_id": service.id, "data": data, "submit": True},
            headers={**h, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 201, (service.id, r.text)
        tracking = r.json()["tracking_number"]
        views = {
            "citizen": r.json()["data"],
            "officer": client.get(f"/api/v1/officer/applications/{tracking}", headers=admin).json()["data"],
        }
        for f in service.form:
            if f.type not in PERSONAL_TYPES or f.name not in data:
                continue
            personal_seen += 1
            for who, shown in views.items():
                assert shown[f.name] != data[f.name], f"{service.id}.{f.name} ({f.type}) in full to the {who}"
                assert "*" in str(shown[f.name])
    assert personal_seen >= 25  # nik, parent_nik, deceased_nik, kk_number, phones and e-mails of all forms
