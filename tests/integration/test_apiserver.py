"""The API server over real sockets: verbs, Kubernetes errors, and bad input that must not hurt it."""

from __future__ import annotations

import copy
import ipaddress
import json
import os

import msgpack
import pytest
import zmq
import zmq.asyncio

from control import wire
from control.api.meta import LAST_APPLIED_ANNOTATION as LAST_APPLIED
from control.apiserver.ranges import ClusterNetwork
from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def pod(name: str, **labels: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }


async def raw_request(plane: ControlPlane, frames: list[bytes]) -> dict:
    """Send arbitrary frames on a bare DEALER and read the one answer."""
    assert plane.server is not None
    ctx = zmq.asyncio.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(plane.server.address)
    try:
        await sock.send_multipart(frames)
        assert await sock.poll(5000), "the server did not answer"
        return msgpack.unpackb(await sock.recv(), raw=False)
    finally:
        sock.close()


async def store_revision_unchanged(plane: ControlPlane, before: int) -> None:
    assert plane.store is not None
    assert plane.store.revision == before


async def test_create_get_list_update_delete(client: Client) -> None:
    created = await client.create(POD)
    md = created["metadata"]
    assert md["namespace"] == "default" and md["uid"] and md["creationTimestamp"]
    assert created["status"]["phase"] == "Pending"
    got = await client.get("pods", "web")
    assert got["metadata"]["resourceVersion"] == md["resourceVersion"]
    got["metadata"]["labels"] = {"tier": "front"}
    updated = await client.update(got)
    assert int(updated["metadata"]["resourceVersion"]) > int(md["resourceVersion"])
    listed = await client.list("po", "default", label_selector="tier=front")
    assert [p["metadata"]["name"] for p in listed["items"]] == ["web"]
    assert listed["kind"] == "PodList"
    await client.delete("pod", "web")
    with pytest.raises(ApiError) as e:
        await client.get("pods", "web")
    assert e.value.code == 404 and e.value.message == 'pods "web" not found'


async def test_default_tolerations_carry_the_clusters_eviction_timing(client: Client) -> None:
    # the plane runs with timings whose eviction_timeout is 1 s: the pod's spec says so (describe pod's
    # "for 1s"), rather than Kubernetes' 300 s that a demo cluster would not honour
    created = await client.create(POD)
    tolerations = {t["key"]: t.get("tolerationSeconds") for t in created["spec"]["tolerations"]}
    assert tolerations == {"node.kubernetes.io/not-ready": 1, "node.kubernetes.io/unreachable": 1}
    explicit = pod("explicit")
    explicit["spec"]["tolerations"] = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                        "effect": "NoExecute", "tolerationSeconds": 300}]
    created = await client.create(explicit)
    tolerations = {t["key"]: t.get("tolerationSeconds") for t in created["spec"]["tolerations"]}
    assert tolerations == {"node.kubernetes.io/unreachable": 300, "node.kubernetes.io/not-ready": 1}


async def test_stale_resource_version_is_409_conflict(client: Client) -> None:
    first = await client.create(pod("a"))
    second = dict(first, metadata=dict(first["metadata"], labels={"x": "1"}))
    await client.update(second)
    stale = dict(first, metadata=dict(first["metadata"], labels={"x": "2"}))
    with pytest.raises(ApiError) as e:
        await client.update(stale)
    assert e.value.code == 409 and e.value.reason == "Conflict"
    assert 'Operation cannot be fulfilled on pods "a": the object has been modified' in e.value.message
    assert (await client.get("pods", "a"))["metadata"]["labels"] == {"x": "1"}


async def test_already_exists_and_not_found_namespace(client: Client) -> None:
    await client.create(pod("dup"))
    with pytest.raises(ApiError) as e:
        await client.create(pod("dup"))
    assert (e.value.code, e.value.reason, e.value.message) == (409, "AlreadyExists", 'pods "dup" already exists')
    p = pod("elsewhere")
    p["metadata"]["namespace"] = "mem-example"
    with pytest.raises(ApiError) as e:
        await client.create(p)
    assert (e.value.code, e.value.message) == (404, 'namespaces "mem-example" not found')


