"""Request-scoped dependencies, as ``Annotated`` aliases the routers share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from protocol.catalog import Catalog
from server.domain import sessions
from server.persistence import models as m
from server.realtime.hub import Hub
from server.settings import Settings


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


# The lookups below are ``async def`` although they never wait: FastAPI runs a plain ``def``
# dependency in its thread pool, a thread hop each (two per submission, ~0.1 ms of CPU apiece).
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_catalog(request: Request) -> Catalog:
    catalog: Catalog = request.app.state.catalog
    return catalog


async def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (behind the proxy: X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "?"


DbDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
HubDep = Annotated[Hub, Depends(get_hub)]


def current_session(request: Request, db: DbDep) -> m.VisitorSession:
    return sessions.session_for_token(db, bearer(request))


VisitorDep = Annotated[m.VisitorSession, Depends(current_session)]
