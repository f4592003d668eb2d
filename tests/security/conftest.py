"""The attack replays run against the app with its real, default limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def app(migrated: Any) -> Any:
    from server.app import create_app
    from tests.codes import RecordingDelivery

    return create_app(migrated, delivery=RecordingDelivery())


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
