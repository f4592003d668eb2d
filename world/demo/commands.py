"""``mpp demo``: present or record a scripted tour of the hall against a real embedded backend.

Imports stay light here; Panda3D, the server process and ffmpeg are reached inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer, *, bench_app: typer.Typer, eval_app: typer.Typer) -> None:
    register_officers(app)

    @app.command("demo")
    def demo(
        tour: str = typer.Option("default", "--tour", help="Tour name in assets/tours, or a YAML path."),
        lang: str = typer.Option(None, "--lang", help="id, en or ja (default: the tour's language)."),
        fullscreen: bool = typer.Option(False, "--fullscreen", help="Present full screen."),
        loop: bool = typer.Option(False, "--loop", help="Start over at the end, with fresh demo data each round."),
        record: Path = typer.Option(None, "--record", help="Render offscreen into this mp4 (with narration)."),
        size: str = typer.Option("1920x1080", "--size", help="Recording size WxH."),
        fps: int = typer.Option(30, "--fps", min=1, max=120, help="Recording frame rate."),
        frames: Path = typer.Option(None, "--frames", help="Also write every frame as PNG into this folder."),
        captions: Path = typer.Option(None, "--captions", help="Write subtitles (SRT) here."),
        server: str = typer.Option(None, "--server", help="Use this running server instead of an embedded one."),
        offscreen: bool = typer.Option(False, "--offscreen", help="Present without a window (rehearsal)."),
        keys: str = typer.Option("", "--keys", help="Rehearsal: clicker keys to send, one per second."),
        max_seconds: float = typer.Option(None, "--max-seconds", help="Stop after this many seconds."),
        password: str = typer.Option(
            None, "--password", envvar="MPP_DEMO_PASSWORD", help="Password of the demo-<agency> officers (--server)."
        ),
    ) -> None:
        """Present the demo tour in the hall, or record it to video (--record)."""
        import os

        from world.demo.tour import TourError, load_tour

        # narration cache and the like go to the data directory, never into the current one
        os.environ.setdefault("MPP_VOICE_CACHE", str(demo_data_home() / "voice-cache"))
        if password:
            os.environ["MPP_DEMO_PASSWORD"] = password

        try:
            t = load_tour(tour)
        except TourError as exc:
            print(str(exc))
            raise typer.Exit(2) from None
        from world.demo.run import _shots, choose_lang

        bad = _shots().check(t)
        if bad:
            print("\n".join(f"{tour}: {b}" for b in bad))
            raise typer.Exit(2)
        wanted = lang or t.default_lang
        if wanted not in ("id", "en", "ja"):
            print("--lang harus id, en atau ja / --lang must be id, en or ja")
            raise typer.Exit(2)
        shown, notice = choose_lang(wanted)
        if wanted == "ja" and shown == "ja" and not t.has_japanese():
            shown, notice = "en", "This tour has no Japanese captions: shown in English."
        if notice:
            print(notice)
        if captions is not None and record is None and frames is None:
            print("--captions needs --record or --frames (subtitles follow the recorded timeline)")
            raise typer.Exit(2)
        try:
            dims = parse_size(size)
        except ValueError:
            print(f"--size {size}: expected WxH, e.g. 1920x1080")
            raise typer.Exit(2) from None
        _run(
            t,
            shown,
            notice,
            loop,
            fullscreen,
            record,
            dims,
            fps,
            frames,
            captions,
            server,
            offscreen,
            keys,
            max_seconds,
        )


def split_counters(tour: object) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(counter, agency) of the counters the tour leaves alone, and of those it takes its own tickets at
    (its own calls stay its own)."""
    from protocol.catalog import default_catalog
    from world.layout import load_layout

    used = {
        str(getattr(step.action, "service", ""))
        for step in getattr(tour, "steps", [])
        if step.action is not None and getattr(step.action, "kind", "") == "ticket"
    }
    others: list[tuple[int, str]] = []
    own: list[tuple[int, str]] = []
    for s in load_layout(default_catalog()).counters:
        (own if used & set(s.service_ids) else others).append((s.number, s.agency_id))
    return others, own


def seed_boards(backend: Any, tour: object) -> list[dict[str, Any]]:
    """The demo database's boards: activity everywhere, the tour's own counters ready for its ticket."""
    others, own = split_counters(tour)
    return list(backend.seed_boards(others, own=own))


def demo_data_home() -> Path:
    """``MPP_DATA_DIR``, else ``$XDG_DATA_HOME/virtual-mpp`` (``~/.local/share/virtual-mpp``)."""
    import os

    if os.environ.get("MPP_DATA_DIR"):
        return Path(os.environ["MPP_DATA_DIR"])
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "virtual-mpp"


