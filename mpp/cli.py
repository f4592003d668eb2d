"""One CLI for the whole product.

Each package contributes its commands through a light ``commands`` module
whose heavy imports (torch, panda3d, uvicorn) happen inside the command
bodies, so ``mpp --help`` stays instant.
"""

from __future__ import annotations

import typer

app = typer.Typer(help="Virtual MPP: virtual public-service hall.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations and seeding.", no_args_is_help=True)
officer_app = typer.Typer(help="Officer accounts.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks that print figures.", no_args_is_help=True)
eval_app = typer.Typer(help="Measured evaluations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(officer_app, name="officer")
app.add_typer(bench_app, name="bench")
app.add_typer(eval_app, name="eval")


def _register() -> None:
    from server import commands as server_commands

    server_commands.register(app, db_app=db_app, officer_app=officer_app, bench_app=bench_app)
    for mod in (
        "assistant.commands",
        "bench.commands",
        "world.commands",
        "world.bench_commands",
        "world.voice.commands",
        "world.demo.commands",
        "l10n.commands",
    ):
        try:
            module = __import__(mod, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name is None or not mod.startswith(exc.name):
                raise
            continue
        module.register(app, bench_app=bench_app, eval_app=eval_app)


_register()


def main() -> None:
    from server.settings import BadEnvironment

    try:
        app()
    except BadEnvironment as exc:
        typer.echo(f"mpp: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
