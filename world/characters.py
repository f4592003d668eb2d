"""Rigged, animated people of the hall: glTF characters from ``assets/characters`` as Actors.

The files are made by ``assets/src/characters.py`` (rerunnable, deterministic). Each kind is
loaded once per process; every figure is a cheap copy of that template (about 0.1 ms), so a
visitor joining never stalls a frame. A :class:`Figure` picks its clip from what it does:
walking plays ``walk`` at the rate that makes its feet cover the ground it moves over (no
sliding), standing plays ``idle``, and ``talk``/``beckon``/``wave``/``point`` are gestures.
A speaking figure's mouth is driven from the ``jaw`` joint every frame.
"""

from __future__ import annotations

import abc
import json
import math
import weakref
from pathlib import Path
from typing import Any

VISITOR_KINDS = (
    "visitor_man",
    "visitor_hijab",
    "visitor_woman",
    "visitor_elder_man",
    "visitor_elder_hijab",
    "visitor_youth",
)
OFFICER_KINDS = ("officer", "officer_hijab")
ASSISTANT_KIND = "assistant"
GESTURES = ("talk", "beckon", "wave", "point")
WALK_MIN_SPEED = 0.15  # m/s: slower than this a figure stands
LOD_NAMES = ("high", "medium", "low")  # Actor sorts LODs by these names' first letters
LOD_SWITCH_M = (6.0, 14.0)


def characters_dir() -> Path:
    from protocol.catalog import assets_dir

    return assets_dir() / "characters"


def kind_for(key: str) -> str:
    """A stable visitor look for a presence id (the same person looks the same on every screen)."""
    h = 0
    for ch in key:
        h = (h * 131 + ord(ch)) & 0xFFFFFFFF
    return VISITOR_KINDS[h % len(VISITOR_KINDS)]


class CharacterLibrary:
    """Templates, loaded once per process and shared by every hall built in it."""

    _shared: dict[str, Any] = {}
    _head_z: dict[str, float] = {}
    _meta: dict[str, dict[str, Any]] | None = None

    def __init__(self, loader: Any = None, directory: Path | None = None) -> None:
        self.dir = directory or characters_dir()
        if CharacterLibrary._meta is None:
            CharacterLibrary._meta = json.loads((self.dir / "characters.json").read_text(encoding="utf-8"))
        self.meta: dict[str, dict[str, Any]] = CharacterLibrary._meta

    def template(self, kind: str) -> Any:
        tmpl = self._shared.get(kind)
        if tmpl is None:
            import gltf  # noqa: F401 - registers the .glb loader
            from direct.actor.Actor import Actor
            from panda3d.core import Filename

            if kind not in self.meta:
                raise KeyError(f"unknown character kind {kind!r}")
            info = self.meta[kind]
            # bound at once, never in a background thread: a recording must show the same pose
            # in the same frame on every run (async binding left figures in the rest pose for a
            # machine-dependent number of frames)
            tmpl = Actor(allowAsyncBind=False)
            # three levels of detail sharing one skeleton and one animation (merged LOD bundles):
            # beyond LOD_SWITCH_M[0] metres a figure has a third of the triangles, beyond [1] a seventh
            tmpl.set_lod_node()
            near, far = LOD_SWITCH_M
            for lod, (out, into) in zip(LOD_NAMES, ((near, 0.0), (far, near), (1000.0, far)), strict=True):
                tmpl.add_lod(lod, out, into)
            for lod, file in zip(LOD_NAMES, info["lod_files"], strict=True):
                tmpl.load_model(Filename.from_os_specific(str(self.dir / file)), lodName=lod)
            self._shared[kind] = tmpl
        return tmpl

    def actor(self, kind: str) -> Any:
        from direct.actor.Actor import Actor

        return Actor(other=self.template(kind), allowAsyncBind=False)

    def head_height(self, kind: str) -> float:
        """Where the ``head`` joint sits above the feet in the idle pose (once per kind)."""
        cached = self._head_z.get(kind)
        if cached is None:
            tmpl = self.template(kind)
            node = tmpl.expose_joint(None, "modelRoot", "head", lodName="high")
            tmpl.update(force=True)
            cached = self._head_z[kind] = float(node.get_z(tmpl))
            node.remove_node()
        return cached

    def stride(self, kind: str) -> float:
        return float(self.meta[kind]["stride_m"])


