"""The Redis bridge's presence messages, without Redis: what one node publishes, another node mirrors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
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


def test_a_node_publishes_and_lets_the_bridge_write_before_its_interest_query() -> None:
    """The other nodes need this node's visitors before their (aligned) tick; the query takes ~4-8 ms."""
    events: list[str] = []

    class Bridge:
        def publish_presence(self, states: list[Any]) -> None:
            events.append("publish")
            asyncio.get_running_loop().call_soon(events.append, "written")  # the bridge's flush task

    async def run() -> None:
        service = PresenceService(Hub(), hz=20.0, publish_lead=0.02)
        service.bridge = Bridge()
        prepare = service.engine.prepare

        def prepared() -> None:
            events.append("prepare")
            prepare()

        service.engine.prepare = prepared  # type: ignore[method-assign]
        service.start()
        await asyncio.sleep(0.15)
        await service.stop()

    asyncio.run(run())
    first = events.index("publish")
    assert events[first : first + 3] == ["publish", "written", "prepare"]


def test_the_served_publish_lead_is_the_configured_one(tmp_path: Path) -> None:
    from server.app import create_app

    settings = Settings(data_dir=tmp_path, load_assistant=False, presence_publish_lead_ms=33.0)
    assert create_app(settings).state.presence.publish_lead == 0.033


def test_a_malformed_message_is_dropped_and_the_listener_keeps_delivering() -> None:
    """A node's message with the right JSON but the wrong fields (a bug, an older release) used to
    raise out of the listener task, and the node then lost every later message of every channel."""
    b_bridge, b = _node("b", [])
    bad = [
        ("t:broadcast", {"kind": "x"}),  # no frame
        ("t:session", {"frame": {"type": "x"}}),  # no sid
        ("t:wake", {"cids": 5}),  # not a list
        ("t:presence:Aula_1", {"states": [1, 2]}),  # the older form, rows of the wrong shape
    ]
    for channel, payload in bad:
        b_bridge._dispatch({"channel": channel, "data": "a|" + json.dumps(payload)})
    assert b_bridge.dropped >= 3 and b_bridge.received == len(bad)
    out: list[tuple[str, str]] = []
    a_bridge, a = _node("a", out)
    a.join("v1", "Siti", 1.0, 2.0, 0.0)
    a_bridge.publish_presence(a.engine.local_states())
    _deliver(b_bridge, out)
    assert {e.id for e in b.engine._ents.values()} == {"v1"}
