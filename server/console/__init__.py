"""The officer console at ``/officer``: server-rendered pages plus one live websocket."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    from server.console import admin, complaints, issued, live, pages, remote
    from server.console.web import ConsoleError, LoginRequired, console_error_handler, login_required_handler

    app.add_exception_handler(LoginRequired, login_required_handler)
    app.add_exception_handler(ConsoleError, console_error_handler)
    for r in (pages.router, issued.router, remote.router, complaints.router, admin.router, live.router):
        app.include_router(r)
