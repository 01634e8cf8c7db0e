"""PersistentVolumes end to end: a StatefulSet's claims are made, provisioned on the node its pod was scheduled
to and bound; after a control-plane restart the pod goes back to its volume's node; deleting the set keeps the
claims; a claim in use stays until its pod is gone."""

from __future__ import annotations

from pathlib import Path

from control.client import Client
from control.errors import ApiError
from tests.conftest import running_plane
from tests.helpers import gone, wait_for
from tests.integration.test_controllers import kubelet, node
from tests.integration.test_statefulset import statefulset


def with_claims(replicas: int) -> dict:
    sts = statefulset(replicas=replicas)
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    return sts


async def bound(client: Client, *names: str) -> dict[str, dict] | None:
    claims = {c["metadata"]["name"]: c for c in (await client.list("PersistentVolumeClaim", "default"))["items"]}
    if all((claims.get(n) or {}).get("status", {}).get("phase") == "Bound" for n in names):
        return claims
    return None


async def running(client: Client, name: str) -> dict | None:
    try:
        pod = await client.get("Pod", name)
    except ApiError:
        return None
    return pod if (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get(
        "deletionTimestamp") else None


async def _replaced(client: Client, name: str, old_uid: str) -> dict | None:
    pod = await running(client, name)
    return pod if pod is not None and pod["metadata"]["uid"] != old_uid else None


async def test_a_statefulsets_claims_are_provisioned_bound_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with running_plane(data, scheduler=True, controllers=True) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            async with kubelet(client, {"n1", "n2"}):
                for n in ("n1", "n2"):
                    await node(client, n)
                await client.create(with_claims(2))
                claims = await wait_for(lambda: bound(client, "www-web-0", "www-web-1"), timeout=30,
                                        what="www-web-0 and www-web-1 Bound")
                for i in (0, 1):
                    claim = claims[f"www-web-{i}"]
                    assert claim["spec"]["storageClassName"] == "standard"  # DefaultStorageClass
                    assert claim["metadata"]["labels"] == {"app": "web"}
                    pv = await client.get("PersistentVolume", claim["spec"]["volumeName"], None)
                    pod = await wait_for(lambda i=i: running(client, f"web-{i}"), timeout=30, what=f"web-{i} Running")
                    node_name = pod["spec"]["nodeName"]
                    assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node_name
                    assert pv["status"]["phase"] == "Bound" and pv["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
                    assert pv["spec"]["hostPath"]["path"].endswith(
                        f"/pvc-{claim['metadata']['uid']}_default_www-web-{i}")
                    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0][
                        "values"] == [node_name]
                    assert {"name": "www", "persistentVolumeClaim": {"claimName": f"www-web-{i}"}} in \
                        pod["spec"]["volumes"]
                home = (await client.get("Pod", "web-0"))["spec"]["nodeName"]
        finally:
            await client.close()

    async with running_plane(data, scheduler=True, controllers=True) as plane:  # the same cluster, restarted
        client = plane.client("test")
        await client.connect()
        try:
            async with kubelet(client, {"n1", "n2"}):
                # the two nodes are alike: only the volume's node affinity (VolumeBinding) brings web-0 home, each time
                for _ in range(3):
                    old = (await client.get("Pod", "web-0"))["metadata"]["uid"]
                    await client.delete("Pod", "web-0", grace_period=0)
                    pod = await wait_for(lambda old=old: _replaced(client, "web-0", old), timeout=30,
                                         what="a new web-0 Running")
                    assert pod["spec"]["nodeName"] == home

                # a claim in use is not removed until its pod is
                await client.delete("PersistentVolumeClaim", "www-web-1")
                claim = await client.get("PersistentVolumeClaim", "www-web-1")
                assert claim["metadata"]["deletionTimestamp"]
                assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]

                # deleting the set keeps the claims (whenDeleted: Retain)...
                await client.delete("StatefulSet", "web")
                await wait_for(lambda: gone(client, "Pod", "web-1"), timeout=30, what="the set's pods gone")
                # ...but www-web-1, deleted while web-1 used it, goes once web-1 has, and its volume with it
                pv_name = claim["spec"]["volumeName"]
                await wait_for(lambda: gone(client, "PersistentVolumeClaim", "www-web-1"), timeout=30,
                               what="www-web-1 gone")
                await wait_for(lambda: gone(client, "PersistentVolume", pv_name, None), timeout=30,
                               what="its volume deleted (reclaimPolicy Delete)")
                kept = await client.get("PersistentVolumeClaim", "www-web-0")
                assert kept["status"]["phase"] == "Bound" and not kept["metadata"].get("deletionTimestamp")
        finally:
            await client.close()


async def test_a_claims_data_outlives_its_pod_on_a_real_node(tmp_path: Path) -> None:
    """The volume a StatefulSet's claim gets is a directory the kubelet mounts into the container: what the pod
    writes there is what its replacement reads, and nothing of it is on the host's own /data."""
    from nodes.node import Node
    from nodes.nodestatus import NodeConfig
    from tests.integration.test_kubelet import node_options
    from tests.integration.test_volumes import logs_of

    async with running_plane(tmp_path / "data", scheduler=True, controllers=True) as plane:
        n = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20), node_options(plane, tmp_path / "node-1"),
                 say=lambda s: None)
        await n.start()
        client = plane.client("test")
        await client.connect()
        try:
            sts = with_claims(1)
            c = sts["spec"]["template"]["spec"]["containers"][0]
            c.update(image="busybox", command=["sh", "-c", "echo boot $HOSTNAME >> /data/log; cat /data/log; exec sleep 300"],
                     volumeMounts=[{"name": "www", "mountPath": "/data"}])
            c.pop("args", None)
            sts["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1
            await client.create(sts)
            first = await wait_for(lambda: running(client, "web-0"), timeout=40, what="web-0 Running")

            async def said(text: str) -> str | None:
                out = await logs_of(client, "web-0")
                return out if text in out else None
            await wait_for(lambda: said("boot web-0"), timeout=20, what="web-0 wrote to its volume")
            await client.delete("Pod", "web-0")
            await wait_for(lambda: _replaced(client, "web-0", first["metadata"]["uid"]), timeout=40,
                           what="a new web-0 Running")
            out = await wait_for(lambda: said("boot web-0\nboot web-0\n"), timeout=20,
                                 what="the new web-0 read the first one's line")
            assert out == "boot web-0\nboot web-0\n"
            claim = await client.get("PersistentVolumeClaim", "www-web-0")
            pv = await client.get("PersistentVolume", claim["spec"]["volumeName"], None)
            path = Path(pv["spec"]["hostPath"]["path"])
            assert path.is_relative_to(tmp_path / "node-1") and (path / "log").read_text() == out
            assert not Path("/data/log").exists()
            await client.delete("StatefulSet", "web")
            await wait_for(lambda: gone(client, "Pod", "web-0"), timeout=30, what="web-0 gone")
        finally:
            await client.close()
            await n.stop()