class _Body(abc.ABC):
    """What a :class:`Figure` and a :class:`CrowdFigure` share: the kind's proportions, the label
    layer's view and the speed that picks the clip (one definition, so both walk alike)."""

    root: Any

    def _measure(self, library: CharacterLibrary, kind: str) -> None:
        info = library.meta[kind]
        self.kind = kind
        self.stride = library.stride(kind)
        self.walk_s = float(info.get("walk_s", 1.0))
        self.head_top = float(info["head_top"])
        self.chin = float(info["chin"])
        self.head_radius = float(info["head_radius"])
        self.head_z = library.head_height(kind)
        self._head: Any = None
        self._head_static: Any = None
        self.speed = 0.0
        self._last: tuple[float, float] | None = None

    @property
    @abc.abstractmethod
    def head(self) -> Any:
        """A node at the head of the pose shown now: an Actor's joint, or a crowd pose's anchor."""

    def person(self, *, static: bool = False) -> Any:
        """The label layer's view of this figure. ``static``: a fixed node at the idle head height
        instead of the animated joint (a crowd of 100: an exposed joint cost 60 µs a frame to read
        and kept every skeleton's transforms live; a walking head moves only a few centimetres)."""
        from world.labels import Person

        if static:
            if self._head_static is None:
                self._head_static = self.root.attach_new_node("head-anchor")
                self._head_static.set_z(self.head_z)
            return Person(self._head_static, self.head_top, self.chin, self.head_radius)
        return Person(self.head, self.head_top, self.chin, self.head_radius)

    def move(self, speed: float) -> None:
        """Moving at ``speed`` m/s this frame (0 = standing)."""
        self.speed = speed

    def track(self, x: float, y: float, dt: float) -> None:
        """Derive the speed from where the figure is now (for figures placed by someone else)."""
        if self._last is not None and dt > 1e-4:
            d = math.hypot(x - self._last[0], y - self._last[1])
            # a little smoothing: presence positions arrive in 10 Hz steps, interpolated
            self.speed += (d / dt - self.speed) * min(1.0, dt * 8)
        self._last = (x, y)

    def walk_rate(self) -> float | None:
        """The walk clip's play rate at this speed (one cycle covers ``stride`` metres in
        ``walk_s`` seconds at rate 1), or None when standing."""
        if self.speed < WALK_MIN_SPEED:
            return None
        return max(0.3, min(2.5, self.speed * self.walk_s / self.stride))


class Figure(_Body):
    """One person: an Actor under ``root`` (heading 0 looks +y), with motion-matched clips."""

    live: weakref.WeakSet[Figure] = weakref.WeakSet()

    def __init__(
        self,
        parent: Any,
        library: CharacterLibrary,
        kind: str,
        *,
        name: str = "figure",
        speaker: bool = False,
        uniform: tuple[float, float, float, float] | None = None,
        lights: Any = None,
    ) -> None:
        self._measure(library, kind)
        self.root = parent.attach_new_node(name)
        from world.ao import contact_shadow

        self.shadow = contact_shadow(self.root)  # grounds the figure (baked ambient occlusion)
        self.actor = library.actor(kind)
        self.actor.reparent_to(self.root)
        self.jaw = self.actor.control_joint(None, "modelRoot", "jaw") if speaker else None
        if uniform is not None:
            for shirt in self.actor.find_all_matches("**/uniform"):  # one per level of detail
                # the glTF node and its mesh are both named "uniform": tint the outer one only
                # (colour scales multiply down the tree: both tinted drew the colour squared)
                if shirt.get_parent().get_name() != "uniform":
                    shirt.set_color_scale(*uniform)
        self.lights = lights
        if lights is not None:
            lights.apply(self.actor)
        self.clip = ""
        self.rate = 1.0
        self.gesture: str | None = None
        self.speaking = False
        self.clock = 0.0
        self._play("idle", 1.0)
        # start idles out of step, so a row of people does not breathe in unison
        self.offset = sum(ord(c) * 7 for c in name) % max(1, self.actor.get_num_frames("idle"))
        self.actor.pose("idle", self.offset)
        self.actor.loop("idle", restart=0)
        Figure.live.add(self)

    @classmethod
    def restart_all(cls) -> None:
        """Every figure's clip starts again now (from its own offset): a recording calls this at
        frame 0, so no pose depends on how many frames ran before it (a busy machine runs more)."""
        for fig in list(cls.live):
            if fig.actor.is_empty():
                continue
            clip = fig.clip or "idle"
            fig.actor.pose(clip, fig.offset % max(1, fig.actor.get_num_frames(clip)))
            fig.actor.loop(clip, restart=0)

    @property
    def head(self) -> Any:
        """A node that follows the ``head`` joint (made on first use: most figures never need it)."""
        if self._head is None:
            self._head = self.actor.expose_joint(None, "modelRoot", "head", lodName="high")
        return self._head

    # ------------------------------------------------------------------ control

    def _play(self, clip: str, rate: float) -> None:
        if clip != self.clip:
            self.actor.loop(clip)
            self.clip = clip
            self.rate = 0.0
        if abs(rate - self.rate) > 0.02:
            self.actor.set_play_rate(rate, clip)
            self.rate = rate

    def set_gesture(self, gesture: str | None) -> None:
        """``talk``/``beckon``/``wave``/``point`` while standing (walking wins); None for idle."""
        self.gesture = gesture if gesture in GESTURES else None

    def set_speaking(self, on: bool) -> None:
        self.speaking = on

    def update(self, dt: float) -> None:
        self.clock += dt
        walk = self.walk_rate()
        if walk is not None:
            self._play("walk", walk)
        elif self.gesture is not None:
            self._play(self.gesture, 1.0)
        else:
            self._play("idle", 1.0)
        if self.jaw is not None:
            if self.speaking:
                t = self.clock
                # syllable-like opening: two incommensurate rhythms, never fully shut while speaking
                opening = 0.35 + 0.65 * abs(math.sin(t * 9.1) * (0.6 + 0.4 * math.sin(t * 2.3)))
                self.jaw.set_sz(max(0.3, opening * 1.6))
            else:
                self.jaw.set_sz(0.3)

    def joint_pos(self, joint: str, other: Any) -> Any:
        """Where ``joint`` is now, relative to ``other`` (tests and the label layer)."""
        node = self.actor.expose_joint(None, "modelRoot", joint, lodName="high")
        return node.get_pos(other)

    def destroy(self) -> None:
        Figure.live.discard(self)
        self.actor.cleanup()
        self.root.remove_node()


