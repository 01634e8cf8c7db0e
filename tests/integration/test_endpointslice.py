"""The EndpointSlice and EndpointSliceMirroring controllers against a real API server: slices made for a
selector Service, following pod readiness, split at the per-slice limit, deleted with the Service; the
Endpoints of a selector-less Service mirrored; the `kubernetes` Service's slice from the API server."""

from __future__ import annotations

import pytest

from control.api.endpointslice import MANAGED_BY_LABEL, SERVICE_NAME_LABEL
from control.client import Client
from control.plane import ControlPlane
from tests.helpers import wait_for
from tests.integration.test_controllers import kubelet, manager, replicaset

pytestmark = pytest.mark.timeout(90)


async def slices_of(client: Client, service: str) -> list[dict]:
    return (await client.list("EndpointSlice", "default", label_selector=f"{SERVICE_NAME_LABEL}={service}"))["items"]


def conditions(slices: list[dict]) -> list[tuple[bool, bool, bool]]:
    return sorted((c.get("ready"), c.get("serving"), c.get("terminating"))
                  for s in slices for c in (e["conditions"] for e in s.get("endpoints") or []))


async def test_slices_follow_the_pods_and_go_with_the_service(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset", "endpointslice", "garbagecollector"]), kubelet(client) as k:
        svc = await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"tier": "front"}},
                                   "spec": {"selector": {"app": "eps"},
                                            "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}})
        # no pods yet: one placeholder slice, without ports or endpoints
        placeholder = (await wait_for(lambda: _slices(client, "web", 1), what="the placeholder slice"))[0]
        assert placeholder.get("endpoints") is None and not placeholder.get("ports")
        await client.create(replicaset("eps", 2, {"app": "eps"}))
        slices = await wait_for(lambda: _slices(client, "web", 1, endpoints=2, ready=2), what="2 ready endpoints")
        s = slices[0]
        md = s["metadata"]
        assert md["name"].startswith("web-") and len(md["name"]) == len("web-") + 5 and md["generateName"] == "web-"
        assert md["labels"] == {"tier": "front", SERVICE_NAME_LABEL: "web", MANAGED_BY_LABEL: "endpointslice-controller.k8s.io"}
        assert md["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": svc["metadata"]["uid"],
                                          "controller": True, "blockOwnerDeletion": True}]
        assert s["addressType"] == "IPv4" and s["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}]
        ep = s["endpoints"][0]
        assert ep["targetRef"]["kind"] == "Pod" and ep["addresses"][0].startswith("127.")
        assert conditions(slices) == [(True, True, False)] * 2
        # one pod not ready: its endpoint stays in the same slice, ready and serving false
        k.ready[ep["targetRef"]["name"]] = False
        slices = await wait_for(lambda: _slices(client, "web", 1, endpoints=2, ready=1), what="one endpoint not ready")
        assert slices[0]["metadata"]["name"] == md["name"]
        assert conditions(slices) == [(False, False, False), (True, True, False)]
        k.ready[ep["targetRef"]["name"]] = True
        await wait_for(lambda: _slices(client, "web", 1, endpoints=2, ready=2), what="ready again")
        # the garbage collector deletes them with their owner
        await client.delete("Service", "web")
        await wait_for(lambda: _slices(client, "web", 0), what="the slices deleted with the Service")


async def test_more_than_100_endpoints_are_split(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset", "endpointslice"]), kubelet(client):
        await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "big"},
                             "spec": {"selector": {"app": "big"}, "ports": [{"port": 80}]}})
        await client.create(replicaset("big", 130, {"app": "big"}))
        slices = await wait_for(lambda: _slices(client, "big", 2, endpoints=130, ready=130), 60, what="130 endpoints in 2 slices")
        assert sorted(len(s["endpoints"]) for s in slices) == [30, 100]
        addresses = [e["addresses"][0] for s in slices for e in s["endpoints"]]
        assert len(set(addresses)) == 130


async def test_endpoints_without_a_selector_are_mirrored(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["endpointslicemirroring"]):
        await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
                             "spec": {"ports": [{"name": "db", "port": 5432}]}})
        await client.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext", "labels": {"a": "b"}},
                             "subsets": [{"addresses": [{"ip": "10.1.0.2"}], "notReadyAddresses": [{"ip": "10.1.0.3"}],
                                          "ports": [{"name": "db", "port": 5432}]}]})
        slices = await wait_for(lambda: _slices(client, "ext", 1, endpoints=2, ready=1), what="the mirrored slice")
        s = slices[0]
        assert s["metadata"]["labels"] == {"a": "b", SERVICE_NAME_LABEL: "ext",
                                           MANAGED_BY_LABEL: "endpointslicemirroring-controller.k8s.io"}
        assert s["ports"] == [{"name": "db", "port": 5432, "protocol": "TCP"}]
        assert sorted((e["addresses"][0], e["conditions"]["ready"]) for e in s["endpoints"]) == [
            ("10.1.0.2", True), ("10.1.0.3", False)]
        await client.delete("Endpoints", "ext")
        await wait_for(lambda: _slices(client, "ext", 0), what="the mirrored slice deleted")
        # the kubernetes Service's Endpoints say skip-mirror: its one slice is the API server's own
        assert [s["metadata"]["name"] for s in await slices_of(client, "kubernetes")] in ([], ["kubernetes"])


async def _slices(client: Client, service: str, count: int, *, endpoints: int | None = None,
                  ready: int | None = None) -> list[dict] | None:
    slices = await slices_of(client, service)
    eps = [e for s in slices for e in s.get("endpoints") or []]
    if len(slices) != count or (endpoints is not None and len(eps) != endpoints):
        return None
    if ready is not None and sum(1 for e in eps if e["conditions"].get("ready")) != ready:
        return None
    return slices if count else [{}]  # (wait_for waits for something truthy)
