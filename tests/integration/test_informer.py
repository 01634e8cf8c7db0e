"""Informers over a lossy watch channel: whatever is dropped, duplicated or reordered, the cache converges."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from control import wire
from control.client import Client
from control.errors import ApiError
from control.faults import Faults
from control.informer import Informer
from control.plane import ControlPlane
from tests.conftest import FAST
from tests.helpers import free_port_pair, wait_for


def pod(name: str, node: str = "", **labels: str) -> dict:
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}
    if node:
        p["spec"]["nodeName"] = node
    return p


async def store_view(client: Client, kind: str, **kw: str) -> dict[tuple[str, str], str]:
    items = (await client.list(kind, **kw))["items"]
    return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in items}


def cache_view(inf: Informer) -> dict[tuple[str, str], str]:
    return {k: o["metadata"]["resourceVersion"] for k, o in inf.cache.items()}


async def churn(client: Client, n: int, rng: random.Random, node: str = "") -> None:
    names = [f"p{i}" for i in range(n)]
    for name in names:
        await client.create(pod(name, node if rng.random() < 0.5 else ""))
    for _ in range(n * 2):
        name = rng.choice(names)
        op = rng.random()
        try:
            if op < 0.6:
                await client.patch("pods", name, {"metadata": {"labels": {"v": str(rng.randint(0, 99))}}})
            elif op < 0.8:
                await client.delete("pods", name)
                await client.create(pod(name, node if rng.random() < 0.5 else ""))
            else:
                await client.delete("pods", name)
        except Exception:
            pass  # deleted already: fine, it's churn


@pytest.fixture
async def lossy(tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A control plane that drops, duplicates and delays events; parametrized (indirect) by the sockets
    every party uses: "zmtp" (control/zmtp.py and zmtp_server.py, the default) or "libzmq"."""
    use_sockets(monkeypatch, getattr(request, "param", "zmtp"))
    p = ControlPlane(
        tmp_path / "data",
        "tcp://127.0.0.1:*",
        scheduler=False,
        controllers=False,
        bookmark_interval=0.1,
        timings=FAST,
        faults=Faults(drop=0.05, duplicate=0.05, delay=0.05, seed=7),
    )
    await p.start()
    yield p
    await p.stop()


def use_sockets(monkeypatch: pytest.MonkeyPatch, sockets: str) -> None:
    """Servers and clients made from now on use these sockets: "zmtp" (ours) or "libzmq"."""
    monkeypatch.setattr("control.apiserver.server.SERVER_SOCKET", sockets)
    monkeypatch.setattr("control.client.WATCH_SOCKET", sockets)
    monkeypatch.setattr("control.client.REQUEST_SOCKET", sockets)


def uses(plane: ControlPlane, client: Client, sockets: str) -> bool:
    """The server and the client talk through the sockets asked for: ours (control/zmtp.py and
    zmtp_server.py), or libzmq's ROUTER, XPUB, DEALER and SUB."""
    assert plane.server is not None
    if sockets == "zmtp":
        return plane.server.on_loop and client._subscriber is not None and client._requests is not None
    return not plane.server.on_loop and client._sub is not None and client._dealer is not None


@pytest.mark.parametrize("lossy", ["zmtp", "libzmq"], indirect=True)
async def test_converges_under_drops_duplicates_and_reordering(lossy: ControlPlane) -> None:
    sockets = "zmtp" if lossy.server is not None and lossy.server.on_loop else "libzmq"
    client = lossy.client("test")
    watcher = lossy.client("watcher")
    await client.connect()
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    seen: dict[str, int] = {"add": 0, "update": 0, "delete": 0}
    inf.add_handler(lambda o: seen.__setitem__("add", seen["add"] + 1),
                    lambda a, b: seen.__setitem__("update", seen["update"] + 1),
                    lambda o: seen.__setitem__("delete", seen["delete"] + 1))
    await inf.start()
    await inf.wait_synced()
    assert uses(lossy, watcher, sockets)
    await churn(client, 60, random.Random(1))
    truth = await store_view(client, "pods")
    await wait_for(lambda: cache_view(inf) == truth, timeout=15, what="the informer cache to equal the store")
    assert lossy.faults is not None and lossy.faults.dropped > 0
    assert inf.relists > 0, "drops must have been detected and healed by relisting"
    assert seen["delete"] > 0 and seen["add"] >= len(truth)
    await inf.stop()