async def test_no_new_content_in_a_terminating_namespace(plane: ControlPlane, client: Client) -> None:
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    first = pod("a")
    first["metadata"]["namespace"] = "doomed"
    await client.create(first)  # the server has now seen the namespace Active
    await client.delete("namespace", "doomed")  # it has content: Terminating until that is gone
    second = pod("b")
    second["metadata"]["namespace"] = "doomed"
    with pytest.raises(ApiError) as e:
        await client.create(second)
    assert (e.value.code, e.value.message) == (
        403, "pods is forbidden: unable to create new content in namespace doomed because it is being terminated")
    # Gone and made again: the new namespace takes content.
    await client.delete("pod", "a", namespace="doomed")
    assert plane.store is not None and plane.store.get("/registry/namespaces/doomed") is not None
    await client.delete("namespace", "doomed")
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    assert (await client.create(second))["metadata"]["namespace"] == "doomed"


async def test_requests_leave_no_tasks_behind(plane: ControlPlane, client: Client) -> None:
    for i in range(20):
        await client.create(pod(f"p{i}"))
    with pytest.raises(ApiError):
        await client.create(pod("p0"))
    assert plane.server is not None and not plane.server._tasks


async def test_invalid_object_lists_every_bad_field(plane: ControlPlane, client: Client) -> None:
    assert plane.store is not None
    before = plane.store.revision
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "Bad_Name"},
        "spec": {
            "replicas": -1,
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "lots"}}}]}},
        },
    }
    with pytest.raises(ApiError) as e:
        await client.create(bad)
    err = e.value
    assert err.code == 422 and err.reason == "Invalid"
    fields = {c["field"] for c in err.details["causes"]}
    assert {"metadata.name", "spec.replicas", "spec.template.spec.containers[0].image"} <= fields
    assert any(f.startswith("spec.template.spec.containers[0].resources.requests") for f in fields)
    assert 'Deployment.apps "Bad_Name" is invalid' in err.message
    await store_revision_unchanged(plane, before)


async def test_unknown_kind_lists_supported_kinds(client: Client) -> None:
    with pytest.raises(ApiError) as e:
        await client.create({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "x"}})
    assert e.value.code == 400
    assert "NetworkPolicy" in e.value.message and "CronJob" in e.value.message and "StatefulSet" in e.value.message and "ConfigMap" in e.value.message and "Deployment" in e.value.message and "Pod" in e.value.message
    with pytest.raises(ApiError) as e:
        await client.list("widgets")
    assert 'the server doesn\'t have a resource type "widgets"' in e.value.message


async def test_unenforced_fields_warn_but_are_kept(client: Client) -> None:
    p = pod("vol")
    p["spec"]["volumes"] = [{"name": "data", "hostPath": {"path": "/tmp"}}, {"name": "share", "nfs": {"server": "s", "path": "/"}}]
    out = await client.create(p)
    assert out["spec"]["volumes"][1]["nfs"] == {"server": "s", "path": "/"}
    assert [w for w in client.last_warnings if "volumes" in w] == [  # hostPath is mounted; nfs is not
        "spec.volumes: stored but not enforced by kube-tui (volume types nfs are not mounted: kube-tui nodes mount "
        "emptyDir, configMap, secret, downwardAPI, projected, hostPath, persistentVolumeClaim)"]


async def test_merge_patch_status_subresource_and_binding(client: Client) -> None:
    await client.create(pod("p"))
    out = await client.patch("pods", "p", {"metadata": {"labels": {"a": "b"}}})
    assert out["metadata"]["labels"] == {"a": "b"}
    # status written through the main resource is ignored, like the apiserver
    cur = await client.get("pods", "p")
    cur["status"] = {"phase": "Running"}
    assert (await client.update(cur))["status"]["phase"] == "Pending"
    assert (await client.update(cur, "status"))["status"]["phase"] == "Running"
    await client.bind("default", "p", "node-1")
    bound = await client.get("pods", "p")
    assert bound["spec"]["nodeName"] == "node-1"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in bound["status"]["conditions"])
    with pytest.raises(ApiError) as e:
        await client.bind("default", "p", "node-2")
    assert e.value.code == 409 and "already assigned" in e.value.message


