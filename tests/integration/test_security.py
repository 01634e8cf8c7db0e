"""Who may do what: watch topics authorized by the subscriber's identity, CurveZMQ, key files, the join command."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from control.apiserver import authz
from control.apiserver.kubelet_proxy import KUBELET_ENDPOINT, KUBELET_KEY
from control.client import Client
from control.errors import ApiError
from control.informer import Informer
from control.plane import ControlPlane
from nodes.node import Node, NodeOptions, join
from nodes.nodestatus import NodeConfig
from tests.conftest import FAST
from tests.helpers import Proc, free_port_pair, run_cli, wait_for


def pod(name: str, node: str = "") -> dict:
    p: dict = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "pause"}]}}
    if node:
        p["spec"]["nodeName"] = node
    return p


def test_topic_rules() -> None:
    assert authz.may_watch("admin", b"pods\x00") and authz.may_watch("admin", b"")
    node = "system:node:n1"
    assert authz.may_watch(node, b"pods/spec.nodeName=n1\x00")
    assert authz.may_watch(node, b"services\x00") and authz.may_watch(node, b"endpoints\x00")
    for topic in (b"pods\x00", b"raw\x00", b"", b"pods", b"pods/spec.nodeName=n", b"pods/spec.nodeName=n10\x00",
                  b"pods/spec.nodeName=n2\x00", b"deployments\x00"):
        assert not authz.may_watch(node, topic), topic
    assert not authz.may_watch("system:bootstrap:abcdef", b"nodes\x00")


async def test_node_subscription_cannot_be_widened(plane: ControlPlane, client: Client) -> None:
    assert plane.credentials is not None and plane.server is not None and plane.server.hub is not None
    node = Client(plane.server.address, token=plane.credentials.node_credential("n1"), identity="kubelet-n1")
    got: dict[bytes, list[dict]] = {}
    topics = [b"pods\x00", b"raw\x00", b"", b"pods", b"pods/spec.nodeName=n2\x00", b"pods/spec.nodeName=n1\x00", b"nodes\x00"]
    try:
        assert (await node.connect())["user"] == "system:node:n1"
        for t in topics:
            node.subscribe(t, got.setdefault(t, []).append)
        await wait_for(lambda: plane.server.hub.rejected.get("system:node:n1", 0) == 5, what="5 refused subscriptions")
        await client.create(pod("theirs", "n2"))
        await client.create(pod("mine", "n1"))
        await wait_for(lambda: any(e["type"] == "ADDED" for e in got[b"pods/spec.nodeName=n1\x00"]), what="own pods")
        await wait_for(lambda: got[b"nodes\x00"], what="a bookmark on nodes")
        for t in topics[:5]:
            assert got[t] == [], f"{t!r} leaked {len(got[t])} events to a node"
        mine = [e["object"]["metadata"]["name"] for e in got[b"pods/spec.nodeName=n1\x00"] if e["type"] != "BOOKMARK"]
        assert mine == ["mine"]
    finally:
        await node.close()


async def test_watch_needs_a_valid_credential(plane: ControlPlane, client: Client) -> None:
    assert plane.server is not None and plane.server.zap is not None
    bad = Client(plane.server.address, token="node.0123456789abcdef0123456789abcdef", identity="intruder")
    with pytest.raises(ApiError) as e:
        await bad.connect()
    assert e.value.code == 401
    # Even pointed at the watch address directly, a SUB with a wrong password is refused in the handshake.
    bad.hello = {"watch_auth": "plain"}
    bad.watch_address = plane.server.watch_address
    bad._open_sub()
    seen: list[dict] = []
    bad.subscribe(b"pods\x00", seen.append)
    await wait_for(lambda: plane.server.zap.stats["watch:400"] >= 1, what="the ZAP handler to refuse")
    await client.create(pod("secret"))
    probe: list[dict] = []
    client.subscribe(b"pods\x00", probe.append)
    await wait_for(lambda: probe, what="the admin to hear the topic")
    assert seen == []
    await bad.close()


@pytest.fixture
async def curve_plane(tmp_path: Path):
    p = ControlPlane(tmp_path / "data", "tcp://127.0.0.1:*", scheduler=False, controllers=False,
                     bookmark_interval=0.2, timings=FAST, curve=True)
    await p.start()
    yield p
    await p.stop()


async def test_curve_keys_files_and_encrypted_clients(curve_plane: ControlPlane, tmp_path: Path) -> None:
    server, creds = curve_plane.server, curve_plane.credentials
    assert server is not None and creds is not None and server.server_key
    data = tmp_path / "data"
    for f in ("curve.json", "credentials.json"):
        assert stat.S_IMODE((data / f).stat().st_mode) == 0o600, f
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert f"--server-key {server.server_key}" in curve_plane.join_command()

    # Without the server's key a client cannot even say hello (CURVE handshake fails: it just times out).
    plain = Client(server.address, token=creds.admin, timeout=0.5, retry_for=0.5, identity="plain")
    with pytest.raises(ApiError) as e:
        await plain.connect()
    assert e.value.code == 503
    await plain.close()
    wrong = Client(server.address, token=creds.admin, timeout=0.5, retry_for=0.5, identity="wrong",
                   server_key="rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7")
    with pytest.raises(ApiError):
        await wrong.connect()
    await wrong.close()

    admin = Client(server.address, token=creds.admin, server_key=server.server_key, identity="admin")
    try:
        assert (await admin.connect())["watch_auth"] == "curve"
        inf = Informer(admin, "Pod", silence_timeout=1.0)
        await inf.start()
        await inf.wait_synced()
        await admin.create(pod("over-curve", "n1"))
        await wait_for(lambda: inf.get("default", "over-curve"), what="a watch event over CURVE")
        assert inf.relists == 0
        await inf.stop()

        # A node joins over CURVE with a join token; its SUB key is derived from its new credential.
        opts = NodeOptions(server=server.address, token=creds.first_join_token(), data_dir=tmp_path / "node",
                           server_key=server.server_key)
        node = await join(opts, "n1")
        try:
            assert node.user == "system:node:n1"
            pods = Informer(node, "Pod", node_name="n1", silence_timeout=1.0)
            await pods.start()
            await pods.wait_synced()
            assert [o["metadata"]["name"] for o in pods.list()] == ["over-curve"]
            got: list[dict] = []
            node.subscribe(b"pods\x00", got.append)
            await admin.create(pod("elsewhere", "n2"))
            await admin.create(pod("here", "n1"))
            await wait_for(lambda: pods.get("default", "here"), what="the node's own topic over CURVE")
            assert got == [] and server.hub is not None and server.hub.rejected.get("system:node:n1") == 1
            await pods.stop()
        finally:
            await node.close()
    finally:
        await admin.close()


async def test_in_a_curve_cluster_exec_and_logs_reach_the_kubelet_encrypted(curve_plane: ControlPlane,
                                                                           tmp_path: Path) -> None:
    """A node of a CURVE cluster encrypts its kubelet endpoint too, with a key it publishes on its Node."""
    server, creds = curve_plane.server, curve_plane.credentials
    assert server is not None and creds is not None
    node = Node(NodeConfig(name="n1", cpu="2", memory="4Gi", pods=10),
                NodeOptions(server=server.address, token=creds.first_join_token(), data_dir=tmp_path / "node",
                            server_key=server.server_key, timings=FAST, cidr_wait=0.3, proxy=False),
                say=lambda s: None)
    admin = Client(server.address, token=creds.admin, server_key=server.server_key, identity="admin")
    await node.start()
    try:
        await admin.connect()
        notes = (await admin.get("Node", "n1", None))["metadata"]["annotations"]
        assert len(notes[KUBELET_KEY]) == 40 and notes[KUBELET_ENDPOINT].startswith("tcp://")
        shell = pod("shell", "n1")
        shell["spec"]["containers"][0].update(image="busybox", command=["sh", "-c", "echo up; exec sleep 300"])
        await admin.create(shell)

        async def running() -> bool:
            return (await admin.get("Pod", "shell"))["status"].get("phase") == "Running"

        await wait_for(running, 15, what="the pod Running")
        out = await admin.exec("shell", ["sh", "-c", "echo over curve"])
        assert out == {"exitCode": 0, "output": "over curve\n"}
        assert (await admin.request("logs", {"namespace": "default", "name": "shell"}))["text"] == "up\n"
    finally:
        await admin.close()
        await node.stop()


@pytest.mark.slow
def test_control_curve_flag_join_command_and_cli(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    port = free_port_pair()
    bad = run_cli(["control", "--listen", "tcp://0.0.0.0:1", "--curve", "--insecure", "--data-dir", str(data)], home)
    assert bad.returncode == 2 and "contradict" in bad.stderr
    cp = Proc(["control", "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(data), "--curve",
               "--no-scheduler", "--no-controllers"], home)
    try:
        line = cp.wait_line("kube-tui node --server", timeout=30)
        key = line.split("--server-key ")[1].split()[0]
        assert len(key) == 40
        got = run_cli(["get", "nodes"], home)  # the recorded config carries the server key
        assert got.returncode == 0, got.stderr
        tok = run_cli(["token", "create", "--print-join-command", "--data-dir", str(data)], home)
        assert f"--server-key {key}" in tok.stdout
    finally:
        assert cp.close() == 0, cp.output()
