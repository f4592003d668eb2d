"""``mpp bench world``; light module (panda3d is imported inside the command body)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, *, bench_app: typer.Typer, eval_app: typer.Typer) -> None:
    @bench_app.command("world")
    def bench_world(
        seconds: float = typer.Option(3.0, "--seconds", help="Measured seconds per crowd size."),
        crowds: str = typer.Option("0,50,100", "--crowds", help="Comma-separated visitor counts."),
        display: str = typer.Option("p3headlessgl", "--display", help="p3headlessgl or p3tinydisplay."),
        pbr: bool = typer.Option(True, "--pbr/--no-pbr", help="Also measure the full-quality (simplepbr) path."),
        old: bool = typer.Option(
            True, "--old/--no-old", help="Also measure the old crowd path (one Actor per visitor) in the same run."
        ),
        sync: bool = typer.Option(
            True,
            "--sync/--no-sync",
            help="Also measure the old unbounded pipelining and a glFinish after every frame, alternating.",
        ),
    ) -> None:
        """FPS at 1280x720 offscreen with 0/50/100 moving visitors, and cold start to first hall frame."""
        from world.bench import run

        try:
            sizes = [int(c) for c in crowds.split(",") if c.strip()]
        except ValueError:
            print("--crowds harus angka dipisah koma, mis. 0,50,100 / --crowds must be comma-separated numbers")
            raise typer.Exit(2) from None
        if any(n < 0 or n > 2000 for n in sizes) or seconds <= 0 or seconds > 120:
            print("--crowds 0..2000, --seconds 0..120")
            raise typer.Exit(2)
        run(seconds=seconds, crowds=sizes, display=display, pbr=pbr, old=old, sync=sync)