class PoseBook:
    """Every frame of one kind's crowd clips, skinned once and shared by the whole crowd.

    A crowd member is drawn as an instance of the baked pose for its own clip and frame instead
    of an Actor of its own: no per-figure joints, skinning or vertex upload each frame (with 100
    visitors that was most of the CPU per frame on llvmpipe). Each pose keeps all three levels of
    detail under one LODNode with the Actor's switch distances, so near figures pop no more than
    before. An Actor without frame blending also shows whole frames, so the look is the same:
    every frame of the clip is baked, and each figure steps through them at its own rate
    (the walk stays speed-matched). Poses are baked on first use (about 0.2 ms each).
    """

    _books: dict[str, PoseBook] = {}
    CLIPS = ("idle", "walk")

    def __init__(self, library: CharacterLibrary, kind: str) -> None:
        from panda3d.core import NodePath

        self.kind = kind
        self.actor = library.actor(kind)  # a private copy: posing it moves no one else
        self.root = NodePath(f"poses-{kind}")  # never drawn itself: holds the poses, instanced elsewhere
        self.frames = {clip: int(self.actor.get_num_frames(clip)) for clip in self.CLIPS}
        self.fps = {clip: float(self.actor.get_frame_rate(clip)) for clip in self.CLIPS}
        self.poses: dict[tuple[str, int], Any] = {}
        self.heads: dict[tuple[str, int], Any] = {}
        self._head_joint = self.actor.expose_joint(None, "modelRoot", "head", lodName="high")
        lod_src = self.actor.get_lod_node()
        self._switches = [(lod_src.get_in(i), lod_src.get_out(i)) for i in range(lod_src.get_num_switches())]
        self._steps: list[Any] | None = None
        self.complete = False  # every pose baked

    @classmethod
    def for_kind(cls, library: CharacterLibrary, kind: str) -> PoseBook:
        book = cls._books.get(kind)
        if book is None:
            book = cls._books[kind] = PoseBook(library, kind)
        return book

    @classmethod
    def relight_all(cls) -> None:
        """After a quality switch: the crowd takes the figures' light of the new tier, and under
        PBR every baked pose (shown now or not) gets linear colours (restored with the rest)."""
        for book in cls._books.values():
            for pose in book.poses.values():
                book._linear(pose)
        for fig in list(CrowdFigure.live):
            if fig.lights is not None and not fig.body.is_empty():
                fig.lights.apply(fig.body)

    @staticmethod
    def _linear(pose: Any) -> None:
        if FigureLights.pbr and FigureLights.linear is not None:
            FigureLights.linear.apply(pose)

    def pose(self, clip: str, frame: int) -> Any:
        """The shared LOD subtree showing ``clip`` at ``frame`` (baked now if it is new)."""
        key = (clip, frame)
        found = self.poses.get(key)
        if found is None:
            found = self.poses[key] = self._bake(clip, frame)
        return found

    def head(self, clip: str, frame: int) -> Any:
        """The head joint's transform (relative to the feet) in that pose."""
        self.pose(clip, frame)
        return self.heads[(clip, frame)]

    def _plan(self) -> list[tuple[str, list[tuple[Any, Any, Any, list[tuple[Any, Any, list[int], Any]]]]]]:
        """What a bake copies, found once per kind: per level of detail its GeomNodes (name,
        transform and state under the Actor) and per geom the arrays that are not skinning weights."""
        from panda3d.core import GeomVertexFormat

        plan = []
        for name in LOD_NAMES:
            nodes = []
            for gnp in self.actor.get_lod(name).find_all_matches("**/+GeomNode"):
                src = gnp.node()
                geoms = []
                for i in range(src.get_num_geoms()):
                    geom = src.get_geom(i)
                    fmt = geom.get_vertex_data().get_format()
                    keep = [
                        a
                        for a in range(fmt.get_num_arrays())
                        if not any(
                            fmt.get_array(a).has_column(c)
                            for c in ("transform_blend", "transform_index", "transform_weight")
                        )
                    ]
                    static_fmt = GeomVertexFormat()
                    for a in keep:
                        static_fmt.add_array(fmt.get_array(a))
                    geoms.append((geom, src.get_geom_state(i), keep, GeomVertexFormat.register_format(static_fmt)))
                nodes.append((src.get_name(), gnp.get_transform(self.actor), gnp.get_state(self.actor), geoms))
            plan.append((name, nodes))
        return plan

    def _bake(self, clip: str, frame: int) -> Any:
        from panda3d.core import Geom, GeomNode, GeomVertexArrayData, GeomVertexData, LODNode, Thread

        actor = self.actor
        actor.pose(clip, frame)
        actor.update(force=True)
        self.heads[(clip, frame)] = self._head_joint.get_transform(actor)
        if self._steps is None:
            self._steps = self._plan()
        lod = LODNode(f"{self.kind}-{clip}-{frame}")
        for near_in, far_out in self._switches:
            lod.add_switch(near_in, far_out)
        pose = self.root.attach_new_node(lod)
        thread = Thread.get_current_thread()
        for level_name, nodes in self._steps:
            level = pose.attach_new_node(level_name)
            for node_name, transform, state, geoms in nodes:
                out = GeomNode(node_name)
                for geom, geom_state, keep, static_fmt in geoms:
                    skinned = geom.get_animated_vertex_data(True, thread)
                    vdata = GeomVertexData(node_name, static_fmt, Geom.UH_static)
                    for slot, a in enumerate(keep):
                        vdata.set_array(slot, GeomVertexArrayData(skinned.get_array(a)))  # a copy of this pose
                    baked = Geom(vdata)
                    for k in range(geom.get_num_primitives()):
                        baked.add_primitive(geom.get_primitive(k))  # index buffers stay shared
                    out.add_geom(baked, geom_state)
                node = level.attach_new_node(out)
                node.set_transform(transform)
                node.set_state(state)
        self._linear(pose)
        return pose

    def missing(self) -> list[tuple[str, int]]:
        """Poses not baked yet, the walk first (what a crowd needs soonest)."""
        return [(c, f) for c in ("walk", "idle") for f in range(self.frames[c]) if (c, f) not in self.poses]

    @classmethod
    def bake_ahead(cls, budget_s: float) -> int:
        """Bake poses of the kinds in use before anyone needs them, for at most ``budget_s``
        seconds (called once a frame): after the first seconds no figure waits for a bake."""
        import time

        start = time.perf_counter()
        done = 0
        for book in list(cls._books.values()):
            if book.complete:
                continue
            todo = book.missing()
            for clip, frame in todo:
                if time.perf_counter() - start >= budget_s:
                    return done
                book.pose(clip, frame)
                done += 1
            book.complete = True
        return done

    def destroy(self) -> None:
        self.actor.cleanup()
        self.root.remove_node()
        self.poses.clear()


