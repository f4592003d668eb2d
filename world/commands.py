"""World commands for the ``mpp`` CLI; imports stay light (heavy ones live inside command bodies)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, *, bench_app: typer.Typer, eval_app: typer.Typer) -> None:
    _register_voice(app)
    _register_world(app, bench_app)


def _register_voice(app: typer.Typer) -> None:
    @app.command("say")
    def say(
        text: str = typer.Argument(..., help="Text to speak (normalised first: times, rupiah, codes)."),
        out: Path | None = typer.Option(None, "--out", help="Write the wav here instead of playing it."),
        lang: str = typer.Option("id", "--lang", help="id or en."),
        slow: bool = typer.Option(False, "--slow", help="Slow rate used in guided mode."),
    ) -> None:
        """Speak text with espeak-ng (text only with a notice when voice is unavailable)."""
        import shutil

        from world.voice import Voice, normalize, play_cli

        if lang not in ("id", "en"):
            print("--lang harus id atau en / --lang must be id or en")
            raise typer.Exit(2)
        voice = Voice()
        wav = voice.speak(text, lang, slow=slow)
        if wav is None:
            print(voice.notice(lang) or ("Suara gagal dibuat." if lang == "id" else "Speech synthesis failed."))
            print(normalize(text, lang))
            raise typer.Exit(1 if out is not None else 0)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(wav, out)
            print(out)
            return
        if play_cli(wav):
            return
        fallback = Path("var/say.wav")
        fallback.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wav, fallback)
        print(fallback.resolve())


def _register_world(app: typer.Typer, bench_app: typer.Typer) -> None:
    """The 3D hall: ``mpp hall``, ``mpp up`` (server + hall) and ``mpp bench world``."""

    @app.command("hall")
    def hall(
        server: str = typer.Option("http://127.0.0.1:8765", "--server", help="Server base URL."),
        offscreen: bool = typer.Option(False, "--offscreen", help="Render without a window."),
        screenshot: Path | None = typer.Option(None, "--screenshot", help="Save one frame here and exit."),
        lang: str = typer.Option("id", "--lang", help="id or en."),
        size: str = typer.Option("1280x720", "--size", help="Window size WxH."),
        guided: bool = typer.Option(False, "--guided", help="Guided tour: the avatar walks you through the hall."),
        name: str = typer.Option("Warga", "--name", help="Name shown over your head (first name only)."),
    ) -> None:
        """Open the 3D hall client."""
        from world.run import parse_size, run_hall

        if lang not in ("id", "en"):
            print("--lang harus id atau en / --lang must be id or en")
            raise typer.Exit(2)
        try:
            w, h = parse_size(size)
        except ValueError:
            print("--size harus WxH, mis. 1280x720 / --size must be WxH, e.g. 1280x720")
            raise typer.Exit(2) from None
        raise typer.Exit(
            run_hall(server=server, offscreen=offscreen or screenshot is not None, screenshot=screenshot,
                     lang=lang, width=w, height=h, guided=guided, name=name)
        )

    @app.command("up")
    def up(
        port: int = typer.Option(8765, "--port", help="Server port."),
        lang: str = typer.Option("id", "--lang", help="id or en."),
        shots: Path = typer.Option(Path("var/shots"), "--shots", help="Where the offscreen walkthrough saves PNGs."),
        offscreen: bool = typer.Option(False, "--offscreen", help="Force the offscreen walkthrough."),
    ) -> None:
        """The main job: start the server and open the hall connected to it (offscreen tour without a display)."""
        from world.run import run_up

        raise typer.Exit(run_up(port=port, lang=lang, shots=shots, force_offscreen=offscreen))

    @bench_app.command("world")
    def bench_world(
        seconds: float = typer.Option(3.0, "--seconds", help="Measured seconds per crowd size."),
        crowds: str = typer.Option("0,50,100", "--crowds", help="Comma-separated visitor counts."),
        display: str = typer.Option("p3headlessgl", "--display", help="p3headlessgl or p3tinydisplay."),
    ) -> None:
        """FPS at 1280x720 offscreen with 0/50/100 moving visitors, and cold start to first hall frame."""
        from world.bench import run

        run(seconds=seconds, crowds=[int(c) for c in crowds.split(",") if c.strip()], display=display)