async def test_apply_is_kubectls_three_way_merge(client: Client) -> None:
    """apply keeps what others set (the scheduler's nodeName, a controller's annotation), drops only what
    the previous manifest set, and an unchanged manifest is "unchanged" with nothing written."""
    manifest = pod("a", app="web", tier="front")
    assert (await client.create_or_update(manifest))[0] == "created"
    await client.bind("default", "a", "node-1")
    await client.patch("pods", "a", {"metadata": {"annotations": {"other/owner": "x"}}})
    cur = await client.get("pods", "a")
    assert LAST_APPLIED in cur["metadata"]["annotations"]
    # The same manifest again: nothing to do, nothing written (the scheduler's nodeName is not ours to undo).
    result, out = await client.create_or_update(pod("a", app="web", tier="front"))
    assert result == "unchanged" and out["metadata"]["resourceVersion"] == cur["metadata"]["resourceVersion"]
    # A changed image and one label fewer: both applied; what others set stays.
    manifest = pod("a", app="web")
    manifest["spec"]["containers"][0]["image"] = "nginx:1.27"
    result, out = await client.create_or_update(manifest)
    assert result == "configured"
    assert out["spec"]["nodeName"] == "node-1" and out["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert out["metadata"]["labels"] == {"app": "web"} and out["metadata"]["annotations"]["other/owner"] == "x"
    assert out["spec"]["containers"][0]["imagePullPolicy"]  # defaults are filled in again
    # An object made without apply has no last-applied manifest: apply adds one and deletes nothing.
    await client.create(pod("b", app="web", extra="kept"))
    result, out = await client.create_or_update(pod("b", app="web"))
    assert result == "configured" and out["metadata"]["labels"] == {"app": "web", "extra": "kept"}
    assert "pods/b is missing the kubectl.kubernetes.io/last-applied-configuration annotation" in client.last_warnings[0]
    # kubectl's form of the annotation: the namespace it was sent to, and an empty annotations map
    expected = pod("b", app="web")
    expected["metadata"].update(namespace="default", annotations={})
    assert json.loads(out["metadata"]["annotations"][LAST_APPLIED]) == expected


async def test_apply_again_of_a_service_with_its_own_node_port_is_unchanged(client: Client) -> None:
    """Applied again (a restarted dashboard re-applies demo.yaml), a Service that names its nodePort is
    unchanged: apply reads first, as kubectl does, because a create of it would be refused before its
    name is even looked at ("provided port is already allocated", as Kubernetes says)."""
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30123}]}}
    assert (await client.create_or_update(copy.deepcopy(svc)))[0] == "created"
    with pytest.raises(ApiError) as e:
        await client.create(copy.deepcopy(svc))
    assert e.value.code == 422 and "30123: provided port is already allocated" in e.value.message
    assert (await client.create_or_update(copy.deepcopy(svc)))[0] == "unchanged"
    svc["spec"]["ports"][0]["nodePort"] = 30124
    result, out = await client.create_or_update(copy.deepcopy(svc))
    assert result == "configured" and out["spec"]["ports"][0]["nodePort"] == 30124


async def test_a_refused_create_gives_back_the_node_port_it_asked_for(client: Client) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30123}]}}
    await client.create(copy.deepcopy(svc))
    svc["spec"]["ports"][0]["nodePort"] = 30124
    with pytest.raises(ApiError) as e:  # the name is taken: 30124 was free, must be free again
        await client.create(copy.deepcopy(svc))
    assert e.value.code == 409
    svc["metadata"]["name"] = "other"
    out = await client.create(copy.deepcopy(svc))
    assert out["spec"]["ports"][0]["nodePort"] == 30124


