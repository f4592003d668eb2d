"""Frame pacing: at most one frame in flight behind the one being built, as a swap chain keeps it.

Panda hands each frame to the GL driver and returns at once. On llvmpipe (software GL)
the frame is then rasterised by the driver's own threads while the main thread builds the
next one, and nothing stopped the main thread from running two or three frames ahead: the
rasteriser fell behind, then the main thread and the rasteriser threads fought for the two
cores, and frame times alternated between cheap and expensive (100 visitors, pipelined:
p95/p50 2.2). A real display's swap chain bounds this: presenting frame N waits until
frame N-1 has left the GPU.

:class:`FramePacer` does the same with GL fence syncs. A task that runs right after
Panda's render task (``igLoop``) puts a fence behind frame N and waits on frame N-1's
fence (``glClientWaitSync``). So frame N-1 is rasterised while frame N is built, as
before, but never more. The wait is part of the frame: frame times stay the real
interval between frames.

The GL entry points come through ``eglGetProcAddress`` (p3headlessgl, EGL) or
``glXGetProcAddressARB`` (an X11 window). On any other pipe, or when no GL context is
current on the main thread (a threaded draw), the pacer stays off and does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import time
from typing import Any

_log = logging.getLogger("world.pacing")

TASK_NAME = "mpp-frame-pacing"
TASK_SORT = 51  # right after ShowBase's igLoop (sort 50), which renders the frame
WAIT_NS = 1_000_000_000  # a fence that is not done after a second is left, not waited on forever

GL_SYNC_GPU_COMMANDS_COMPLETE = 0x9117
GL_SYNC_FLUSH_COMMANDS_BIT = 0x1
GL_ALREADY_SIGNALED = 0x911A
GL_TIMEOUT_EXPIRED = 0x911B
GL_CONDITION_SATISFIED = 0x911C
GL_WAIT_FAILED = 0x911D


class GLSync:
    """``glFenceSync``, ``glClientWaitSync`` and ``glDeleteSync`` of the GL context current on this thread."""

    def __init__(self, fence: Any, wait: Any, delete: Any, current: Any) -> None:
        self.fence = fence
        self.wait = wait
        self.delete = delete
        self.current = current  # () -> bool: a GL context is current on this thread

    @classmethod
    def load(cls, pipe_name: str) -> GLSync | None:
        """The entry points for a Panda pipe (``eglGraphicsPipe`` or ``glxGraphicsPipe``), or None."""
        try:
            if pipe_name.startswith("egl"):
                lib = ctypes.CDLL("libEGL.so.1")
                get_proc, get_current = lib.eglGetProcAddress, lib.eglGetCurrentContext
            elif pipe_name.startswith("glx"):
                lib = ctypes.CDLL("libGL.so.1")
                get_proc, get_current = lib.glXGetProcAddressARB, lib.glXGetCurrentContext
            else:
                return None
        except (OSError, AttributeError):
            return None
        get_proc.restype = ctypes.c_void_p
        get_proc.argtypes = [ctypes.c_char_p]
        get_current.restype = ctypes.c_void_p
        get_current.argtypes = []
        ptrs = [get_proc(name) for name in (b"glFenceSync", b"glClientWaitSync", b"glDeleteSync")]
        if not all(ptrs):
            return None
        fence = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint)(ptrs[0])
        wait = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint64)(ptrs[1])
        delete = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(ptrs[2])
        return cls(fence, wait, delete, lambda: bool(get_current()))


class FramePacer:
    """Ends every frame by waiting for the frame before it: at most one frame in flight behind it.

    ``enabled`` can be switched off (the bench measures the old, unbounded pipelining in the
    same run); ``waits`` and ``wait_s`` count the fence waits, ``timeouts`` the fences given up on.
    """

    def __init__(self, gl: GLSync | None) -> None:
        self.gl = gl
        self.enabled = gl is not None
        self.pending: Any = None  # frame N-1's fence
        self.frames = 0
        self.waits = 0
        self.wait_s = 0.0
        self.timeouts = 0

    @property
    def active(self) -> bool:
        return self.gl is not None and self.enabled

    def end_frame(self) -> None:
        """Called once a frame has been handed to GL: fence it, then wait until the frame before is drawn."""
        gl = self.gl
        if gl is None or not self.enabled or not gl.current():
            self.reset()
            return
        fence = gl.fence(GL_SYNC_GPU_COMMANDS_COMPLETE, 0)
        previous, self.pending = self.pending, fence
        self.frames += 1
        if previous is None:
            return
        t0 = time.perf_counter()
        status = gl.wait(previous, GL_SYNC_FLUSH_COMMANDS_BIT, WAIT_NS)
        self.wait_s += time.perf_counter() - t0
        self.waits += 1
        if status in (GL_TIMEOUT_EXPIRED, GL_WAIT_FAILED):
            self.timeouts += 1
        gl.delete(previous)

    def reset(self) -> None:
        """Forget the fence in flight (pacing switched off, or the context went away)."""
        if self.pending is not None and self.gl is not None and self.gl.current():
            self.gl.delete(self.pending)
        self.pending = None

    def task(self, task: Any) -> Any:
        from direct.task import Task

        self.end_frame()
        return Task.cont


def install(base: Any) -> FramePacer:
    """Pace ``base``'s frames (a task right after its render task); one pacer per base, reinstalled."""
    remove(base)
    pipe = getattr(base, "pipe", None)
    gl = GLSync.load(pipe.get_type().get_name() if pipe is not None else "")
    pacer = FramePacer(gl)
    if gl is None:
        _log.info("frame pacing off: no GL fence entry points for this pipe")
    base.mpp_pacer = pacer
    base.taskMgr.add(pacer.task, TASK_NAME, sort=TASK_SORT)
    return pacer


def remove(base: Any) -> None:
    """Stop pacing ``base``'s frames and drop the fence in flight."""
    base.taskMgr.remove(TASK_NAME)
    old = getattr(base, "mpp_pacer", None)
    if old is not None:
        old.reset()
        base.mpp_pacer = None


__all__ = ["TASK_NAME", "FramePacer", "GLSync", "install", "remove"]
