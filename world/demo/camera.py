"""Camera paths of a tour: named shots of the hall, keyframes and easing.

Pure python: shots come from the hall layout data (``world.layout``), so moving a
counter in ``assets/hall/layout.yaml`` moves the tour's camera with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from world.demo.tour import CameraKey, Step, Tour
from world.layout import FACING_NORMAL, HallLayout

__all__ = ["Pose", "Shots", "ease", "pose_at"]

Vec = tuple[float, float, float]


@dataclass(frozen=True)
class Pose:
    pos: Vec
    look: Vec

    def lerp(self, other: Pose, f: float) -> Pose:
        return Pose(_lerp(self.pos, other.pos, f), _lerp(self.look, other.look, f))


def _lerp(a: Vec, b: Vec, f: float) -> Vec:
    return (a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f)


def ease(kind: str, f: float) -> float:
    """Map linear progress 0..1 to eased progress (cubic in/out; 'hold' jumps at the end)."""
    f = min(1.0, max(0.0, f))
    if kind == "linear":
        return f
    if kind == "in":
        return f * f * f
    if kind == "out":
        return 1.0 - (1.0 - f) ** 3
    if kind == "hold":
        return 1.0 if f >= 1.0 else 0.0
    return 4 * f * f * f if f < 0.5 else 1.0 - ((-2 * f + 2) ** 3) / 2  # in_out


class Shots:
    """Resolves anchors such as ``counter:2`` or ``screen:budget`` to camera poses."""

    def __init__(self, layout: HallLayout, service_counters: dict[str, int]) -> None:
        self.layout = layout
        self.service_counters = service_counters

    def _facing(
        self, x: float, y: float, facing: str, dist: float, height: float, look_z: float, side: float = 0.0
    ) -> Pose:
        """In front of (x, y) on its visitors' side; ``side`` slides the camera along the front (a 3/4 view)."""
        nx, ny = FACING_NORMAL[facing]
        tx, ty = -ny, nx
        return Pose((x + nx * dist + tx * side, y + ny * dist + ty * side, height), (x, y, look_z))

    def resolve(self, anchor: str, distance: float | None = None, height: float | None = None) -> Pose:
        lay = self.layout
        kind, _, arg = anchor.partition(":")
        if kind == "overview":
            b = lay.bounds
            return Pose((0.0, b.ymin + 1.0, height or 6.2), (0.0, (b.ymin + b.ymax) / 2 + 2.0, 0.8))
        if kind == "entrance":
            x, y, _ = lay.spawn
            return Pose((x, y - (distance or 3.0), height or 2.4), (x, y + 14.0, 1.6))
        if kind == "info_desk":
            d = lay.info_desk
            ax, ay = lay.avatar_home
            pose = self._facing(float(d["x"]), float(d["y"]), str(d["facing"]), distance or 6.5, height or 2.3, 1.5)
            return Pose(pose.pos, (ax, ay, 1.5))
        if kind in ("counter", "service", "smart_kampung"):
            if kind == "counter":
                number = int(arg)
            elif kind == "service":
                number = self.service_counters[arg]
            else:
                number = self.service_counters.get("sktm", lay.counters[-1].number)
            c = lay.counter(number)
            far = distance or 7.0
            # a 3/4 view, so the visitor standing at the counter does not hide the officer
            return self._facing(c.x, c.y, c.facing, far, height or 2.8, 1.5, side=0.45 * far)
        if kind == "board":
            bd = lay.boards[int(arg)]
            return self._facing(bd.x, bd.y, bd.facing, distance or 9.0, height or max(2.0, bd.z - 1.2), bd.z)
        if kind == "screen":
            s = next(s for s in lay.screens if s.dataset == arg)
            return self._facing(s.x, s.y, s.facing, distance or 8.5, height or s.z - 0.3, s.z)
        if kind == "lounge":
            r = lay.lounge
            cx, cy = r.center
            return Pose((r.xmin + 1.0, cy - (distance or 2.0), height or 4.2), (r.xmax, cy, 2.2))
        raise KeyError(anchor)

    def key_pose(self, k: CameraKey) -> Pose:
        if k.shot is not None:
            base = self.resolve(k.shot, k.distance, k.height)
            pose = Pose(k.pos or base.pos, k.look or base.look)
        else:
            assert k.pos is not None and k.look is not None  # guaranteed by CameraKey validation
            pose = Pose(k.pos, k.look)
        return self._inside(pose)

    def _inside(self, pose: Pose) -> Pose:
        """Keep the camera under the ceiling and inside the walls, whatever a tour asks for."""
        b = self.layout.bounds
        x, y, z = pose.pos
        top = float(self.layout.height) - 0.6
        return Pose(
            (min(max(x, b.xmin + 0.3), b.xmax - 0.3), min(max(y, b.ymin + 0.3), b.ymax - 0.3), min(max(z, 0.4), top)),
            pose.look,
        )

    def check(self, tour: Tour) -> list[str]:
        """Anchors that the current hall cannot resolve (e.g. a counter number that does not exist)."""
        bad = []
        for i, step in enumerate(tour.steps):
            for k in step.camera:
                if k.shot is None:
                    continue
                try:
                    self.resolve(k.shot)
                except (KeyError, IndexError, StopIteration, ValueError):
                    bad.append(f"step {i + 1} '{step.title.id}': camera shot '{k.shot}' is not in this hall")
        return bad


def pose_at(shots: Shots, step: Step, t: float, before: Pose | None) -> Pose:
    """Camera pose ``t`` seconds into ``step``; a first key after 0 s blends from ``before``."""
    keys = [(k.t, shots.key_pose(k), k.ease) for k in step.camera]
    if before is not None and keys[0][0] > 0.0:
        keys.insert(0, (0.0, before, "linear"))
    if t <= keys[0][0]:
        return keys[0][1]
    for (t0, p0, _), (t1, p1, kind) in zip(keys, keys[1:], strict=False):
        if t0 <= t <= t1:
            f = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
            return p0.lerp(p1, ease(kind, f))
    return keys[-1][1]


def heading_pitch(pose: Pose) -> tuple[float, float]:
    """Panda3D H and P (degrees) for a camera at pose.pos looking at pose.look."""
    dx = pose.look[0] - pose.pos[0]
    dy = pose.look[1] - pose.pos[1]
    dz = pose.look[2] - pose.pos[2]
    h = math.degrees(math.atan2(-dx, dy))
    p = math.degrees(math.atan2(dz, math.hypot(dx, dy)))
    return h, p