async def test_field_selector_and_raw_range(client: Client) -> None:
    await client.create(pod("x1"))
    await client.create(pod("x2"))
    await client.bind("default", "x1", "n1")
    on_n1 = await client.list("pods", field_selector="spec.nodeName=n1")
    assert [p["metadata"]["name"] for p in on_n1["items"]] == ["x1"]
    raw = await client.range("/registry/pods/", prefix=True)
    keys = [kv["key"] for kv in raw["kvs"]]
    assert keys == ["/registry/pods/default/x1", "/registry/pods/default/x2"]
    kv = raw["kvs"][0]
    assert kv["version"] == 2 and kv["create_revision"] < kv["mod_revision"]
    old = await client.range("/registry/pods/default/x1", revision=kv["create_revision"])
    assert "nodeName" not in old["kvs"][0]["value"]["spec"]


async def test_service_gets_cluster_ip_and_node_port(client: Client) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    out = await client.create(svc)
    ip = out["spec"]["clusterIP"]
    net = ClusterNetwork.from_dict(client.hello["network"])
    assert ipaddress.ip_address(ip) in net.service_cidr and ip != net.kubernetes_ip
    assert 30000 <= out["spec"]["ports"][0]["nodePort"] <= 32767
    assert out["spec"]["ports"][0]["targetPort"] == 80


async def test_a_node_port_outside_the_clusters_range_is_refused_by_the_allocator(client: Client) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 80}]}}
    with pytest.raises(ApiError) as e:
        await client.create(svc)
    assert e.value.code == 422
    assert ('Service "web" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid '
            "range. The range of valid ports is 30000-32767") in e.value.message
    with pytest.raises(ApiError) as e:
        await client.create({**svc, "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 80}]}})
    net = ClusterNetwork.from_dict(client.hello["network"])
    assert (f"the provided IP (10.0.0.1) is not in the valid range. The range of valid IPs is {net.service_cidr}"
            in e.value.message)
    assert (await client.list("Service", namespace="default"))["items"][0]["metadata"]["name"] == "kubernetes"


async def test_a_refused_service_update_gives_back_the_node_port_it_took(client: Client) -> None:
    svc = await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                               "spec": {"type": "NodePort", "selector": {"app": "web"},
                                        "ports": [{"name": "a", "port": 80, "nodePort": 30501}]}})
    svc["spec"]["ports"].append({"name": "b", "port": 81, "nodePort": 30502, "protocol": "ICMP"})
    with pytest.raises(ApiError) as e:
        await client.update(svc)
    assert e.value.code == 422 and "ICMP" in e.value.message
    other = await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other"},
                                 "spec": {"type": "NodePort", "selector": {"app": "web"},
                                          "ports": [{"port": 80, "nodePort": 30502}]}})
    assert other["spec"]["ports"][0]["nodePort"] == 30502


@pytest.mark.parametrize(
    "frames, expect",
    [
        ([b"\xc1\xc1 not msgpack"], "malformed frame"),
        ([msgpack.packb([1, 2, 3])], "envelope must be a map"),
        ([msgpack.packb({"v": 99, "id": 1, "verb": "get", "body": {}})], "unsupported protocol version"),
        ([msgpack.packb({"v": 1, "id": "x", "verb": "get", "body": {}})], "'id' must be an integer"),
        ([msgpack.packb({"v": 1, "id": 7, "verb": 5, "body": {}})], "'verb' must be a string"),
        ([msgpack.packb({"v": 1, "id": 7, "verb": "get", "body": [1]})], "'body' must be a map"),
        ([msgpack.packb({"v": 1, "id": 7, "verb": "get", "body": {}, "token": 5})], "'token' must be a string"),
        ([msgpack.packb({"v": 1, "id": 7, "verb": "get", "body": {}, "agent": "a" * 129})],
         "'agent' must be a string of at most 128 characters"),
        ([b"a", b"b"], "expected 1 frame"),
    ],
)
async def test_malformed_frames_get_400_and_server_survives(plane: ControlPlane, client: Client, frames: list[bytes], expect: str) -> None:
    assert plane.store is not None
    before = plane.store.revision
    answer = await raw_request(plane, frames)
    assert answer["code"] == 400, answer
    assert expect in answer["body"]["message"]
    if expect.startswith("'") and "'id'" not in expect:  # the envelope had a good id: the answer goes to it
        assert answer["id"] == 7, answer
    await client.create(pod("still-alive"))  # the server still serves real clients
    # the pod, and the kube-root-ca.crt the first pod of the namespace needs (no controller manager here)
    assert plane.store.revision == before + 2


