"""Client configuration: one dataclass, mirrored to PRC variables, and one input table."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass
class WorldConfig:
    """Everything a hall run can be told; ``prc_lines`` mirrors it into Panda's config system."""

    server: str = "http://127.0.0.1:8765"
    lang: str = "id"
    width: int = 1280
    height: int = 720
    offscreen: bool = False
    guided: bool = False
    name: str = "Warga"
    text_scale: float = 1.0
    connect: bool = True
    sync_video: bool = False
    max_name_tags: int = 24
    interp_delay: float = 0.1
    quality: str | None = None  # auto, high or low (world.quality); None: MPP_HALL_QUALITY, else auto
    assets: Path | None = None
    extra_prc: list[str] = field(default_factory=list)

    def prc_lines(self) -> list[str]:
        """The PRC mirror: Panda reads window/display settings from here, the rest is informational."""
        lines = [
            f"win-size {self.width} {self.height}",
            f"window-title {'Virtual MPP'}",
            f"sync-video {'#t' if self.sync_video else '#f'}",
            # `mpp up` runs the server (and its assistant) on the same machine: never spin uncapped
            "clock-mode limited",
            "clock-frame-rate 60",
            "audio-library-name null",
            "textures-power-2 none",
            "framebuffer-multisample #f",
            "notify-level-device fatal",
            "default-directnotify-level warning",
            f"mpp-server {self.server}",
            f"mpp-lang {self.lang}",
            f"mpp-text-scale {self.text_scale}",
        ]
        if self.offscreen:
            lines += ["window-type offscreen", "load-display p3headlessgl", "aux-display p3tinydisplay"]
        return lines + list(self.extra_prc)

    def apply_prc(self) -> None:
        """Load the PRC mirror; must run before the ShowBase opens its window."""
        from panda3d.core import loadPrcFileData

        loadPrcFileData("mpp-world-config", "\n".join(self.prc_lines()))

    def as_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# action -> keys; a single table so settings and tests read the same bindings.
BINDINGS: dict[str, tuple[str, ...]] = {
    "forward": ("w", "arrow_up"),
    "back": ("s", "arrow_down"),
    "left": ("a", "arrow_left"),
    "right": ("d", "arrow_right"),
    "talk": ("enter",),
    "click": ("mouse1",),
    "settings": ("f1",),
    "escape": ("escape",),
    "tracker": ("f2",),
    "screenshot": ("f12",),
}

__all__ = ["BINDINGS", "WorldConfig"]