async def test_node_topic_sees_only_its_pods_and_deletes_on_leaving(plane: ControlPlane, client: Client) -> None:
    watcher = plane.client("kubelet")
    inf = Informer(watcher, "Pod", node_name="n1", silence_timeout=1.0)
    await inf.start()
    await inf.wait_synced()
    await client.create(pod("mine", "n1"))
    await client.create(pod("theirs", "n2"))
    await client.create(pod("pending"))
    await client.bind("default", "pending", "n1")
    await wait_for(lambda: set(n for _, n in inf.cache) == {"mine", "pending"}, timeout=5)
    await client.delete("pods", "mine", grace_period=0)
    await wait_for(lambda: set(n for _, n in inf.cache) == {"pending"}, timeout=5)
    await inf.stop()


async def test_a_field_selector_caches_only_what_it_selects(plane: ControlPlane, client: Client) -> None:
    """kubectl wait's informer on one name: the list and every event are matched (the topic carries them all)."""
    await client.create(pod("a"))
    await client.create(pod("b"))
    inf = Informer(client, "Pod", field_selector="metadata.name=a")
    seen: list[tuple[str, str]] = []
    inf.add_handler(lambda o: seen.append(("add", o["metadata"]["name"])), None,
                    lambda o: seen.append(("delete", o["metadata"]["name"])))
    await inf.start()
    try:
        await inf.wait_synced()
        assert list(inf.cache) == [("default", "a")]
        await client.delete("pods", "b")
        await client.delete("pods", "a")
        await client.create(pod("a", v="2"))
        await wait_for(lambda: seen == [("add", "a"), ("delete", "a"), ("add", "a")], what="a's events only")
        assert list(inf.cache) == [("default", "a")]
    finally:
        await inf.stop()
    with pytest.raises(ApiError, match="field label not supported: spec.nope"):
        Informer(client, "Pod", field_selector="spec.nope=x")


