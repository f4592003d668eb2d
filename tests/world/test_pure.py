"""Interpolation, name masking, backoff and strings, all without rendering."""

from __future__ import annotations

import random
import re
from pathlib import Path

from l10n import t
from protocol.messages import PresenceEntity, PresenceSnapshot
from world.interp import Interpolator, display_name, heading_towards
from world.net import backoff_delay


def _ent(i: str, x: float, y: float, name: str = "Siti Aminah") -> PresenceEntity:
    return PresenceEntity(id=i, name=name, x=x, y=y)


def test_interpolation_blends_between_ticks_with_a_delay() -> None:
    ip = Interpolator(delay=0.1)
    ip.apply(PresenceSnapshot(tick=1, hall="Aula 1", full=True, entered=[_ent("a", 0, 0)]), now=10.0)
    ip.apply(PresenceSnapshot(tick=2, hall="Aula 1", changed=[("a", 100, 0, 0)]), now=10.1)
    ip.apply(PresenceSnapshot(tick=3, hall="Aula 1", changed=[("a", 200, 0, 0)]), now=10.2)
    x, _, _ = ip.positions(10.25)["a"]  # render time 10.15: halfway between ticks 2 and 3
    assert abs(x - 1.5) < 1e-6
    x, _, _ = ip.positions(10.15)["a"]  # render time 10.05: between older samples
    assert abs(x - 0.5) < 1e-6
    x, _, _ = ip.positions(20.0)["a"]
    assert x == 2.0  # holds the last known spot, never overshoots


def test_left_and_self_are_not_drawn() -> None:
    ip = Interpolator(self_id="me")
    entered, _ = ip.apply(PresenceSnapshot(tick=1, hall="Aula 1", entered=[_ent("me", 0, 0), _ent("b", 1, 1)]), now=1.0)
    assert entered == ["b"]
    _, left = ip.apply(PresenceSnapshot(tick=2, hall="Aula 1", left=["b"]), now=1.1)
    assert left == ["b"] and ip.positions(2.0) == {}


def test_name_tags_show_first_names_only() -> None:
    assert display_name("Siti Aminah Rahayu") == "Siti"
    assert display_name("3510********0001") == "3510…"
    assert display_name("   ") == "?"


def test_heading_towards_matches_panda_convention() -> None:
    assert abs(heading_towards(0, 1)) < 1e-9
    assert abs(heading_towards(1, 0) + 90) < 1e-9


def test_backoff_grows_with_jitter_and_caps() -> None:
    rng = random.Random(4)
    d = [backoff_delay(n, base=0.5, cap=8.0, rng=rng) for n in range(12)]
    assert 0.25 <= d[0] <= 0.5 and 2.0 <= d[3] <= 4.0
    assert all(4.0 <= x <= 8.0 for x in d[5:])
    assert len({round(x, 6) for x in d[5:]}) > 1  # jittered, not lock-step


def test_the_hall_speaks_from_the_catalogue() -> None:
    from world.labels import state_label

    assert t("hall.reconnecting", "id") == "Menghubungkan ulang…" and t("hall.reconnecting", "en") == "Reconnecting…"
    assert state_label("needs_revision", "en") == "Needs revision"
    assert state_label("brand_new_state", "id") == "brand_new_state"


def test_world_never_imports_server_or_assistant() -> None:
    root = Path(__file__).resolve().parents[2] / "world"
    for py in root.rglob("*.py"):
        text = py.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+(server|assistant)\b", text, re.M), py


def test_a_walker_who_stops_is_approached_never_passed() -> None:
    ip = Interpolator(delay=0.1)
    ip.apply(PresenceSnapshot(tick=1, hall="Aula 1", full=True, entered=[_ent("a", 0, 0)]), now=0.0)
    xs: list[float] = []
    for frame in range(1, 181):  # 3 s at 60 fps; samples every 0.1 s while it walks 1 m/s, until t=1.0
        now = frame / 60
        if frame % 6 == 0 and now <= 1.0 + 1e-9:
            ip.apply(
                PresenceSnapshot(tick=frame // 6 + 1, hall="Aula 1", changed=[("a", round(now * 100), 0, 0)]), now=now
            )
        xs.append(ip.positions(now)["a"][0])
    assert all(b >= a for a, b in zip(xs, xs[1:], strict=False))  # never drawn backwards
    assert max(xs) <= 1.0 and xs[-1] > 0.99  # reaches the spot it stopped on, never beyond
    # it eases into the stop: the last centimetres are drawn at a crawl, not at walking speed
    steps = [b - a for a, b in zip(xs, xs[1:], strict=False)]
    walking = 1.0 / 60
    assert max(steps) < walking * 1.15
    assert 0 < steps[next(i for i, x in enumerate(xs) if x > 0.98)] < walking / 2