def register_officers(app: typer.Typer) -> None:
    @app.command("demo-officers")
    def demo_officers(
        password: str = typer.Option(
            ..., "--password", envvar="MPP_DEMO_PASSWORD", prompt=True, hide_input=True, help="Their password."
        ),
        agencies: str = typer.Option("", "--agencies", help="Comma-separated agency ids (default: every agency)."),
    ) -> None:
        """Create the demo-<agency> officer accounts `mpp demo --server URL` signs in with.

        Run it where the server's data lives (same MPP_DATA_DIR / MPP_DATABASE_URL as `mpp serve`);
        the password is asked for (or MPP_DEMO_PASSWORD), never stored in the code.
        """
        from protocol.catalog import default_catalog
        from world.demo.server import create_demo_officer

        if len(password) < 10:
            print("Kata sandi minimal 10 karakter / the password needs at least 10 characters")
            raise typer.Exit(2)
        known = [a.id for a in default_catalog().agencies]
        wanted = [a.strip() for a in agencies.split(",") if a.strip()] or known
        unknown = [a for a in wanted if a not in known]
        if unknown:
            print(f"agensi tidak dikenal / unknown agencies: {', '.join(unknown)}")
            raise typer.Exit(2)
        failed = [a for a in wanted if not create_demo_officer(a, password)]
        for a in wanted:
            if a not in failed:
                print(f"demo-{a}")
        if failed:
            print(f"gagal / failed: {', '.join(failed)}")
            raise typer.Exit(1)


def _run(
    t: object,
    lang: str,
    notice: str,
    loop: bool,
    fullscreen: bool,
    record: Path | None,
    size: tuple[int, int],
    fps: int,
    frames: Path | None,
    captions: Path | None,
    server_url: str | None,
    offscreen: bool,
    keys: str,
    max_seconds: float | None,
) -> None:
    import os
    import time

    from world.demo.actions import DEMO_PASSWORD, Backend
    from world.demo.server import DemoServer, DemoServerError
    from world.demo.tour import Tour

    assert isinstance(t, Tour)
    needs_backend = any(s.action is not None for s in t.steps)
    server: DemoServer | None = None
    backend: Backend | None = None
    boards: list[dict[str, object]] = []
    try:
        if needs_backend:
            if server_url is None:
                started = time.perf_counter()
                print("Menyiapkan server demo (basis data baru)… / Starting the demo server (fresh database)…")
                server = DemoServer()
                try:
                    server_url = server.start()
                except DemoServerError as exc:
                    print(f"Server demo gagal / demo server failed: {exc}")
                    raise SystemExit(1) from None
                print(f"server ready: {server_url} ({time.perf_counter() - started:.1f} s)")
            if server is None and not os.environ.get("MPP_DEMO_PASSWORD"):
                print(
                    "Catatan: buat akun demo di server itu dengan `mpp demo-officers`, lalu beri --password / "
                    "Note: create the demo officers there with `mpp demo-officers` and pass --password"
                )
            backend = Backend(
                server_url,
                password=os.environ.get("MPP_DEMO_PASSWORD") or DEMO_PASSWORD,
                codes=server.phone.code_for if server is not None else None,
            )
            if server is not None:  # only the demo's own database: a real office's queue is never touched
                server.wait_officers(120)
                boards = seed_boards(backend, t)
                print(f"boards seeded: {sum(1 for r in boards if r.get('now_serving'))} counters serving")
        if record is not None or frames is not None:
            from world.demo.run import record as do_record

            report = do_record(
                t,
                lang=lang,
                out=record,
                size=size,
                fps=fps,
                frames_dir=frames,
                captions=captions,
                backend=backend,
                notice=notice,
                max_seconds=max_seconds,
                boards=boards,
            )
            print(
                f"recorded {report.frames} frames ({report.seconds:.1f} s of tour) at {size[0]}x{size[1]}@{fps} "
                f"in {report.wall_seconds:.1f} s; narration segments: {report.audio_segments}"
                + (f"; -> {record}" if record else "")
                + (f"; frames in {frames}" if frames else "")
                + (f"; captions {captions}" if captions else "")
            )
            if report.failed_actions:
                print("actions that fell back to a calm caption: " + ", ".join(report.failed_actions))
            return
        from world.demo.run import present

        def reset_round(n: int) -> None:
            """A new loop round: fresh database, fresh visitors (runs on the action worker)."""
            if backend is not None:
                backend.reset()
            if server is not None:
                server.reset()
                if backend is not None:
                    server.wait_officers(120)
                    seed_boards(backend, t)  # the fresh database gets its activity too

        p = present(
            t,
            lang=lang,
            backend=backend,
            fullscreen=fullscreen,
            loop=loop,
            reset=reset_round,
            offscreen=offscreen,
            keys=[k for k in keys.split(",") if k.strip()],
            max_seconds=max_seconds,
            notice=notice,
            boards=boards,
        )
        print(f"ended at step {p.index + 1}/{p.count}, round {p.round}")
        print("visited steps: " + ",".join(str(i + 1) for i in p.visited))
    finally:
        if backend is not None:
            backend.close()
        if server is not None:
            server.stop()


def parse_size(size: str) -> tuple[int, int]:
    w, sep, h = size.lower().partition("x")
    if not sep:
        raise ValueError(size)
    width, height = int(w), int(h)
    if not (160 <= width <= 7680 and 120 <= height <= 4320) or width % 2 or height % 2:
        raise ValueError(size)  # H.264 in yuv420p needs even sides
    return width, height
