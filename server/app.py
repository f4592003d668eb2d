"""The FastAPI app factory: one place that wires settings, database, hub and routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from protocol.catalog import Catalog, load_catalog
from server import errors
from server.api.limits import BodyLimit
from server.domain.delivery import CodeDelivery, delivery_from_settings
from server.domain.submissions import PgSubmissionWriter, SubmissionWriter
from server.persistence.db import make_engine, make_sessionmaker
from server.realtime.calls import CallService
from server.realtime.chat import ChatService, DbServicePort
from server.realtime.guided import GuidedService
from server.realtime.hub import Hub
from server.realtime.presence_service import PresenceService, engine_for
from server.settings import Settings, get_settings

log = logging.getLogger(__name__)
EXPIRE_EVERY_S = 30.0


async def _expire_handoffs(app: FastAPI) -> None:
    """Abandoned requests for an officer expire (the citizen is told); a failed sweep waits for the next."""
    from server.realtime.handoffs import expire_stale

    settings = app.state.settings
    while True:
        await asyncio.sleep(min(EXPIRE_EVERY_S, settings.handoff_expire_minutes * 60 / 4))
        try:
            await asyncio.to_thread(
                expire_stale, app.state.sessions, app.state.hub, app.state.calls, settings.handoff_expire_minutes
            )
        except (OperationalError, DataError) as exc:
            log.warning("handoff expiry failed: %s", exc)


def load_assistant() -> Any:
    from assistant.core import Assistant

    return Assistant.load()


def app_from_env() -> FastAPI:
    """Entry point of each ``mpp serve --workers N`` process: a node of its own on a shared port."""
    import os

    from server import logs

    logs.configure()
    settings = get_settings()
    if int(os.environ.get("MPP_WORKER_PROCESSES", "1")) > 1:
        settings.node_id = f"{settings.node_id or 'worker'}-{os.getpid()}"
    settings.gc_freeze = True
    return create_app(settings)


def create_app(
    settings: Settings | None = None,
    *,
    catalog: Catalog | None = None,
    assistant: Any = None,
    delivery: CodeDelivery | None = None,
) -> FastAPI:
    """``delivery``: how one-time codes reach citizens (default: from ``MPP_OTP_DELIVERY``)."""
    settings = settings or get_settings()
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    catalog = catalog or load_catalog()
    hub = Hub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        if app.state.assistant is None and settings.load_assistant:
            try:
                app.state.assistant = await asyncio.to_thread(load_assistant)
            except (ImportError, OSError, FileNotFoundError) as exc:
                log.warning("assistant not loaded: %s", exc)
        app.state.chat.assistant = app.state.assistant
        app.state.chat.start()
        app.state.presence.start()
        if settings.gc_freeze:
            # Everything loaded so far (framework, ORM, the assistant's model) lives as long as
            # the process: keep it out of full collections, which otherwise stall every
            # request for tens of milliseconds (the p99 of submissions).
            gc.collect()
            gc.freeze()
            # Young-generation threshold: at 1,000 visitors ~20,000 frames a second are in flight
            # for a few ms each. With the default 700 they outlive two young collections, land in
            # the old generation and trigger full collections of every connection's objects:
            # 80-160 ms stalls every few seconds (measured). At 50,000 they die young.
            gc.set_threshold(settings.gc_young_threshold, 20, 10)
        bridge = None
        if settings.redis_url:
            from server.realtime.redis_bridge import RedisBridge

            bridge = RedisBridge(settings, hub, app.state.presence)
            await bridge.start()
        sweeper = asyncio.create_task(_expire_handoffs(app))
        try:
            yield
        finally:
            sweeper.cancel()
            if bridge is not None:
                await bridge.stop()
            await app.state.presence.stop()
            app.state.chat.shutdown()
            if isinstance(app.state.submissions, PgSubmissionWriter):
                await app.state.submissions.aclose()
            elif app.state.submissions is not None:
                app.state.submissions.close()
            engine.dispose()

    app = FastAPI(
        title="Virtual MPP API",
        version="1.0",
        description="Virtual Mal Pelayanan Publik Banyuwangi: catalogue, applications, queue, assistant.",
        lifespan=lifespan,
    )
    app.openapi = lambda: errors.error_shaped_openapi(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.catalog = catalog
    app.state.hub = hub
    app.state.assistant = assistant
    app.state.presence = PresenceService(
        hub, settings.presence_tick_hz, engine_for(settings), settings.presence_publish_lead_ms / 1000
    )
    app.state.delivery = delivery or delivery_from_settings(settings)
    app.state.port = DbServicePort(sessions, catalog, hub, settings, app.state.delivery)
    app.state.sealer = app.state.port.sealer  # personal numbers in conversation logs, sealed at rest
    app.state.chat = ChatService(assistant, app.state.port, sessions)
    app.state.calls = CallService(sessions, hub, settings)
    app.state.guided = GuidedService(app.state.chat, catalog)
    app.state.submissions = None
    if settings.group_commit and engine.dialect.name == "sqlite":
        app.state.submissions = SubmissionWriter(sessions, catalog)
    elif settings.group_commit and engine.dialect.name == "postgresql":
        app.state.submissions = PgSubmissionWriter(sessions, catalog, connections=settings.submit_threads or 8)
    app.state.port.submissions = app.state.submissions  # the chat submits through the same writer as the API

    app.add_exception_handler(errors.ApiError, errors.api_error_handler)
    app.add_exception_handler(RequestValidationError, errors.validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, errors.http_error_handler)

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return JSONResponse(
            errors.body("conflict", "Data berubah bersamaan, coba lagi.", "Concurrent change, please retry.", "id"),
            status_code=409,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        return JSONResponse(
            errors.body(
                "conflict", "Data bentrok dengan data lain.", "The request conflicts with existing data.", "id"
            ),
            status_code=409,
        )

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # e.g. a NUL character or an out-of-range number that PostgreSQL refuses to store
        return JSONResponse(
            errors.body(
                "invalid_data",
                "Data berisi karakter atau nilai yang tidak dapat disimpan.",
                "The request contains characters or values that cannot be stored.",
                "id",
            ),
            status_code=422,
        )

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database unavailable: %s", exc.__class__.__name__)
        return JSONResponse(
            errors.body("busy", "Server sedang sibuk, coba lagi.", "The server is busy, retry shortly.", "id"),
            status_code=503,
            headers={"Retry-After": "1"},
        )

    from server.api import (
        applications,
        calls,
        dashboard,
        documents,
        feedback,
        issued,
        mydata,
        officer_api,
        ops,
        queue,
        verify,
    )
    from server.api import assistant as assistant_router
    from server.api import catalog as catalog_router
    from server.api import sessions as sessions_router
    from server.realtime import ws

    for r in (
        catalog_router.router,
        sessions_router.router,
        applications.router,
        documents.router,
        queue.router,
        dashboard.router,
        assistant_router.router,
        officer_api.router,
        feedback.router,
        feedback.officer_router,
        ops.router,
        calls.router,
        issued.router,
        mydata.router,
        verify.api,
    ):
        app.include_router(r, prefix="/api/v1")
    app.include_router(ws.router)
    app.include_router(verify.router)
    from server.api import citizen

    app.include_router(citizen.router)
    from server import console

    console.install(app)
    app.add_middleware(BodyLimit, default_limit=settings.max_body_bytes, upload_limit=settings.max_upload_bytes)
    return app
