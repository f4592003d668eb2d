"""The hall's people: committed glTF characters load as animated Actors; walking moves the
joints, speaking moves the assistant's mouth, and the generator reproduces the committed files."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHARS = ROOT / "assets" / "characters"
CLIPS = {"idle", "walk", "talk", "beckon", "point", "wave"}


@pytest.fixture
def fixed_clock(base):
    """Animations follow Panda's global clock: step it 1/20 s per frame, whatever the box's load."""
    from panda3d.core import ClockObject

    clock = ClockObject.get_global_clock()
    mode = clock.get_mode()
    clock.set_mode(ClockObject.M_forced)
    clock.set_frame_rate(20)
    yield clock
    clock.set_mode(mode)


def _generator():
    spec = importlib.util.spec_from_file_location("mpp_characters_src", ROOT / "assets" / "src" / "characters.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the file runs
    spec.loader.exec_module(mod)
    return mod


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    written = _generator().generate(tmp_path)
    assert {p.name for p in written} <= {p.name for p in CHARS.iterdir()}
    for p in written:
        assert p.read_bytes() == (CHARS / p.name).read_bytes(), f"{p.name}: rerun assets/src/characters.py"


def test_every_asset_has_a_licence_note() -> None:
    note = (CHARS / "LICENSES.md").read_text(encoding="utf-8")
    for p in CHARS.glob("*.glb"):
        assert p.stem.split("_mid")[0].split("_far")[0] in note
    total = sum(p.stat().st_size for p in CHARS.iterdir())
    assert total < 4_000_000  # shipped assets stay small


@pytest.mark.render
def test_every_kind_loads_with_all_clips_and_three_levels(base) -> None:
    from world.characters import CharacterLibrary

    lib = CharacterLibrary(base.loader)
    meta = json.loads((CHARS / "characters.json").read_text(encoding="utf-8"))
    for kind in meta:
        actor = lib.actor(kind)
        try:
            assert CLIPS <= set(actor.get_anim_names()), kind
            assert actor.get_lod_names() == ["high", "medium", "low"]
            assert actor.get_num_frames("walk") > 10
        finally:
            actor.cleanup()
            actor.remove_node()


@pytest.mark.render
def test_a_walking_visitor_moves_its_joints_between_frames_at_a_speed_matched_rate(base, fixed_clock) -> None:
    from world.characters import CharacterLibrary, Figure

    parent = base.render.attach_new_node("t-walk")
    fig = Figure(parent, CharacterLibrary(base.loader), "visitor_man", name="walker")
    try:
        knee = fig.actor.expose_joint(None, "modelRoot", "knee.L", lodName="high")
        seen = []
        x = 0.0
        for _ in range(8):
            x += 1.3 / 20
            fig.root.set_pos(x, 0, 0)
            fig.track(x, 0.0, 1 / 20)
            fig.move(fig.speed)
            fig.update(1 / 20)
            base.taskMgr.step()
            p = knee.get_pos(fig.root)
            seen.append((round(p.y, 4), round(p.z, 4)))
        assert fig.clip == "walk"
        assert len(set(seen[2:])) >= 5  # the knee swings: a different place nearly every frame
        # the cycle covers `stride` metres: the play rate follows the ground speed
        assert fig.rate == pytest.approx(fig.speed * fig.walk_s / fig.stride, rel=0.05)
        for _ in range(30):  # stops: back to idle
            fig.track(x, 0.0, 1 / 20)
            fig.move(fig.speed)
            fig.update(1 / 20)
        assert fig.clip == "idle"
    finally:
        fig.destroy()
        parent.remove_node()


def _positions(pose, level: int):
    """The vertex positions of one level of detail of a baked pose (or of an Actor's LOD node)."""
    import numpy as np
    from panda3d.core import GeomVertexReader

    node = pose.get_child(level).find("**/+GeomNode").node()
    geom = node.get_geom(0)
    vdata = geom.get_vertex_data()
    if vdata.get_transform_blend_table() is not None:
        vdata = geom.get_animated_vertex_data(True)
    reader = GeomVertexReader(vdata, "vertex")
    out = []
    while not reader.is_at_end():
        out.append(tuple(reader.get_data3()))
    return np.array(out)


@pytest.mark.render
def test_a_walking_crowd_visitor_steps_through_shared_poses_at_a_speed_matched_rate(base) -> None:
    """The crowd's baked poses: each frame of the walk is the Actor's own pose at that frame
    (all three levels), a walker steps through them at the rate that matches its speed, and
    the crowd shares them instead of skinning a copy each."""
    import numpy as np

    from world.characters import CharacterLibrary, CrowdFigure, PoseBook

    lib = CharacterLibrary(base.loader)
    parent = base.render.attach_new_node("t-crowd-walk")
    fig = CrowdFigure(parent, lib, "visitor_man", name="walker")
    other = CrowdFigure(parent, lib, "visitor_man", name="walker")
    try:
        frames, bodies = [], []
        x = 0.0
        for _ in range(10):
            x += 1.3 / 20
            for f in (fig, other):
                f.root.set_pos(x, 0, 0)
                f.track(x, 0.0, 1 / 20)
                f.move(f.speed)
                f.update(1 / 20)
            frames.append(fig.frame)
            bodies.append(fig.body.get_child(0).node())
        assert fig.clip == "walk"
        assert len(set(frames[2:])) >= 6  # a new pose nearly every frame: the legs move
        assert fig.rate == pytest.approx(fig.speed * fig.walk_s / fig.stride, rel=0.05)
        # 1.3 m/s over a 1.3 m stride in 1 s: one walk frame (1/30 s) per 1/30 s of clip time
        assert (frames[-1] - frames[-3]) % fig.book.frames["walk"] == round(2 / 20 * fig.rate * 30)
        assert other.body.get_child(0).node() == bodies[-1]  # same kind, same frame: one shared node
        # the baked pose is the Actor's pose at that frame, at every level of detail
        actor = lib.actor("visitor_man")
        try:
            actor.pose("walk", fig.frame)
            actor.update(force=True)
            pose = PoseBook.for_kind(lib, "visitor_man").pose("walk", fig.frame)
            for level in range(3):
                baked = _positions(pose, level)
                live = _positions(actor.find("**/+LODNode"), level)
                assert baked.shape == live.shape and np.allclose(baked, live, atol=1e-5)
            other_frame = PoseBook.for_kind(lib, "visitor_man").pose("walk", (fig.frame + 7) % 30)
            assert not np.allclose(_positions(other_frame, 0), _positions(pose, 0), atol=1e-3)
        finally:
            actor.cleanup()
            actor.remove_node()
        for _ in range(30):  # stops: back to idle
            fig.track(x, 0.0, 1 / 20)
            fig.move(fig.speed)
            fig.update(1 / 20)
        assert fig.clip == "idle"
    finally:
        fig.destroy()
        other.destroy()
        parent.remove_node()


@pytest.mark.render
def test_the_crowds_remaining_poses_are_baked_ahead_in_small_slices(base) -> None:
    from world.characters import CharacterLibrary, CrowdFigure, PoseBook

    # the books are shared by the process: a test that ran before on this worker may have baked
    # them all, so this one starts from none (and puts the others back after)
    saved = dict(PoseBook._books)
    PoseBook._books.clear()
    parent = base.render.attach_new_node("t-bake")
    fig = CrowdFigure(parent, CharacterLibrary(base.loader), "visitor_youth", name="early")
    try:
        book = fig.book

        def missing() -> int:  # over every kind in use
            return sum(len(b.missing()) for b in PoseBook._books.values())

        before = missing()
        assert before > 0 and PoseBook.bake_ahead(0.0) == 0 and missing() == before  # no time, no work
        assert PoseBook.bake_ahead(60.0) == before  # given time, all of it
        assert book.complete and book.missing() == []
        assert len(book.poses) == book.frames["walk"] + book.frames["idle"]
    finally:
        fig.destroy()
        parent.remove_node()
        PoseBook._books.clear()
        PoseBook._books.update(saved)


@pytest.mark.render
def test_the_assistants_mouth_moves_while_it_speaks_and_rests_after(base, fixed_clock) -> None:
    from world.avatars import AIAvatar

    parent = base.render.attach_new_node("t-mouth")
    ai = AIAvatar(parent, base.loader, "id")
    try:
        jaw = ai.figure.actor.expose_joint(None, "modelRoot", "jaw", lodName="high")

        def opening() -> float:
            ai.update(1 / 15)
            base.taskMgr.step()
            base.taskMgr.step()
            return round(jaw.get_net_transform().get_scale().z, 3)

        quiet = {opening() for _ in range(4)}
        ai.say("Untuk KTP-el, bawa Kartu Keluarga asli.", "id")
        speaking = [opening() for _ in range(8)]
        assert len(quiet) == 1
        assert len(set(speaking)) >= 4 and max(speaking) > min(quiet) * 2  # opens and closes
        assert ai.figure.clip == "talk"  # and the hands gesture
        ai.update(30.0)
        assert opening() == min(quiet)  # done speaking: mouth at rest
    finally:
        ai.destroy()
        parent.remove_node()


def test_hall_textures_are_shipped_with_their_licence_note() -> None:
    tex = ROOT / "assets" / "hall" / "textures"
    note = (tex / "LICENSES.md").read_text(encoding="utf-8")
    pngs = sorted(p.name for p in tex.glob("*.png"))
    assert {"gajah-oling-maroon.png", "gajah-oling-green.png", "wood.png", "stone.png"} <= set(pngs)
    for name in pngs:
        assert name in note
    assert sum((tex / n).stat().st_size for n in pngs) < 500_000
