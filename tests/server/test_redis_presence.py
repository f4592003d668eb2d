"""The Redis bridge's presence messages, without Redis: what one node publishes, another node mirrors."""

from __future__ import annotations

import json
from typing import Any

from server.realtime.hub import Hub
from server.realtime.presence_service import PresenceService
from server.realtime.redis_bridge import RedisBridge
from server.settings import Settings


def _node(name: str, published: list[tuple[str, str]]) -> tuple[RedisBridge, PresenceService]:
    settings = Settings(redis_url="redis://unused", node_id=name, redis_prefix="t:", load_assistant=False)
    hub = Hub()
    service = PresenceService(hub)
    bridge = RedisBridge(settings, hub, service)
    bridge._publish = lambda channel, payload: published.append(  # type: ignore[method-assign]
        (channel, name + "|" + json.dumps(payload))
    )
    return bridge, service


def _deliver(bridge: RedisBridge, published: list[tuple[str, str]]) -> None:
    for channel, data in published:
        bridge._dispatch({"channel": "t:" + channel, "data": data})


def test_a_nodes_visitors_reach_the_other_node_as_rows() -> None:
    out: list[tuple[str, str]] = []
    a_bridge, a = _node("a", out)
    b_bridge, b = _node("b", [])
    a.join("v1", "Siti", 1.234, -2.0, 90.0)
    a.join("v2", "Budi", 3.0, 4.0, 180.0)
    a_bridge.publish_presence(a.engine.local_states())
    assert [c for c, _ in out] == ["presence:Aula_1"]
    assert json.loads(out[0][1].split("|", 1)[1])["rows"][0][:5] == ["v1", "Siti", 1.23, -2.0, 90.0]
    _deliver(b_bridge, out)
    mirrored = {e.id: e for e in b.engine._ents.values()}
    assert {k: (e.name, e.x, e.y, e.node, e.hall) for k, e in mirrored.items()} == {
        "v1": ("Siti", 1.23, -2.0, "a", "Aula 1"),
        "v2": ("Budi", 3.0, 4.0, "a", "Aula 1"),
    }
    _deliver(a_bridge, out)  # a node ignores its own messages
    assert all(e.node is None for e in a.engine._ents.values())


def test_bad_rows_are_skipped_and_the_older_object_form_still_read() -> None:
    b_bridge, b = _node("b", [])
    rows: list[Any] = [
        ["ok", "Ok", 1.0, 1.0, 0.0, 0.0],
        ["short", "S", 1.0],
        [7, "NumericId", 1.0, 1.0, 0.0, 0.0],
        ["nan", "N", float("nan"), 1.0, 0.0, 0.0],
        ["text", "T", "far", 1.0, 0.0, 0.0],
        "not a row",
    ]
    old = {"states": [{"id": "old", "name": "Old", "x": 2.0, "y": 2.0, "heading": 0.0, "ts": 0.0, "hall": "Aula 1"}]}
    _deliver(
        b_bridge,
        [
            ("presence:Aula_1", "a|" + json.dumps({"hall": "Aula 1", "rows": rows})),
            ("presence:Aula_1", "a|" + json.dumps(old)),
        ],
    )
    assert sorted(b.engine._ents) == ["ok", "old"]
