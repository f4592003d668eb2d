"""One offscreen ShowBase per test process, shared by every rendering test.

Panda3D allows a single ShowBase per process, so rendering tests take the
session-scoped ``base`` fixture instead of making their own. Offscreen GL is
tried first (p3headlessgl), then the software renderer (p3tinydisplay); when
neither opens, rendering tests skip (or fail under MPP_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import need

# rendering tests keep the baked look: an auto quality probe would switch to PBR mid-test
os.environ.setdefault("MPP_HALL_QUALITY", "low")

_PRC = "window-type offscreen\naudio-library-name null\nwin-size 960 540\nsync-video #f\nnotify-level-display error\n"


def _open_base() -> tuple[Any, str]:
    from panda3d.core import loadPrcFileData

    errors: list[str] = []
    for display in ("p3headlessgl", "p3tinydisplay"):
        loadPrcFileData("mpp-test-display", f"load-display {display}\n" + _PRC)
        from direct.showbase.ShowBase import ShowBase

        try:
            base = ShowBase(windowType="offscreen")
        except Exception as exc:  # Panda raises plain Exception when no pipe opens
            errors.append(f"{display}: {exc}")
            continue
        if base.win is None:
            errors.append(f"{display}: no offscreen buffer")
            base.destroy()
            continue
        return base, display
    raise RuntimeError("; ".join(errors))


@pytest.fixture(scope="session")
def base() -> Iterator[Any]:
    """The shared offscreen ShowBase (``base.mpp_display`` names the display module used)."""
    try:
        showbase, display = _open_base()
    except (ImportError, RuntimeError) as exc:
        need(False, f"offscreen Panda3D rendering unavailable: {exc}")
        raise  # unreachable: need() skips or fails
    showbase.mpp_display = display
    showbase.taskMgr.step()
    yield showbase
    showbase.destroy()
