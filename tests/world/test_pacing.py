"""Frame pacing: frame N ends waiting for frame N-1's fence, so at most one frame is in flight
behind the one being built, in the client and in the bench alike."""

from __future__ import annotations

from typing import Any

from tests.conftest import need
from world.pacing import (
    GL_ALREADY_SIGNALED,
    GL_CONDITION_SATISFIED,
    GL_SYNC_FLUSH_COMMANDS_BIT,
    GL_SYNC_GPU_COMMANDS_COMPLETE,
    TASK_NAME,
    FramePacer,
    GLSync,
    install,
    remove,
)


class FakeGL:
    """Records the fence calls a pacer makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.made = 0
        self.is_current = True

    def sync(self) -> GLSync:
        def fence(condition: int, flags: int) -> int:
            self.made += 1
            self.calls.append(("fence", self.made))
            return self.made

        def wait(sync: int, flags: int, timeout: int) -> int:
            self.calls.append(("wait", sync, flags))
            return GL_CONDITION_SATISFIED

        def delete(sync: int) -> None:
            self.calls.append(("delete", sync))

        return GLSync(fence, wait, delete, lambda: self.is_current)


def test_each_frame_waits_for_the_fence_of_the_frame_before_it() -> None:
    gl = FakeGL()
    pacer = FramePacer(gl.sync())
    for _ in range(3):
        pacer.end_frame()
    assert gl.calls == [
        ("fence", 1),
        ("fence", 2),
        ("wait", 1, GL_SYNC_FLUSH_COMMANDS_BIT),
        ("delete", 1),
        ("fence", 3),
        ("wait", 2, GL_SYNC_FLUSH_COMMANDS_BIT),
        ("delete", 2),
    ]
    assert pacer.pending == 3 and pacer.waits == 2 and pacer.frames == 3


def test_a_pacer_switched_off_or_without_a_context_drops_its_fence_and_waits_for_nothing() -> None:
    gl = FakeGL()
    pacer = FramePacer(gl.sync())
    pacer.end_frame()
    pacer.enabled = False
    pacer.end_frame()
    pacer.end_frame()
    assert gl.calls == [("fence", 1), ("delete", 1)] and pacer.pending is None
    pacer.enabled = True
    gl.is_current = False
    pacer.end_frame()
    assert len(gl.calls) == 2 and pacer.waits == 0
    off = FramePacer(None)
    off.end_frame()
    assert not off.active and off.pending is None


def _gl(base: Any) -> GLSync:
    need(
        base.pipe is not None and base.pipe.get_type().get_name().startswith("egl"),
        "frame pacing needs GL fences (p3headlessgl)",
    )
    gl = GLSync.load(base.pipe.get_type().get_name())
    assert gl is not None
    return gl


def _frames_behind(base: Any, gl: GLSync, frames: int) -> int:
    """Frames whose predecessor was not drawn yet when they ended: a fence of our own is put behind
    each frame and polled (no wait, no flush) once the next frame has ended."""
    behind: list[Any] = []
    late = 0
    for _ in range(frames):
        base.taskMgr.step()
        if behind:
            fence = behind.pop()
            late += gl.wait(fence, 0, 0) not in (GL_ALREADY_SIGNALED, GL_CONDITION_SATISFIED)
            gl.delete(fence)
        behind.append(gl.fence(GL_SYNC_GPU_COMMANDS_COMPLETE, 0))
    gl.wait(behind[0], GL_SYNC_FLUSH_COMMANDS_BIT, 10_000_000_000)
    gl.delete(behind[0])
    return late


def test_at_most_one_frame_is_in_flight_behind_the_one_being_built(base: Any) -> None:
    """Frames that are cheap to build and dear to rasterise (40 full-screen blended veils): without
    pacing the main thread ran ahead of llvmpipe (every frame ended with the one before it still
    undrawn, ~3 ms a frame against ~120 ms of rasterising); paced, frame N-1 is drawn when frame N
    ends, every time, and each frame's wait is counted."""
    from panda3d.core import CardMaker, TransparencyAttrib

    gl = _gl(base)
    cm = CardMaker("veil")
    cm.set_frame_fullscreen_quad()
    veils = base.render2d.attach_new_node("veils")
    for _ in range(40):
        card = veils.attach_new_node(cm.generate())
        card.set_color(1, 0.5, 0.2, 0.03)
        card.set_transparency(TransparencyAttrib.M_alpha)
    pacer = install(base)
    try:
        assert pacer.active and base.taskMgr.hasTaskNamed(TASK_NAME)
        pacer.enabled = False
        assert _frames_behind(base, gl, 12) > 0  # the old pipelining: unbounded
        pacer.enabled = True
        assert _frames_behind(base, gl, 12) == 0
        assert pacer.waits == 11 and pacer.timeouts == 0 and pacer.wait_s > 0
    finally:
        veils.remove_node()
        remove(base)
    assert not base.taskMgr.hasTaskNamed(TASK_NAME) and getattr(base, "mpp_pacer", None) is None


def test_the_client_paces_its_frames_like_the_bench(base: Any) -> None:
    from world.app import HallClient
    from world.config import WorldConfig

    _gl(base)
    c = HallClient(base, WorldConfig(connect=False)).start()
    try:
        assert c.pacer is not None and c.pacer.active and base.taskMgr.hasTaskNamed(TASK_NAME)
        base.taskMgr.step()  # the first frame has no frame before it to wait for
        waits = c.pacer.waits
        for _ in range(3):
            base.taskMgr.step()
        assert c.pacer.waits == waits + 3
    finally:
        c.destroy()
    assert not base.taskMgr.hasTaskNamed(TASK_NAME)


def test_install_replaces_the_pacer_of_a_base() -> None:
    class Tasks:
        def __init__(self) -> None:
            self.names: dict[str, int] = {}

        def add(self, fn: Any, name: str, sort: int = 0) -> None:
            self.names[name] = sort

        def remove(self, name: str) -> None:
            self.names.pop(name, None)

    class Base:
        pipe = None
        taskMgr = Tasks()

    b = Base()
    first = install(b)
    second = install(b)
    assert b.mpp_pacer is second and first is not second and not second.active  # type: ignore[attr-defined]
    assert b.taskMgr.names == {TASK_NAME: 51}
    remove(b)
    assert b.taskMgr.names == {}
