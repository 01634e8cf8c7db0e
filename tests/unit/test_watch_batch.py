"""Watch batches: what one commit changes on a topic travels as one message, in order; faults act per event."""

from __future__ import annotations

from collections.abc import Iterator

import msgpack
import pytest
import zmq

from control import wire
from control.apiserver.sockets import ZmqXPub
from control.apiserver.watch import RAW_TOPIC, WatchHub
from control.faults import Faults
from control.store import Event, KeyValue

POD_TOPIC = b"pods\x00"


def ev_bytes(seq: int, name: str = "p", type_: str = "MODIFIED") -> bytes:
    return wire.event(seq, type_, seq + 10, {"metadata": {"name": name}}, 1.0)


def put(name: str, rev: int, node: str = "") -> Event:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": {"nodeName": node}}
    kv = KeyValue(f"/registry/pods/default/{name}", msgpack.packb(pod), rev, rev, 1)
    return Event("PUT", kv, None)


# -- the wire format -------------------------------------------------------------------------------------
def test_one_event_stays_a_plain_event_and_several_become_one_batch() -> None:
    assert wire.watch_messages([ev_bytes(1)]) == [(ev_bytes(1), 1)]
    [(message, count)] = wire.watch_messages([ev_bytes(i, f"p{i}") for i in range(1, 6)])
    assert count == 5
    events = wire.parse_events(message)
    assert [(e["seq"], e["object"]["metadata"]["name"]) for e in events] == [(i, f"p{i}") for i in range(1, 6)]
    assert wire.parse_events(ev_bytes(7)) == [msgpack.unpackb(ev_bytes(7))]  # a plain event is a list of one


def test_batches_are_split_by_event_count_and_by_size() -> None:
    counts = [c for _, c in wire.watch_messages([ev_bytes(i) for i in range(600)])]
    assert counts == [wire.BATCH_EVENTS, wire.BATCH_EVENTS, 600 - 2 * wire.BATCH_EVENTS]
    big = [wire.event(i, "MODIFIED", i, {"data": "x" * 300_000}, 1.0) for i in range(1, 8)]
    messages = wire.watch_messages(big)
    assert [c for _, c in messages] == [3, 3, 1]  # a fourth would pass BATCH_BYTES; the last goes alone
    assert all(len(m) <= wire.BATCH_BYTES for m, _ in messages)
    assert [e["seq"] for m, _ in messages for e in wire.parse_events(m)] == list(range(1, 8))
    huge = wire.event(9, "MODIFIED", 9, {"data": "x" * (2 * wire.BATCH_BYTES)}, 1.0)
    assert [c for _, c in wire.watch_messages([ev_bytes(8), huge, ev_bytes(10)])] == [1, 1, 1]


def test_a_batch_of_sixteen_or_more_events_has_a_longer_header() -> None:
    for n in (15, 16, 17, 255, 256):
        events = wire.parse_events(wire.batch([ev_bytes(i) for i in range(n)]))
        assert [e["seq"] for e in events] == list(range(n))


@pytest.mark.parametrize("payload", [
    wire.batch([]),  # no events
    wire.batch([ev_bytes(1), b"\x93\x01\x02\x03"]),  # an event that is not a map
    wire.batch([ev_bytes(1), wire.pack({"v": 1, "seq": 2, "type": "EXPLODED", "rev": 2, "object": {}})]),
    wire.batch([ev_bytes(1), wire.pack({"v": 1, "seq": "2", "type": "ADDED", "rev": 2, "object": {}})]),
    wire.batch([ev_bytes(1), wire.pack({"v": 1, "seq": 2, "type": "ADDED", "rev": 2, "object": None})]),
    wire.batch([ev_bytes(1), wire.pack({"v": 2, "seq": 2, "type": "ADDED", "rev": 2, "object": {}})]),
    wire.batch([ev_bytes(1), wire.batch([ev_bytes(2), ev_bytes(3)])]),  # batches do not nest
    wire.batch([ev_bytes(1), ev_bytes(2)])[:-3],  # cut short
])
def test_a_malformed_batch_is_refused_whole(payload: bytes) -> None:
    with pytest.raises(wire.FrameError):
        wire.parse_events(payload)