async def test_unknown_verb_wrong_types_missing_fields(plane: ControlPlane, client: Client) -> None:
    token = plane.credentials.admin  # type: ignore[union-attr]
    answer = await raw_request(plane, [wire.request(1, "explode", {}, token)])
    assert answer["code"] == 400 and 'unknown verb "explode"' in answer["body"]["message"]
    answer = await raw_request(plane, [wire.request(2, "get", {"kind": "pods"}, token)])
    assert answer["code"] == 400 and "'name' is required" in answer["body"]["message"]
    answer = await raw_request(plane, [wire.request(3, "get", {"kind": "pods", "name": 5}, token)])
    assert answer["code"] == 400 and "'name' must be a str" in answer["body"]["message"]
    answer = await raw_request(plane, [wire.request(4, "create", {"object": "nope"}, token)])
    assert answer["code"] == 400


async def test_oversized_frame_is_413(plane: ControlPlane, client: Client) -> None:
    token = plane.credentials.admin  # type: ignore[union-attr]
    big = wire.request(1, "create", {"object": {"junk": "x" * (wire.MAX_FRAME + 10)}}, token)
    answer = await raw_request(plane, [big])
    assert answer["code"] == 413 and answer["body"]["reason"] == "RequestEntityTooLarge"
    assert (await client.hello_ok()) if hasattr(client, "hello_ok") else (await client.request("hello", {}))["server_id"]


async def test_wrong_token_is_401(plane: ControlPlane) -> None:
    assert plane.server is not None
    for token in (None, "", "admin.wrong", "abcdef.0123456789abcdef"):
        c = Client(plane.server.address, token=token, timeout=2, retry_for=2)
        try:
            with pytest.raises(ApiError) as e:
                await c.connect()
            assert e.value.code == 401
        finally:
            await c.close()


async def test_join_token_gets_node_credential_limited_like_node_restriction(plane: ControlPlane, client: Client) -> None:
    assert plane.server is not None and plane.credentials is not None
    node = Client(plane.server.address, token=plane.credentials.first_join_token(), join_node="n1", timeout=2, retry_for=2)
    try:
        hello = await node.connect()
        assert hello["user"] == "system:node:n1" and node.token and node.token.startswith("node.")
        await node.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
        with pytest.raises(ApiError) as e:
            await node.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"}})
        assert e.value.code == 403 and "system:node:n1" in e.value.message
        with pytest.raises(ApiError) as e:
            await node.create(pod("sneaky"))
        assert e.value.code == 403
        with pytest.raises(ApiError) as e:
            await node.list("pods")
        assert e.value.code == 403
        await node.list("pods", field_selector="spec.nodeName=n1")
        await node.list("pods", field_selector="status.phase=Running,spec.nodeName==n1")
        # the selector must require the node exactly: text that merely contains it is refused
        for sneaky in ("spec.nodeName!=spec.nodeName=n1", "spec.nodeName=n1x", "metadata.name=spec.nodeName=n1"):
            with pytest.raises(ApiError) as e:
                await node.list("pods", field_selector=sneaky)
            assert e.value.code in (400, 403), sneaky
        for verb, resource in (("exec", "pods/exec"), ("logs", "pods/log"), ("portforward", "pods/portforward")):
            with pytest.raises(ApiError) as e:  # admin only
                await node.request(verb, {"namespace": "default", "name": "x", "command": ["id"], "port": 80})
            assert e.value.code == 403 and f'cannot {verb} resource "{resource}"' in e.value.message, e.value.message
    finally:
        await node.close()


def test_no_leftover_fds() -> None:
    # a cheap guard that the fixtures above closed their sockets: fd count stays sane
    assert len(os.listdir("/proc/self/fd")) < 500