@pytest.mark.parametrize("sockets", ["zmtp", "libzmq"])
async def test_relists_after_api_server_restart(tmp_path: Path, sockets: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_sockets(monkeypatch, sockets)
    data = tmp_path / "data"
    first = ControlPlane(data, f"tcp://127.0.0.1:{free_port_pair()}", scheduler=False, controllers=False, bookmark_interval=0.1, timings=FAST)
    await first.start()
    assert first.server is not None
    addr = first.server.address
    writer = first.client("w")
    await writer.create(pod("before"))
    watcher = Client(addr, token=first.credentials.admin, identity="watcher", timeout=1.0, retry_for=20)  # type: ignore[union-attr]
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    await inf.start()
    await inf.wait_synced()
    assert uses(first, watcher, sockets)
    await writer.close()
    await first.stop()
    # deleted and created while the watcher was not looking: the relist must notice both
    second = ControlPlane(data, addr, scheduler=False, controllers=False, bookmark_interval=0.1, timings=FAST)
    await second.start()
    try:
        w2 = second.client("w2")
        await w2.delete("pods", "before")
        await w2.create(pod("after"))
        await wait_for(lambda: set(n for _, n in inf.cache) == {"after"}, timeout=20, what="relist after restart")
        assert inf.relists >= 1
    finally:
        await inf.stop()
        await watcher.close()
        await second.stop()


async def test_many_informers_share_one_client(plane: ControlPlane, client: Client) -> None:
    watcher = plane.client("multi")
    infs = [Informer(watcher, "Pod", silence_timeout=1.0) for _ in range(3)] + [Informer(watcher, "Service", silence_timeout=1.0)]
    for i in infs:
        await i.start()
    await asyncio.gather(*(i.wait_synced() for i in infs))
    await client.create(pod("x"))
    await wait_for(lambda: all(len(i.cache) == 1 for i in infs[:3]), timeout=5)
    assert len(infs[3].cache) == 1  # the default kubernetes Service
    for i in infs:
        await i.stop()


async def test_malformed_watch_frames_are_dropped_and_counted(plane: ControlPlane, client: Client) -> None:
    watcher = plane.client("watcher")
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    await inf.start()
    await inf.wait_synced()
    assert plane.server is not None and plane.server.hub is not None
    hub = plane.server.hub
    # the subscription is live once an event arrives through it
    await client.create(pod("before-garbage"))
    await wait_for(lambda: ("default", "before-garbage") in inf.cache, timeout=5, what="the subscription to be live")
    # garbage, a wrong type, a three-frame message: a subscriber must survive all of them
    for frames in ([b"pods\x00", b"\xc1 not msgpack"], [b"pods\x00", b"\x93\x01\x02\x03"], [b"pods\x00", b"a", b"b"]):
        hub._raw_send(frames)
    await client.create(pod("after-garbage"))
    await wait_for(lambda: watcher.malformed_events == 3, timeout=5, what="three malformed frames counted")
    await wait_for(lambda: ("default", "after-garbage") in inf.cache, timeout=5, what="the informer to go on")
    await inf.stop()


async def test_a_commit_of_many_changes_reaches_every_handler_in_order(plane: ControlPlane, client: Client) -> None:
    watcher = plane.client("watcher")
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    await inf.start()
    await inf.wait_synced()
    first: list[dict] = []
    second: list[dict] = []
    watcher.subscribe(b"pods\x00", first.append)
    watcher.subscribe(b"pods\x00", second.append)
    assert plane.server is not None and plane.server.hub is not None
    hub = plane.server.hub
    published, messages = hub.published, hub.messages
    # Concurrent writes land in shared group commits: each commit's pod events travel as one batch.
    await asyncio.gather(*(client.create(pod(f"p{i}")) for i in range(60)))
    await wait_for(lambda: len(inf.cache) == 60, timeout=5, what="every pod in the informer cache")
    assert hub.published - published > hub.messages - messages, "some message carried several events"
    changes = [e for e in first if e["type"] != "BOOKMARK"]
    assert [e["seq"] for e in changes] == list(range(changes[0]["seq"], changes[0]["seq"] + 60))
    assert [e["rev"] for e in changes] == sorted(e["rev"] for e in changes)
    assert {e["object"]["metadata"]["name"] for e in changes} == {f"p{i}" for i in range(60)}
    assert second == first
    assert inf.relists == 0 and watcher.malformed_events == 0
    await inf.stop()


async def test_a_gap_inside_a_batch_makes_the_informer_relist(plane: ControlPlane, client: Client) -> None:
    watcher = plane.client("watcher")
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    await inf.start()
    await inf.wait_synced()
    seen: list[dict] = []
    inf.add_handler(None, lambda old, new: seen.append(new))
    await client.create(pod("real"))
    await wait_for(lambda: ("default", "real") in inf.cache, timeout=5, what="the subscription to be live")
    assert plane.server is not None and plane.server.hub is not None
    hub = plane.server.hub
    seq, rev = inf.seq, inf.revision
    obj = inf.cache[("default", "real")]
    changed = [dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(rev + i), labels={"v": str(i)})) for i in (1, 2)]
    # seq+1 is the next event; seq+3 after it says that seq+2 was lost on the way
    hub._raw_send([b"pods\x00", wire.batch([wire.event(seq + 1, "MODIFIED", rev + 1, changed[0], 0.0),
                                            wire.event(seq + 3, "MODIFIED", rev + 2, changed[1], 0.0)])])
    await wait_for(lambda: inf.relist_reasons.get("gap", 0) >= 1, timeout=5, what="the gap to be noticed")
    labels = [o["metadata"]["labels"] for o in seen]
    assert labels[0] == {"v": "1"} and {"v": "2"} not in labels, "the event before the gap was applied, the one after not"
    await client.create(pod("after"))
    truth = await store_view(client, "pods")
    await wait_for(lambda: cache_view(inf) == truth, timeout=5, what="the relisted cache to equal the store")
    await inf.stop()