def test_a_bookmark_may_travel_in_a_batch() -> None:
    bookmark = wire.event(3, "BOOKMARK", 30, None, 1.0)
    assert [e["type"] for e in wire.parse_events(wire.batch([ev_bytes(2), bookmark]))] == ["MODIFIED", "BOOKMARK"]


# -- the hub ------------------------------------------------------------------------------------------------
@pytest.fixture
def pubsub() -> Iterator[tuple[zmq.Socket, zmq.Socket]]:
    ctx = zmq.Context()
    xpub = ctx.socket(zmq.XPUB)
    xpub.setsockopt(zmq.LINGER, 0)
    xpub.bind("inproc://watch-batch")
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect("inproc://watch-batch")
    try:
        yield xpub, sub
    finally:
        sub.close()
        xpub.close()
        ctx.term()


def subscribed_hub(xpub: zmq.Socket, sub: zmq.Socket, topic: bytes, faults: Faults | None = None) -> WatchHub:
    out = ZmqXPub(xpub, manual=False)  # type: ignore[arg-type]  # a plain socket: these tests need no event loop
    hub = WatchHub(out, faults=faults)
    out.on_subscription = hub.subscription
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    for _ in range(200):
        out.refresh()
        if topic in hub.subscribers:
            return hub
        xpub.poll(10)
    raise AssertionError(f"the subscription to {topic!r} never reached the hub")


def received(sub: zmq.Socket) -> list[list[bytes]]:
    out = []
    while sub.poll(100):
        out.append(sub.recv_multipart())
    return out


def test_a_commit_is_one_message_per_topic_with_its_events_in_order(pubsub: tuple[zmq.Socket, zmq.Socket]) -> None:
    xpub, sub = pubsub
    hub = subscribed_hub(xpub, sub, POD_TOPIC)
    sub.setsockopt(zmq.SUBSCRIBE, b"pods/spec.nodeName=n1\x00")
    hub.on_commit([put(f"p{i}", 10 + i, node="n1" if i % 2 else "") for i in range(6)])
    messages = received(sub)
    assert [m[0] for m in messages] == [POD_TOPIC, b"pods/spec.nodeName=n1\x00"]
    pods = wire.parse_events(messages[0][1])
    assert [(e["seq"], e["rev"], e["type"], e["object"]["metadata"]["name"]) for e in pods] == [
        (i + 1, 10 + i, "ADDED", f"p{i}") for i in range(6)
    ]
    assert [(e["seq"], e["object"]["metadata"]["name"]) for e in wire.parse_events(messages[1][1])] == [(1, "p1"), (2, "p3"), (3, "p5")]
    assert hub.published == 9 and hub.messages == 2
    # a commit of one change: one plain event, as before batches existed
    hub.on_commit([put("p9", 20)])
    [[topic, payload]] = received(sub)
    assert topic == POD_TOPIC and isinstance(msgpack.unpackb(payload), dict)
    assert [e["seq"] for e in wire.parse_events(payload)] == [7]


def test_faults_drop_duplicate_and_reorder_single_events_inside_batches(pubsub: tuple[zmq.Socket, zmq.Socket]) -> None:
    xpub, sub = pubsub
    faults = Faults(drop=0.15, duplicate=0.15, delay=0.15, seed=3)
    hub = subscribed_hub(xpub, sub, POD_TOPIC, faults)
    sub.setsockopt(zmq.SUBSCRIBE, RAW_TOPIC)  # with faults on, every change goes to the raw topic too
    for c in range(10):
        hub.on_commit([put(f"c{c}-{i}", 100 * c + i) for i in range(8)])
    hub._flush_delayed(force=True)
    messages = received(sub)
    missing = repeated = 0
    for topic in (POD_TOPIC, RAW_TOPIC):
        seqs = [e["seq"] for m in messages if m[0] == topic for e in wire.parse_events(m[1])]
        missing += len(set(range(1, 81)) - set(seqs))
        repeated += len(seqs) - len(set(seqs))
        assert any(b < a for a, b in zip(seqs, seqs[1:], strict=False)), f"{topic!r}: delayed events arrive out of order"
    assert faults.dropped and faults.duplicated and faults.delayed
    assert (missing, repeated) == (faults.dropped, faults.duplicated)
    assert any(len(wire.parse_events(m[1])) > 1 for m in messages), "the commits still went out as batches"
    assert hub.published == 2 * 80 - faults.dropped + faults.duplicated
