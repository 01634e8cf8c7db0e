"""ServiceAccount tokens end to end: the serviceaccounts/token subresource on both doors, a token as a bearer
credential (refused once its ServiceAccount or pod is gone), the kube-api-access volume admission adds, the
kube-root-ca.crt ConfigMaps, and a real pod that reads its token and calls the API through the `kubernetes`
Service as its ServiceAccount."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from control.apiserver.serviceaccount import TOKEN_MOUNT_PATH
from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.helpers import Proc, wait_for

SA_USER = "system:serviceaccount:default:default"


def _pod(name: str, **spec: Any) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


async def _token(client: Client, name: str = "default", **spec: Any) -> str:
    answer = await client.request("token", {"kind": "ServiceAccount", "namespace": "default", "name": name,
                                            "object": {"spec": spec}})
    return str(answer["status"]["token"])


def _client_with(plane: ControlPlane, token: str) -> Client:
    assert plane.server is not None
    return Client(plane.server.address, token=token, identity="sa-test", retry_for=0.5)


async def _refusal(plane: ControlPlane, token: str) -> ApiError:
    """What the native API answers a list of pods with the token (the hello is the admin's, so that a refused
    token is refused by the list itself)."""
    assert plane.credentials is not None
    c = _client_with(plane, plane.credentials.admin)
    try:
        await c.connect()
        c.token = token
        with pytest.raises(ApiError) as e:
            await c.request("list", {"kind": "Pod", "namespace": "default"})
        return e.value
    finally:
        await c.close()


async def test_a_token_authenticates_its_serviceaccount_until_it_or_its_pod_is_gone(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data") as plane:
        admin = plane.client("test")
        await admin.connect()
        try:
            refused = await _refusal(plane, await _token(admin))
            assert refused.code == 403 and refused.message == (
                f'pods is forbidden: User "{SA_USER}" cannot list resource "pods" in API group "" in the namespace '
                '"default"')
            with pytest.raises(ApiError) as e:
                await _token(admin, expirationSeconds=599)
            assert e.value.code == 422 and "may not specify a duration less than 10 minutes" in e.value.message

            await admin.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}})
            robot = await _token(admin, "robot")
            await admin.delete("ServiceAccount", "robot", "default")
            refused = await _refusal(plane, robot)
            assert (refused.code, refused.message) == (401, 'Unauthorized: serviceaccounts "robot" not found')
            await admin.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}})
            refused = await _refusal(plane, robot)
            assert refused.code == 401 and "service account UID" in refused.message and "does not match claim" in (
                refused.message)

            await admin.create(_pod("web"))
            bound = await _token(admin, boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "web"})
            assert (await _refusal(plane, bound)).code == 403  # authenticated: only not allowed (no RBAC yet)
            await admin.delete("Pod", "web", "default", grace_period=0)
            await wait_for(lambda: _gone(admin, "web"), 10, what="the pod to be deleted")
            refused = await _refusal(plane, bound)
            assert (refused.code, refused.message) == (401, 'Unauthorized: pods "web" not found')
        finally:
            await admin.close()


async def _gone(client: Client, name: str) -> bool:
    try:
        await client.get("Pod", name, "default")
    except ApiError as e:
        return e.code == 404
    return False


async def test_admission_adds_the_token_volume_unless_the_pod_or_its_serviceaccount_opts_out(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data") as plane:
        admin = plane.client("test")
        await admin.connect()
        try:
            pod = await admin.create(_pod("web"))
            (volume,) = pod["spec"]["volumes"]
            assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == len("kube-api-access-") + 5
            assert pod["spec"]["containers"][0]["volumeMounts"] == [
                {"name": volume["name"], "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
            pod = await admin.create(_pod("quiet", automountServiceAccountToken=False))
            assert "volumes" not in pod["spec"] and "volumeMounts" not in pod["spec"]["containers"][0]
            await admin.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"},
                                "automountServiceAccountToken": False})
            pod = await admin.create(_pod("robot", serviceAccountName="robot"))
            assert "volumes" not in pod["spec"]
            pod = await admin.create(_pod("robot2", serviceAccountName="robot", automountServiceAccountToken=True))
            assert pod["spec"]["volumes"][0]["name"].startswith("kube-api-access-")  # the pod's word wins
            # no controller manager here: the API server made what the first pod's volume needs
            cm = await admin.get("ConfigMap", "kube-root-ca.crt", "default")
            assert cm["data"]["ca.crt"] == (tmp_path / "data" / "pki" / "ca.crt").read_text()
            with pytest.raises(ApiError):
                await admin.get("ConfigMap", "kube-root-ca.crt", "kube-system")
        finally:
            await admin.close()


def _can_bind_443() -> bool:
    if os.geteuid() == 0:
        return True
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        return int(f.read()) <= 443


IN_CLUSTER = """
import os, ssl, urllib.request, urllib.error
d = "/var/run/secrets/kubernetes.io/serviceaccount"
token, ns = open(d + "/token").read(), open(d + "/namespace").read()
url = "https://%s:%s/api/v1/namespaces/%s/pods" % (os.environ["KUBERNETES_SERVICE_HOST"],
                                                    os.environ["KUBERNETES_SERVICE_PORT"], ns)
request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
try:
    print("answer", urllib.request.urlopen(request, context=ssl.create_default_context(cafile=d + "/ca.crt")).status)