async def test_malformed_watch_batches_are_dropped_whole_and_counted(plane: ControlPlane, client: Client) -> None:
    watcher = plane.client("watcher")
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    await inf.start()
    await inf.wait_synced()
    heard: list[dict] = []
    watcher.subscribe(b"pods\x00", heard.append)
    await client.create(pod("before-garbage"))
    await wait_for(lambda: ("default", "before-garbage") in inf.cache, timeout=5, what="the subscription to be live")
    assert plane.server is not None and plane.server.hub is not None
    hub = plane.server.hub
    good = wire.event(inf.seq + 1, "ADDED", inf.revision + 1, pod("never"), 0.0)
    for payload in (wire.batch([]), wire.batch([good, b"\x93\x01\x02\x03"]), wire.batch([good, wire.pack({"v": 1})]),
                    wire.batch([good, good])[:-5]):
        hub._raw_send([b"pods\x00", payload])
    await client.create(pod("after-garbage"))
    await wait_for(lambda: watcher.malformed_events == 4, timeout=5, what="four malformed batches counted")
    await wait_for(lambda: ("default", "after-garbage") in inf.cache, timeout=5, what="the informer to go on")
    assert not any((e.get("object") or {}).get("metadata", {}).get("name") == "never" for e in heard)
    assert inf.relists == 0, "nothing of a malformed batch was applied, so no gap"
    await inf.stop()


async def test_batched_commits_converge_under_drops_duplicates_and_reordering(lossy: ControlPlane) -> None:
    client = lossy.client("test")
    watcher = lossy.client("watcher")
    await client.connect()
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    await inf.start()
    await inf.wait_synced()
    assert lossy.server is not None and lossy.server.hub is not None and lossy.faults is not None
    hub = lossy.server.hub
    for round_ in range(4):
        await asyncio.gather(*(client.create(pod(f"r{round_}-{i}")) for i in range(40)))
        await asyncio.gather(*(client.delete("pods", f"r{round_}-{i}") for i in range(0, 40, 3)))
    truth = await store_view(client, "pods")
    await wait_for(lambda: cache_view(inf) == truth, timeout=15, what="the informer cache to equal the store")
    assert hub.published > hub.messages, "commits went out as batches"
    assert lossy.faults.dropped and lossy.faults.duplicated and lossy.faults.delayed
    assert inf.relists > 0
    await inf.stop()
    await client.close()


async def test_a_new_subscription_gets_a_bookmark_and_the_informer_lists_only_after_it(tmp_path: Path) -> None:
    """Subscribe, then list: the list waits until the subscription is live, so writes racing the start are not missed."""
    # Bookmarks every 30 s: anything heard within a second is the answer to the subscription itself.
    p = ControlPlane(tmp_path / "data", "tcp://127.0.0.1:*", scheduler=False, controllers=False,
                     bookmark_interval=30, timings=FAST)
    await p.start()
    writer, probe, watcher = p.client("writer"), p.client("probe"), p.client("watcher")
    inf = Informer(watcher, "Pod", silence_timeout=60)
    try:
        await writer.connect()
        await probe.connect()
        heard: list[dict] = []
        probe.subscribe(b"pods\x00", heard.append)
        await wait_for(lambda: heard, timeout=1.0, what="a bookmark answering the new subscription")
        assert heard[0]["type"] == "BOOKMARK" and probe.topic_live(b"pods\x00")

        async def write_while_starting() -> None:
            for i in range(40):
                await writer.create(pod(f"racing-{i}"))

        racing = asyncio.create_task(write_while_starting())
        await inf.start()
        await inf.wait_synced(1.5)  # well before the informer would give up waiting (2 s) and list anyway
        await racing
        await wait_for(lambda: len(inf.cache) == 40, timeout=5, what="all 40 pods in the cache")
        assert inf.relists == 0, f"nothing was missed between subscribe and list ({inf.relist_reasons})"
    finally:
        await inf.stop()
        for c in (writer, probe, watcher):
            await c.close()
        await p.stop()
