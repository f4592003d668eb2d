"""World commands for the ``mpp`` CLI; imports stay light (heavy ones live inside command bodies)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, *, bench_app: typer.Typer, eval_app: typer.Typer) -> None:
    _register_voice(app)


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