async def test_list_answers_may_exceed_the_request_frame_limit(client: Client) -> None:
    # 10,000 real pods make a list of tens of MiB: answers are not capped at the request limit
    blob = "x" * 200_000
    for i in range(110):
        p = pod(f"big-{i}")
        p["metadata"]["annotations"] = {"blob": blob}
        await client.create(p)
    listed = await client.list("pods")
    assert len(listed["items"]) == 110
    assert sum(len(p["metadata"]["annotations"]["blob"]) for p in listed["items"]) > 4 * wire.MAX_FRAME


# -- list chunking (limit / continue) -------------------------------------------------------------


async def test_list_in_pages_is_one_consistent_list(plane: ControlPlane, client: Client) -> None:
    for i in range(25):
        await client.create(pod(f"p{i:02}", app="web" if i % 2 else "db"))
    whole = await client.list("pods", "default")
    first = await client.list("pods", "default", limit=10)
    assert [p["metadata"]["name"] for p in first["items"]] == [f"p{i:02}" for i in range(10)]
    token = first["metadata"]["continue"]
    rv = first["metadata"]["resourceVersion"]
    # Changes after the first page do not show in the later ones: every page reads the first one's revision.
    await client.create(pod("p99"))
    await client.delete("pods", "p20")
    names = [p["metadata"]["name"] for p in first["items"]]
    while token:
        page = await client.list("pods", "default", limit=10, continue_=token)
        assert page["metadata"]["resourceVersion"] == rv
        names += [p["metadata"]["name"] for p in page["items"]]
        token = page["metadata"].get("continue", "")
    assert names == [p["metadata"]["name"] for p in whole["items"]]  # p20 still there, p99 not
    # A selector fills each page with matching objects; chunk_size joins every page into one answer.
    web = await client.list("pods", "default", label_selector="app=web", limit=4)
    assert len(web["items"]) == 4 and all(p["metadata"]["labels"]["app"] == "web" for p in web["items"])
    joined = await client.list("pods", "default", label_selector="app=web", chunk_size=4)
    assert [p["metadata"]["name"] for p in joined["items"]] == [f"p{i:02}" for i in range(25) if i % 2 and i != 20]
    assert "continue" not in joined["metadata"]
    everything = await client.list("pods", "default", limit=1000)
    assert "continue" not in everything["metadata"] and len(everything["items"]) == 25


async def test_bad_and_expired_continue_tokens(plane: ControlPlane, client: Client) -> None:
    for i in range(3):
        await client.create(pod(f"q{i}"))
    for token in ("not-a-token!", "eyJ2IjoxfQ", "e30"):  # garbage, {"v":1}, {}
        with pytest.raises(ApiError) as e:
            await client.list("pods", "default", limit=1, continue_=token)
        assert e.value.code == 400 and "continue key is not valid" in e.value.message
    with pytest.raises(ApiError) as e:
        await client.list("pods", "default", limit=-1)
    assert e.value.code == 400 and "limit" in e.value.message
    token = (await client.list("pods", "default", limit=1))["metadata"]["continue"]
    assert plane.store is not None
    await client.create(pod("q9"))
    await plane.store.compact(plane.store.revision)
    with pytest.raises(ApiError) as e:
        await client.list("pods", "default", limit=1, continue_=token)
    assert e.value.code == 410 and "too old to display a consistent list" in e.value.message


async def test_a_terminating_pod_stays_while_its_kubelet_reports_status(client: Client) -> None:
    """A pod in its grace period is deleted by its kubelet's final delete, not by the status updates it sends while
    the containers stop (one container stopped, another still running its preStop hook)."""
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "slow", "namespace": "default"},
                         "spec": {"nodeName": "n1", "terminationGracePeriodSeconds": 30,
                                  "containers": [{"name": "c", "image": "nginx"}]}})
    deleted = await client.delete("Pod", "slow")
    assert deleted["metadata"]["deletionGracePeriodSeconds"] == 30
    deleted["status"] = {"phase": "Running", "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0,
                                                                    "state": {"running": {}}}]}
    await client.update_status(deleted)
    assert (await client.get("Pod", "slow"))["status"]["phase"] == "Running"
    await client.delete("Pod", "slow", grace_period=0)
    with pytest.raises(ApiError) as e:
        await client.get("Pod", "slow")
    assert e.value.code == 404
