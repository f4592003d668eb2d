"""Jinja templates translate with ``{{ _("console.login") }}`` through ``jinja2.ext.i18n``.

The language is the template's ``lang`` variable, so one environment serves every request; ``pybabel``
(or ``mpp i18n extract``) finds the keys with Jinja's own Babel extractor.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from l10n import DEFAULT_LANG, t


@pass_context
def _gettext(ctx: Context, key: str, **fmt: Any) -> str:
    return t(key, ctx.get("lang") or DEFAULT_LANG, **fmt)


@pass_context
def _ngettext(ctx: Context, singular: str, plural: str, n: int, **fmt: Any) -> str:
    return t(singular if n == 1 else plural, ctx.get("lang") or DEFAULT_LANG, n=n, **fmt)


def install(env: Environment) -> Environment:
    """Add the i18n extension and our callables to ``env`` (idempotent)."""
    if "jinja2.ext.InternationalizationExtension" not in env.extensions:
        env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=False)  # type: ignore[attr-defined]
    return env
