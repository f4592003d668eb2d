"""Server commands for the ``mpp`` CLI; heavy imports stay inside the command bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def serve_forever(host: str | None = None, port: int | None = None, seed: bool = True, workers: int = 1) -> None:
    import logging
    import os

    import uvicorn

    from protocol.messages import MAX_FRAME_BYTES
    from server import logs
    from server.app import create_app
    from server.persistence.migrate import seed as do_seed
    from server.persistence.migrate import upgrade
    from server.realtime.fastws import FastWebSocketProtocol
    from server.settings import get_settings

    settings = get_settings()
    if workers > 1 and not settings.redis_url:
        raise typer.BadParameter(
            "--workers > 1 needs MPP_REDIS_URL: live events and presence cross processes over Redis.",
            param_hint="--workers",
        )
    logs.configure()
    upgrade(settings)
    if seed:
        do_seed(settings)
    if not settings.signing_keys:
        # development keys exist before any worker starts signing (documents carry the SPESIMEN mark)
        from server.domain.documents.pki import init_dev_pki

        init_dev_pki(settings.pki_path)
    from server.realtime.fastws import BoundedWebSocketProtocol, unsupported_reason

    # the short path, or uvicorn's parser fed in bounded steps (MPP_WS_FAST_PATH=0); both read uvicorn
    # internals, so on a uvicorn they do not know, its own protocol serves (unbounded, still right)
    ws_protocol: Any = FastWebSocketProtocol if settings.ws_fast_path else BoundedWebSocketProtocol
    problem = unsupported_reason()
    if problem:
        logging.getLogger(__name__).error("websocket protocol: uvicorn's stock one serves: %s", problem)
        ws_protocol = "websockets-sansio"
    http_protocol: Any = "auto"
    try:
        from server.api.edge import GuardedHttpToolsProtocol

        http_protocol = GuardedHttpToolsProtocol
    except ImportError:
        logging.getLogger(__name__).error(
            "httptools is missing: uvicorn's h11 protocol serves without header/body timeouts or the per-address cap"
        )
    common: dict[str, Any] = {
        "host": host or settings.host,
        "port": port or settings.port,
        "http": http_protocol,
        "limit_concurrency": settings.limit_concurrency,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
        # uvicorn's own loggers propagate to the root's JSON handler (server/logs.py) instead of
        # getting its plain-text handlers
        "log_config": None,
        "ws_max_size": MAX_FRAME_BYTES,
        # Presence snapshots are small and go out 10 times a second to every visitor: deflating
        # each one costs more CPU than the bandwidth it saves (1,000 visitors on 2 cores).
        "ws_per_message_deflate": False,
        "ws": ws_protocol,
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 3,
    }
    typer.echo(serving_banner(common["host"], common["port"]))
    if workers > 1:
        os.environ["MPP_WORKER_PROCESSES"] = str(workers)
        uvicorn.run("server.app:app_from_env", factory=True, workers=workers, **common)
        return
    settings.gc_freeze = True
    uvicorn.run(create_app(settings), **common)


def serving_banner(host: str, port: int) -> str:
    """The URLs a newcomer opens, printed before uvicorn starts (its own start-up lines are silenced)."""
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    return (
        f"mpp serve: listening on {base}/  (2D page {base}/, officer console {base}/officer, "
        f"API docs {base}/docs, websocket ws://{shown}:{port}/ws)"
    )


def register(app: typer.Typer, *, db_app: typer.Typer, officer_app: typer.Typer, bench_app: typer.Typer) -> None:
    from server.domain.documents import commands as document_commands

    document_commands.register(app)

    @app.command()
    def serve(
        host: str = typer.Option(None, help="Bind address (default MPP_HOST or 127.0.0.1)"),
        port: int = typer.Option(None, help="Port (default MPP_PORT or 8765)"),
        no_seed: bool = typer.Option(False, "--no-seed", help="Skip catalogue seeding"),
        workers: int = typer.Option(
            1, min=1, max=32, help="Worker processes on one port; more than 1 needs MPP_REDIS_URL"
        ),
    ) -> None:
        """Run migrations, seed the catalogue, and serve the API and websocket."""
        serve_forever(host, port, seed=not no_seed, workers=workers)

    @db_app.command("upgrade")
    def db_upgrade(revision: str = typer.Argument("head")) -> None:
        """Apply Alembic migrations."""
        from server.persistence.migrate import upgrade
        from server.settings import get_settings

        upgrade(get_settings(), revision)
        typer.echo("database at " + revision)

    @db_app.command("seed")
    def db_seed() -> None:
        """Load the catalogue, villages and sample dashboards (idempotent)."""
        from server.persistence.migrate import seed
        from server.settings import get_settings

        counts = seed(get_settings())
        typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))

    @db_app.command("import-dashboard")
    def import_dashboard(
        name: str = typer.Argument(..., help="village_progress | budget | poverty"),
        csv_file: Path = typer.Argument(..., exists=True, dir_okay=False),
        label_id: str = typer.Option(None),
        label_en: str = typer.Option(None),
        source: str = typer.Option("", help="Where the figures come from"),
    ) -> None:
        """Replace a lounge dataset with real figures from a CSV file (no longer marked sample)."""
        from server.api.dashboard import DATASETS
        from server.persistence.db import make_engine, make_sessionmaker
        from server.persistence.seed import import_dataset, parse_csv
        from server.settings import get_settings

        if name not in DATASETS.values():
            raise typer.BadParameter(f"dataset must be one of {', '.join(DATASETS.values())}")
        rows = parse_csv(csv_file.read_text(encoding="utf-8"))
        engine = make_engine(get_settings())
        with make_sessionmaker(engine)() as db:
            import_dataset(db, name, rows, label_id or name, label_en or name, False, source)
            db.commit()
        engine.dispose()
        typer.echo(f"imported {len(rows)} rows into {name}")

    @officer_app.command("add")
    def officer_add(
        username: str,
        password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
        role: str = typer.Option("officer", help="officer | village | faskes | supervisor | admin"),
        agency: str = typer.Option(None, help="Agency id, for role officer"),
        village: str = typer.Option(None, help="Village code, for role village"),
        full_name: str = typer.Option("", help="Display name"),
        facility: str = typer.Option(None, help="Health facility, for role faskes (e.g. 'RSUD Blambangan')"),
        demo: bool = typer.Option(False, "--demo", help="A demo-tour account: sees only demo applications"),
    ) -> None:
        """Create an officer account (argon2-hashed password)."""
        from server.domain.officers import create_officer
        from server.persistence.db import make_engine, make_sessionmaker
        from server.persistence.migrate import seed, upgrade
        from server.settings import get_settings

        settings = get_settings()
        upgrade(settings)
        seed(settings)
        engine = make_engine(settings)
        try:
            with make_sessionmaker(engine)() as db:
                create_officer(db, username, password, role, agency, village, full_name, facility, demo=demo)
                db.commit()
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        finally:
            engine.dispose()
        typer.echo(f"officer {username} created ({role}) in {_where(settings)}")

    data_app = typer.Typer(help="Personal data: retention (UU 27/2022 PDP).", no_args_is_help=True)
    app.add_typer(data_app, name="data")

    @data_app.command("purge")
    def data_purge(
        apply: bool = typer.Option(False, "--apply", help="Delete or anonymise (default: a dry run that only counts)"),
    ) -> None:
        """List what is past its retention term, per kind; --apply removes it (idempotent, audited)."""
        from server.domain.retention import policy, purge
        from server.persistence.db import make_engine, make_sessionmaker
        from server.persistence.migrate import upgrade
        from server.settings import get_settings

        settings = get_settings()
        upgrade(settings)
        engine = make_engine(settings)
        try:
            with make_sessionmaker(engine)() as db:
                report = purge(db, settings, apply=apply)
        finally:
            engine.dispose()
        typer.echo(f"{'kind':<18} {'kept':>9}  {'action':<10} {'past term':>9}")
        for kind in policy(settings):
            typer.echo(f"{kind.name:<18} {kind.days:>5} d.  {kind.action:<10} {report.counts[kind.name]:>9}")
        if apply:
            typer.echo(f"applied: {report.total} rows, {report.files_removed} files removed; audit record written")
        else:
            typer.echo(f"dry run: {report.total} rows past their term; nothing changed (--apply to remove)")

    _ = Any


def _where(settings: Any) -> str:
    """Which database an account went to: it must be the one ``mpp serve`` uses (same MPP_DATA_DIR)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.db_url)
    if settings.is_sqlite and url.database:
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)
