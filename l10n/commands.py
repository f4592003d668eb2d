"""``mpp i18n``: keep the gettext catalogues in step with the code."""

from __future__ import annotations

import typer


def register(app: typer.Typer, **_: object) -> None:
    i18n = typer.Typer(help="Translations: extract, update, check, compile (assets/locale).", no_args_is_help=True)
    app.add_typer(i18n, name="i18n")

    @i18n.command("extract")
    def extract_cmd() -> None:
        """Write assets/locale/messages.pot from the keys used in the code and templates."""
        from l10n import tools

        found = tools.extract()
        path = tools.write_template(found)
        typer.echo(f"{len(found.keys)} keys -> {path}")

    @i18n.command("update")
    def update_cmd() -> None:
        """Extract, then add every new key to each language's .po with an empty text to fill in."""
        from l10n import tools

        found = tools.extract()
        tools.write_template(found)
        for lang, keys in tools.update(found).items():
            typer.echo(f"{lang}: {len(keys)} new" + (": " + ", ".join(keys) if keys else ""))

    @i18n.command("check")
    def check_cmd() -> None:
        """Fail when a text is missing in id or en, placeholders differ, or the code uses an unknown key."""
        from l10n import tools

        issues = tools.problems(tools.extract())
        for line in issues:
            typer.echo(line)
        if issues:
            raise typer.Exit(1)
        typer.echo("catalogues ok")

    @i18n.command("compile")
    def compile_cmd() -> None:
        """Write .mo files for outside gettext tools (the product reads the .po files directly)."""
        from l10n import tools

        for path in tools.compile_mo():
            typer.echo(str(path))
