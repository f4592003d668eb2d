"""Load the assistant (MiniLM + heads) once per test session: it takes seconds."""

from __future__ import annotations

import itertools

import pytest

from assistant.core import Assistant, Conversation
from assistant.ports import Caller
from tests.assistant.fakes import FakePort

_ids = itertools.count()


@pytest.fixture(scope="session")
def assistant() -> Assistant:
    return Assistant.load()


@pytest.fixture()
def port() -> FakePort:
    return FakePort()


@pytest.fixture()
def conv(port: FakePort) -> Conversation:
    return Conversation(f"t-{next(_ids)}", Caller(session_id="sess-1"), port)
