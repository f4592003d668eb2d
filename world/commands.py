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


def parse_size(size: str) -> tuple[int, int]:
    """``1280x720`` → (1280, 720); ValueError for anything else or absurd sizes."""
    w, sep, h = size.lower().partition("x")
    if not sep:
        raise ValueError(size)
    width, height = int(w), int(h)
    if not (160 <= width <= 7680 and 120 <= height <= 4320):
        raise ValueError(size)
    return width, height


def _check_lang(lang: str) -> None:
    if lang not in ("id", "en"):
        print("--lang harus id atau en / --lang must be id or en")
        raise typer.Exit(2)


def _size_or_exit(size: str) -> tuple[int, int]:
    try:
        return parse_size(size)
    except ValueError:
        print("--size harus WxH, mis. 1280x720 / --size must be WxH, e.g. 1280x720")
        raise typer.Exit(2) from None


def _register_world(app: typer.Typer, bench_app: typer.Typer) -> None:
    """The 3D hall: ``mpp hall`` and ``mpp up`` (server + hall)."""

    @app.command("hall")
    def hall(
        server: str = typer.Option("http://127.0.0.1:8765", "--server", help="Server base URL."),
        offscreen: bool = typer.Option(False, "--offscreen", help="Render without a window."),
        screenshot: Path | None = typer.Option(None, "--screenshot", help="Save one frame here and exit."),
        lang: str = typer.Option("id", "--lang", help="id or en."),
        size: str = typer.Option("1280x720", "--size", help="Window size WxH."),
        guided: bool = typer.Option(False, "--guided", help="Guided mode: larger text, the avatar leads."),
        name: str = typer.Option("Warga", "--name", help="Name shown over your head (first name only)."),
        quality: str | None = typer.Option(
            None,
            "--quality",
            help="auto (default, or MPP_HALL_QUALITY): PBR light kept only if it runs at 30 FPS; "
            "high: PBR and shadows; low: baked light for weak GPUs and software rendering.",
        ),
    ) -> None:
        """Open the 3D hall client."""
        _check_lang(lang)
        if quality is not None and quality not in ("auto", "high", "low"):
            print("--quality harus auto, high atau low / --quality must be auto, high or low")
            raise typer.Exit(2)
        w, h = _size_or_exit(size)
        from world.app import run_hall
        from world.config import WorldConfig

        cfg = WorldConfig(
            server=server,
            lang=lang,
            width=w,
            height=h,
            offscreen=offscreen or screenshot is not None,
            guided=guided,
            name=name,
            text_scale=1.3 if guided else 1.0,
            quality=quality,
        )
        raise typer.Exit(run_hall(cfg, screenshot, emit=print))

    @app.command("up")
    def up(
        port: int = typer.Option(8765, "--port", help="Server port."),
        lang: str = typer.Option("id", "--lang", help="id or en."),
        shots: Path = typer.Option(Path("var/shots"), "--shots", help="Where the offscreen walkthrough saves PNGs."),
        size: str = typer.Option("1280x720", "--size", help="Window size WxH."),
        offscreen: bool = typer.Option(False, "--offscreen", help="Force the offscreen walkthrough."),
    ) -> None:
        """The main job: start the server and open the hall connected to it (offscreen tour without a display)."""
        _check_lang(lang)
        w, h = _size_or_exit(size)
        from world.app import run_up

        raise typer.Exit(run_up(port=port, lang=lang, shots=shots, size=(w, h), force_offscreen=offscreen, emit=print))
