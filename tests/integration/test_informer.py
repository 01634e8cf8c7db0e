"""Informers over a lossy watch channel: whatever is dropped, duplicated or reordered, the cache converges."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from control.client import Client
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
async def lossy(tmp_path: Path):
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


async def test_converges_under_drops_duplicates_and_reordering(lossy: ControlPlane) -> None:
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


async def test_relists_after_api_server_restart(tmp_path: Path) -> None:
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
