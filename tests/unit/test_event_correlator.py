"""client-go's EventCorrelator in our event recorder: aggregation of similar events, counting of
repeats, and the per source + object spam filter; and the broadcaster writing only what passes."""

from __future__ import annotations

from typing import Any

from control.controllers.events import (
    COMBINED_PREFIX,
    SPAM_BURST,
    EventBroadcaster,
    EventCorrelator,
    EventRecorder,
)

RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "prod", "uid": "u1"}}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def recorder(component: str = "replicaset-controller", host: str | None = None) -> EventRecorder:
    rec = EventRecorder.__new__(EventRecorder)
    rec.component, rec.host = component, host
    return rec


def created(rec: EventRecorder, i: int, obj: dict = RS) -> dict:
    return rec.make_event(obj, "Normal", "SuccessfulCreate", f"Created pod: web-{i:05d}")


def test_similar_events_are_combined_after_ten() -> None:
    rec, corr = recorder(), EventCorrelator(clock=Clock())
    results = [corr.correlate(created(rec, i)) for i in range(12)]
    # the first nine are events of their own
    assert all(not r.patch and not r.skip and r.event["message"] == f"Created pod: web-{i:05d}"
               for i, r in enumerate(results[:9]))
    # the tenth starts the combined event, later ones count it up with the latest message
    tenth, eleventh, twelfth = results[9:]
    assert not tenth.patch and tenth.event["message"] == COMBINED_PREFIX + "Created pod: web-00009"
    assert tenth.event["count"] == 1 and tenth.event["reason"] == "SuccessfulCreate"
    assert eleventh.patch and eleventh.event["metadata"]["name"] == tenth.event["metadata"]["name"]
    assert eleventh.event["count"] == 2 and eleventh.event["message"] == COMBINED_PREFIX + "Created pod: web-00010"
    assert twelfth.event["count"] == 3 and twelfth.event["firstTimestamp"] == tenth.event["firstTimestamp"]


def test_aggregation_is_per_reason_and_object_and_expires() -> None:
    clock = Clock()
    rec, corr = recorder(), EventCorrelator(clock=clock)
    for i in range(9):
        corr.correlate(created(rec, i))
    # another reason, another object: still events of their own
    other = corr.correlate(rec.make_event(RS, "Normal", "SuccessfulDelete", "Deleted pod: web-00001"))
    assert not other.patch and not other.event["message"].startswith(COMBINED_PREFIX)
    rs2 = {**RS, "metadata": {**RS["metadata"], "name": "api", "uid": "u2"}}
    assert not corr.correlate(created(rec, 1, rs2)).event["message"].startswith(COMBINED_PREFIX)
    # ten minutes of quiet: the similar events are counted afresh
    clock.t += 601
    assert not corr.correlate(created(rec, 9)).event["message"].startswith(COMBINED_PREFIX)


def test_exact_repeats_are_counted() -> None:
    rec, corr = recorder("kubelet", "n1"), EventCorrelator(clock=Clock())
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default", "uid": "p1"}}
    first = corr.correlate(rec.make_event(pod, "Warning", "BackOff", "Back-off restarting failed container"))
    again = corr.correlate(rec.make_event(pod, "Warning", "BackOff", "Back-off restarting failed container"))
    assert not first.patch and again.patch and again.event["count"] == 2
    assert again.event["metadata"]["name"] == first.event["metadata"]["name"]


def test_spam_filter_is_a_token_bucket_per_source_and_object() -> None:
    clock = Clock()
    rec, corr = recorder(), EventCorrelator(clock=clock)
    results = [corr.correlate(created(rec, i)) for i in range(10_000)]
    written = [r for r in results if not r.skip]
    assert len(written) == SPAM_BURST  # 9 events, the combined one, and 15 count updates of it
    assert sum(1 for r in written if not r.patch) == 10
    assert written[-1].event["count"] == SPAM_BURST - 9
    assert corr.skipped == 10_000 - SPAM_BURST
    # another source about the same object, or the same source about another object: buckets of their own
    assert not corr.correlate(recorder("deployment-controller").make_event(RS, "Normal", "ScalingReplicaSet", "x")).skip
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "prod", "uid": "p1"}}
    assert not corr.correlate(rec.make_event(pod, "Normal", "SuccessfulCreate", "x")).skip
    # one token every five minutes
    assert corr.correlate(created(rec, 10_001)).skip
    clock.t += 300
    refilled = corr.correlate(created(rec, 10_002))
    assert not refilled.skip and refilled.patch
    assert corr.correlate(created(rec, 10_003)).skip


class FakeClient:
    def __init__(self) -> None:
        self.events: dict[str, dict] = {}
        self.calls: list[str] = []

    async def create(self, obj: dict) -> dict:
        self.calls.append("create")
        self.events[obj["metadata"]["name"]] = obj
        return obj

    async def patch(self, kind: str, name: str, patch: dict, namespace: str = "default", **_: Any) -> dict:
        from control.errors import not_found

        self.calls.append("patch")
        if name not in self.events:
            raise not_found("events", name)
        self.events[name].update(patch)
        return self.events[name]


async def test_broadcaster_writes_what_passes_the_correlator() -> None:
    client = FakeClient()
    broadcaster = EventBroadcaster(client)  # type: ignore[arg-type]
    rec = broadcaster.new_recorder("replicaset-controller")
    for i in range(2_000):  # more than the queue holds: what the spam filter drops never queues
        rec.event(RS, "Normal", "SuccessfulCreate", f"Created pod: web-{i:05d}")
    await broadcaster.flush()
    assert broadcaster.dropped == 0
    assert client.calls.count("create") == 10 and client.calls.count("patch") == SPAM_BURST - 10
    combined = [e for e in client.events.values() if e["message"].startswith(COMBINED_PREFIX)]
    assert len(combined) == 1 and combined[0]["count"] == SPAM_BURST - 9
    await broadcaster.close()


async def test_a_count_update_of_a_vanished_event_creates_it_again() -> None:
    client = FakeClient()
    broadcaster = EventBroadcaster(client)  # type: ignore[arg-type]
    rec = broadcaster.new_recorder("kubelet", host="n1")
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    rec.event(node, "Normal", "NodeReady", "Node n1 status is now: NodeReady")
    await broadcaster.flush()
    client.events.clear()  # the event TTL took it
    rec.event(node, "Normal", "NodeReady", "Node n1 status is now: NodeReady")
    await broadcaster.flush()
    assert client.calls == ["create", "patch", "create"]
    assert [e["count"] for e in client.events.values()] == [2]
    await broadcaster.close()