class CrowdFigure(_Body):
    """A crowd member drawn from a :class:`PoseBook`: the same clips, rates and head anchor as a
    :class:`Figure`, without an Actor of its own (idle and walk only: visitors do not gesture)."""

    live: weakref.WeakSet[CrowdFigure] = weakref.WeakSet()

    def __init__(
        self,
        parent: Any,
        library: CharacterLibrary,
        kind: str,
        *,
        name: str = "figure",
        lights: Any = None,
        shadow: bool = True,
    ) -> None:
        from world.ao import contact_shadow

        self._measure(library, kind)
        self.book = PoseBook.for_kind(library, kind)
        self.root = parent.attach_new_node(name)
        # a crowd draws all its figures' contact shadows as one batch (world.ao.ShadowBatch)
        self.shadow = contact_shadow(self.root) if shadow else None
        # the poses are shared by every hall in the process: this hall's light goes on the figure
        self.body = self.root.attach_new_node("body")
        if lights is not None:
            lights.apply(self.body)
        self.lights = lights
        self.offset = sum(ord(c) * 7 for c in name) % max(1, self.book.frames["idle"])
        self.clip = "idle"
        self.rate = 1.0
        self.start = self.offset  # the frame the clip started from
        self.time = 0.0  # clip time since then, in seconds at rate 1
        self.frame = -1
        self._show()
        CrowdFigure.live.add(self)

    @classmethod
    def restart_all(cls) -> None:
        """As :meth:`Figure.restart_all`: every crowd clip starts again from its own offset."""
        for fig in list(cls.live):
            fig.start = fig.offset % fig.book.frames[fig.clip]
            fig.time = 0.0
            fig._show()

    @property
    def head(self) -> Any:
        """A node at the ``head`` joint of the pose shown now (made on first use)."""
        if self._head is None:
            self._head = self.root.attach_new_node("head")
            self._head.set_transform(self.book.head(self.clip, self.frame))
        return self._head

    def update(self, dt: float) -> None:
        """The clip and rate :class:`Figure` would play, and the frame they reach now."""
        walk = self.walk_rate()
        clip, rate = ("idle", 1.0) if walk is None else ("walk", walk)
        if clip != self.clip:
            # as Actor.loop: a new clip starts at its frame 0
            self.clip, self.rate, self.start, self.time = clip, rate, 0, 0.0
        else:
            if abs(rate - self.rate) > 0.02:
                self.rate = rate
            self.time += dt * self.rate
        self._show()

    def _show(self) -> None:
        book = self.book
        frame = (self.start + int(self.time * book.fps[self.clip])) % book.frames[self.clip]
        if frame == self.frame:
            return
        self.frame = frame
        body = self.body.node()
        body.remove_all_children()
        body.add_child(book.pose(self.clip, frame).node())
        if self._head is not None:
            self._head.set_transform(book.head(self.clip, frame))

    def destroy(self) -> None:
        CrowdFigure.live.discard(self)
        self.root.remove_node()