except urllib.error.HTTPError as e:
    print("answer", e.code, e.read().decode())
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.skipif(not _can_bind_443(), reason="kube-proxy must listen on the kubernetes Service's port 443")
async def test_a_pod_reads_its_token_and_is_answered_as_its_serviceaccount(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", scheduler=True, controllers=True, rest_listen="127.0.0.1:0") as plane:
        assert plane.server is not None and plane.credentials is not None and plane.rest is not None
        node = Proc(["node", "--name", "n1", "--server", plane.server.address, "--token",
                     plane.credentials.first_join_token(), "--lease-duration", "2",
                     "--data-dir", str(tmp_path / "n1")], tmp_path)
        admin = plane.client("test")
        try:
            await admin.connect()
            await wait_for(lambda: "ready" in node.output(), 30, what=f"the node to be ready:\n{node.output()}")
            await admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "incluster"}, "spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": "python", "command": ["python3", "-c", IN_CLUSTER]}]}})

            async def answer() -> str | None:
                try:
                    text = str((await admin.request("logs", {"name": "incluster", "namespace": "default"}))["text"])
                except ApiError:
                    return None
                return text if "answer" in text else None

            text = await wait_for(answer, 60, what=f"the pod's answer from the API server:\n{node.output()}")
            code, _, body = text.partition("answer ")[2].partition(" ")
            assert code == "403", text
            assert json.loads(body)["message"] == (f'pods is forbidden: User "{SA_USER}" cannot list resource "pods" '
                                                   'in API group "" in the namespace "default"')
            # the token the kubelet wrote is bound to the pod: the REST door says who it is
            pod = await admin.get("Pod", "incluster", "default")
            uid = pod["metadata"]["uid"]
            token_file = next((tmp_path / "n1").rglob(f"{uid}/volumes/kubernetes.io~projected/*/token"))
            request = urllib.request.Request(
                f"{plane.rest.address}/apis/authentication.k8s.io/v1/selfsubjectreviews", method="POST",
                data=b'{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}',
                headers={"Authorization": f"Bearer {token_file.read_text()}", "Content-Type": "application/json"})
            ctx = ssl.create_default_context(cadata=plane.rest.ca_pem.decode())

            def whoami() -> dict:  # off the loop: the REST API answers on it
                with urllib.request.urlopen(request, context=ctx, timeout=10) as resp:
                    return json.loads(resp.read())["status"]["userInfo"]

            info = await asyncio.to_thread(whoami)
            account = await admin.get("ServiceAccount", "default", "default")
            assert {k: info[k] for k in ("username", "uid", "groups")} == {
                "username": SA_USER, "uid": account["metadata"]["uid"],
                "groups": ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]}
            assert info["extra"]["authentication.kubernetes.io/pod-uid"] == [uid]
            # the root CA publisher keeps kube-root-ca.crt in every namespace
            cm = await admin.get("ConfigMap", "kube-root-ca.crt", "kube-system")
            assert cm["data"]["ca.crt"] == plane.rest.ca_pem.decode()
        finally:
            await admin.close()
            node.close()


async def test_a_node_may_ask_only_for_tokens_bound_to_its_own_pods(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data") as plane:
        assert plane.credentials is not None
        admin = plane.client("test")
        await admin.connect()
        node = _client_with(plane, plane.credentials.node_credential("n1"))
        try:
            await admin.create(_pod("mine", nodeName="n1"))
            await admin.create(_pod("theirs", nodeName="n2"))
            await admin.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}})
            token = await _token(node, boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "mine"})
            assert _claims(token)["kubernetes.io"]["pod"]["name"] == "mine"
            for name, spec, why in (
                    ("default", {}, "node requested token not bound to a pod"),
                    ("default", {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "theirs"}},
                     "node requested token bound to a pod scheduled on a different node"),
                    ("robot", {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "mine"}},
                     "no relationship found between node 'n1' and this object")):
                with pytest.raises(ApiError) as e:
                    await _token(node, name, **spec)
                assert e.value.code == 403 and e.value.message == (
                    f'serviceaccounts "{name}" is forbidden: User "system:node:n1" cannot create resource '
                    f'"serviceaccounts/token" in API group "" in the namespace "default": {why}')
        finally:
            await node.close()
            await admin.close()


def _claims(token: str) -> dict:
    import base64

    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


async def test_a_serviceaccount_token_watches_over_the_native_api_with_a_watch_ticket(tmp_path: Path) -> None:
    """A JWT is longer than a ZMTP PLAIN password (255 bytes): hello hands out a watch ticket for it, the watch
    connection authenticates with that, and the subscriptions are authorized as the ServiceAccount's."""
    from control.api import kinds
    from control.informer import Informer

    async with running_plane(tmp_path / "data") as plane:
        admin = plane.client("test")
        await admin.connect()
        sa = None
        try:
            await admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                "metadata": {"name": "pod-watcher"},
                                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]})
            await admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                                "metadata": {"name": "pod-watcher"},
                                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                            "name": "pod-watcher"},
                                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "default"}]})
            token = await _token(admin)
            assert len(token.encode()) > 255
            sa = _client_with(plane, token)
            await sa.connect()
            assert sa.hello.get("watch_ticket") and sa.hello["watch_ticket"] not in token
            # a list to be followed by a watch is refused without the watch verb (the subscription would be dropped)
            with pytest.raises(ApiError, match='cannot watch resource "pods" in API group "" at the cluster scope'):
                await sa.list("Pod", None, topic=kinds.KINDS["Pod"].topic())
            assert len((await sa.list("Pod", None))["items"]) == 0
            await admin.patch("ClusterRole", "pod-watcher", {"rules": [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]}, None)
            pods = Informer(sa, "Pod")
            await pods.start()
            await pods.wait_synced(10)
            await admin.create(_pod("watched"))
            await wait_for(lambda: pods.get("default", "watched") is not None, 10, what="the pod in the SA's informer")
            await pods.stop()
        finally:
            if sa is not None:
                await sa.close()
            await admin.close()
