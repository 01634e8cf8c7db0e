"""ConfigMaps and Secrets through the ZeroMQ API: storage, kube-apiserver's validation and wording, stringData,
base64, immutable, and what a node may read."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane


def cm(name: str = "game", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


def secret(name: str = "db", **extra: object) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **extra}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def test_configmap_crud_and_short_name(client: Client) -> None:
    created = await client.create(cm(lives="3", **{"game.properties": "enemies=aliens\n"}))
    assert created["data"] == {"lives": "3", "game.properties": "enemies=aliens\n"}
    assert "status" not in created and "spec" not in created and "generation" not in created["metadata"]
    got = await client.get("cm", "game")
    assert got["data"]["lives"] == "3"
    got["data"]["lives"] = "5"
    updated = await client.update(got)
    assert updated["data"]["lives"] == "5"
    listed = await client.list("configmaps")
    assert [o["metadata"]["name"] for o in listed["items"]] == ["game"]
    await client.delete("ConfigMap", "game")
    with pytest.raises(ApiError) as e:
        await client.get("ConfigMap", "game")
    assert e.value.message == 'configmaps "game" not found'


async def test_configmap_validation_wording(client: Client) -> None:
    bad = cm(**{"bad key": "x"})
    bad["binaryData"] = {"dup": b64("x")}
    bad["data"]["dup"] = "y"
    with pytest.raises(ApiError) as e:
        await client.create(bad)
    assert e.value.code == 422
    msg = e.value.message
    assert msg.startswith('ConfigMap "game" is invalid: [')
    assert ('data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '
            "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
            "'[-._a-zA-Z0-9]+')") in msg
    assert 'data[dup]: Invalid value: "dup": duplicate of key present in binaryData' in msg
    with pytest.raises(ApiError) as e:
        await client.create(cm(**{"..x": "y"}))
    assert e.value.message.endswith("must not start with '..'")
    with pytest.raises(ApiError) as e:
        await client.create(cm(big="x" * (1024 * 1024 + 1)))
    assert e.value.message == 'ConfigMap "game" is invalid: : Too long: must have at most 1048576 bytes'
    with pytest.raises(ApiError) as e:
        await client.create({**cm(), "data": {"n": 3}})
    assert e.value.code == 400
    assert e.value.message == ('ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal '
                               "number into Go struct field ConfigMap.data of type string")


async def test_secret_base64_stringdata_and_type(client: Client) -> None:
    created = await client.create(secret(data={"user": b64("admin")}, stringData={"password": "s3cr3t"}))
    assert created["type"] == "Opaque"
    assert created["data"] == {"user": b64("admin"), "password": b64("s3cr3t")}
    assert "stringData" not in created
    got = await client.get("secrets", "db")
    assert "stringData" not in got and base64.b64decode(got["data"]["password"]) == b"s3cr3t"
    # stringData wins over data for the same key, on update too; line breaks in base64 are decoding detail
    got["stringData"] = {"user": "root"}
    got["data"]["token"] = b64("abcdefghijklmnopqrstuvwxyz")[:20] + "\n" + b64("abcdefghijklmnopqrstuvwxyz")[20:]
    updated = await client.update(got)
    assert base64.b64decode(updated["data"]["user"]) == b"root"
    assert updated["data"]["token"] == b64("abcdefghijklmnopqrstuvwxyz")
    with pytest.raises(ApiError) as e:
        await client.create(secret("bad", data={"password": "s3cr3t"}))
    assert e.value.code == 400
    assert e.value.message == ('Secret in version "v1" cannot be handled as a Secret: '
                               "illegal base64 data at input byte 4")
    with pytest.raises(ApiError) as e:
        await client.create(secret("raw", data={"password": b"s3cr3t"}))
    assert "base64" in e.value.message
    updated["type"] = "kubernetes.io/tls"
    with pytest.raises(ApiError) as e:
        await client.update(updated)
    assert 'type: Invalid value: "kubernetes.io/tls": field is immutable' in e.value.message
    with pytest.raises(ApiError) as e:
        await client.create(secret("tls", type="kubernetes.io/tls", data={"tls.crt": b64("x")}))
    assert e.value.message == 'Secret "tls" is invalid: data[tls.key]: Required value'


async def test_immutable(client: Client) -> None:
    await client.create({**cm(a="1"), "immutable": True})
    got = await client.get("ConfigMap", "game")
    got["data"]["a"] = "2"
    with pytest.raises(ApiError) as e:
        await client.update(got)
    assert e.value.message == 'ConfigMap "game" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    with pytest.raises(ApiError) as e:
        await client.patch("ConfigMap", "game", {"immutable": False})
    assert "immutable: Forbidden: field is immutable when `immutable` is set" in e.value.message
    # metadata still changes
    patched = await client.patch("ConfigMap", "game", {"metadata": {"labels": {"app": "game"}}})
    assert patched["metadata"]["labels"] == {"app": "game"}
    await client.create(secret(stringData={"p": "x"}, immutable=True))
    with pytest.raises(ApiError) as e:
        await client.patch("Secret", "db", {"stringData": {"p": "y"}})
    assert e.value.message == 'Secret "db" is invalid: data: Forbidden: field is immutable when `immutable` is set'


async def test_a_node_reads_only_what_its_pods_use(plane: ControlPlane, client: Client) -> None:
    await client.create(cm("game", a="1"))
    await client.create(cm("other", a="1"))
    await client.create(secret("db", stringData={"p": "x"}))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"nodeName": "n1", "containers": [{
               "name": "c", "image": "busybox",
               "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "game", "key": "a"}}}],
               "envFrom": [{"secretRef": {"name": "db"}}]}]}}
    await client.create(pod)
    assert plane.credentials is not None and plane.server is not None
    n1 = Client(plane.server.address, token=plane.credentials.node_credential("n1"), identity="kubelet-n1")
    n2 = Client(plane.server.address, token=plane.credentials.node_credential("n2"), identity="kubelet-n2")
    await n1.connect()
    await n2.connect()
    try:
        assert (await n1.get("ConfigMap", "game"))["data"] == {"a": "1"}
        assert (await n1.get("Secret", "db"))["data"]
        for c, kind, name in ((n1, "ConfigMap", "other"), (n2, "ConfigMap", "game"), (n2, "Secret", "db")):
            with pytest.raises(ApiError) as e:
                await c.get(kind, name)
            assert e.value.code == 403
        with pytest.raises(ApiError) as e:
            await n1.list("Secret")
        assert e.value.code == 403
    finally:
        await n1.close()
        await n2.close()


@pytest.mark.timeout(60)
async def test_kubelet_env_from_configmaps_and_secrets(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    """A missing ConfigMap keeps the container in CreateContainerConfigError with the kubelet's message; it
    starts once the ConfigMap appears, with env, envFrom (prefix, invalid names skipped with an event) and a
    Secret's decoded bytes. The node reads them with its own credential."""
    from nodes.node import Node
    from nodes.nodestatus import NodeConfig
    from tests.helpers import wait_for
    from tests.integration.test_kubelet import node_options, phase_is

    n = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20), node_options(plane, tmp_path / "n1"),
             say=lambda s: None)
    await n.start()
    try:
        await client.create(secret("db", stringData={"password": "s3cr3t"}))
        await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"}, "spec": {
            "nodeName": "node-1", "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": "busybox",
                            "command": ["sh", "-c", 'echo "lives=$LIVES g=$G_mode pw=$PW"; exec sleep 30'],
                            "env": [{"name": "LIVES", "valueFrom": {"configMapKeyRef": {"name": "game", "key": "lives"}}},
                                    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                            "envFrom": [{"configMapRef": {"name": "game"}, "prefix": "G_"},
                                        {"configMapRef": {"name": "game"}}]}]}})

        async def waiting() -> str:
            p = await client.get("Pod", "reader")
            for cs in (p.get("status") or {}).get("containerStatuses") or []:
                w = (cs.get("state") or {}).get("waiting") or {}
                if w.get("reason") == "CreateContainerConfigError":
                    return str(w.get("message"))
            return ""

        async def says(message: str) -> bool:
            return await waiting() == message

        await wait_for(lambda: says('configmap "game" not found'), 10, what="CreateContainerConfigError")
        await client.create(cm("game", mode="hard"))
        await wait_for(lambda: says("couldn't find key lives in ConfigMap default/game"), 10, what="the missing key")
        await client.patch("ConfigMap", "game", {"data": {"lives": "3", "1up": "x"}})
        await wait_for(phase_is(client, "reader", "Running"), 15, what="reader Running once the key exists")

        async def logs() -> str:
            return (await client.request("logs", {"namespace": "default", "name": "reader"}))["text"]

        assert "lives=3 g=hard pw=s3cr3t" in await wait_for(logs, 5, what="the pod's output")

        async def skipped_event() -> bool:
            evs = (await client.list("Event", "default"))["items"]
            return any(ev["reason"] == "InvalidEnvironmentVariableNames" and ev["message"] ==
                       "Keys [1up] from the EnvFrom configmap default/game were skipped since they are considered "
                       "invalid environment variable names." for ev in evs)

        await wait_for(skipped_event, 5, what="the InvalidEnvironmentVariableNames event")
    finally:
        await n.stop()