class FigureLights:
    """The light the figures stand in when the hall is baked (low tier): warm key + ambient.

    The hall itself carries its light in vertex colours; only the people are lit per vertex,
    so they turn in the light as they walk.
    """

    def __init__(self, render: Any) -> None:
        from panda3d.core import AmbientLight, DirectionalLight, Vec4

        amb = AmbientLight("figure-ambient")
        amb.set_color(Vec4(0.52, 0.50, 0.48, 1))
        key = DirectionalLight("figure-key")
        key.set_color(Vec4(0.78, 0.72, 0.62, 1))
        self.amb = render.attach_new_node(amb)
        self.key = render.attach_new_node(key)
        self.key.set_hpr(35, -55, 0)  # sun from the south-east, through the skylight

    pbr = False  # set by world.quality while simplepbr lights the scene (figures take its sun and sky)
    linear: Any = None  # world.linear.LinearColours while PBR is on: a figure made then is converted too

    def apply(self, node: Any) -> None:
        if FigureLights.pbr:
            node.clear_light()
            node.clear_material()
            if FigureLights.linear is not None:
                FigureLights.linear.apply(node)
            return
        node.set_light(self.amb)
        node.set_light(self.key)
        node.set_material_off(1)  # lit from the vertex colours (fixed function reads them only without a material)

    def destroy(self) -> None:
        self.amb.remove_node()
        self.key.remove_node()


__all__ = [
    "ASSISTANT_KIND",
    "CharacterLibrary",
    "CrowdFigure",
    "Figure",
    "FigureLights",
    "PoseBook",
    "GESTURES",
    "OFFICER_KINDS",
    "VISITOR_KINDS",
    "characters_dir",
    "kind_for",
]
