"""kube-proxy: real listeners on ClusterIP and NodePort forwarding to nginx pods, round-robin,
surviving a dead endpoint and a dead proxy, and closing when the service goes."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from control.api.endpointslice import SERVICE_NAME_LABEL
from control.client import Client
from control.plane import ControlPlane
from nodes.node import Node, NodeOptions
from nodes.nodestatus import NodeConfig
from nodes.proxy import Proxy, service_addresses, service_backends
from tests.conftest import FAST
from tests.helpers import wait_for

pytestmark = pytest.mark.timeout(60)
PORT = 8080  # unprivileged, so the test also runs as a normal user


@pytest.fixture
async def node(plane: ControlPlane, tmp_path: Path) -> AsyncIterator[Node]:
    assert plane.server is not None and plane.credentials is not None
    opts = NodeOptions(server=plane.server.address, token=plane.credentials.first_join_token(),
                       data_dir=tmp_path / "node-1", timings=FAST, cidr_wait=0.3, proxy=True)
    n = Node(NodeConfig(name="node-1"), opts, say=lambda s: None)
    await n.start()
    try:
        yield n
    finally:
        await n.stop()


def nginx(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": PORT}],
                                     "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 1}}]}}


async def http_get(host: str, port: int) -> str:
    """One HTTP/1.0 GET; the pod that answered, from the built-in nginx page."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
    try:
        writer.write(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        body = (await asyncio.wait_for(reader.read(), 3)).decode()
    finally:
        writer.close()
    m = re.search(r"Served by pod <b>([^<]+)</b>", body)
    assert m, f"unexpected answer from {host}:{port}: {body!r}"
    return m.group(1)


async def endpoints_for(client: Client, ips: list[str]) -> dict:
    """The Service's EndpointSlice, written here (no controller runs): kube-proxy reads slices by their label."""
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "web-manual", "namespace": "default", "labels": {SERVICE_NAME_LABEL: "web"}},
           "addressType": "IPv4", "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
           "ports": [{"name": "http", "port": PORT}]}
    _, out = await client.create_or_update(eps)
    return out


async def test_service_is_proxied_round_robin_and_survives_a_dead_endpoint(client: Client, node: Node) -> None:
    await client.create(nginx("web-a"))
    await client.create(nginx("web-b"))

    async def both_running() -> list[str] | None:
        pods = [await client.get("Pod", n) for n in ("web-a", "web-b")]
        ready = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
                 and all(c["ready"] for c in p["status"]["containerStatuses"])]
        return [p["status"]["podIP"] for p in ready] if len(ready) == 2 else None

    ips = await wait_for(both_running, 15, what="two nginx pods running")
    node_port = random.randint(30000, 32767)
    svc = await client.create({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": PORT, "targetPort": PORT, "nodePort": node_port}]}})
    cluster_ip = svc["spec"]["clusterIP"]
    await endpoints_for(client, ips)
    assert node.proxy is not None
    await wait_for(lambda: (cluster_ip, PORT) in node.proxy.listeners  # type: ignore[union-attr]
                   and node.proxy.backends.get(("default", "web", "http")) is not None  # type: ignore[union-attr]
                   and len(node.proxy.backends[("default", "web", "http")].addrs) == 2,  # type: ignore[union-attr]
                   10, what="the proxy's listener and endpoints")
    served = [await http_get(cluster_ip, PORT) for _ in range(6)]
    assert set(served) == {"web-a", "web-b"}
    # NodePort: on the host's loopback and on the node's own address.
    assert await http_get("127.0.0.1", node_port) in ("web-a", "web-b")
    assert node.status is not None and node.status.node_ip is not None
    assert await http_get(node.status.node_ip, node_port) in ("web-a", "web-b")

    # One endpoint dies before anyone updates the EndpointSlice: a failed connect moves on to the next.
    await client.delete("Pod", "web-b")

    async def b_gone() -> bool:
        return not any(p["metadata"]["name"] == "web-b" for p in (await client.list("Pod", "default"))["items"])

    await wait_for(b_gone, 10, what="web-b gone")
    assert [await http_get(cluster_ip, PORT) for _ in range(4)] == ["web-a"] * 4

    # An EndpointSlice change applies to new connections; an established one carries on.
    reader, writer = await asyncio.open_connection(cluster_ip, PORT)
    try:
        request = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"
        writer.write(request)
        assert b"web-a" in await asyncio.wait_for(reader.readuntil(b"</html>\n"), 3)
        await endpoints_for(client, [(await client.get("Pod", "web-a"))["status"]["podIP"]])
        await wait_for(lambda: len(node.proxy.backends[("default", "web", "http")].addrs) == 1,  # type: ignore[union-attr]
                       10, what="the endpoint update")
        writer.write(request)
        assert b"web-a" in await asyncio.wait_for(reader.readuntil(b"</html>\n"), 3)
    finally:
        writer.close()

    # A second kube-proxy (another node on this machine) binds the same address; the first one leaves.
    other = Proxy(node.client, node_ip=None, node_name="node-2")  # type: ignore[arg-type]
    await other.start()
    try:
        await wait_for(lambda: (cluster_ip, PORT) in other.listeners, 10, what="the second proxy's listener")
        await node.proxy.stop()
        node.proxy = None
        assert await http_get(cluster_ip, PORT) == "web-a"
        assert await http_get("127.0.0.1", node_port) == "web-a"
        # The service goes: so do its listeners.
        await client.delete("Service", "web")
        await wait_for(lambda: not [a for a, lst in other.listeners.items() if lst.service == ("default", "web")],
                       10, what="the listeners to close")
        with pytest.raises(OSError):
            await http_get(cluster_ip, PORT)
    finally:
        await other.stop()


async def test_no_endpoints_means_the_connection_is_refused(client: Client, node: Node) -> None:
    svc = await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "empty", "namespace": "default"},
                               "spec": {"selector": {"app": "none"}, "ports": [{"port": PORT}]}})
    ip = svc["spec"]["clusterIP"]
    assert node.proxy is not None
    await wait_for(lambda: (ip, PORT) in node.proxy.listeners, 10, what="the listener")  # type: ignore[union-attr]
    reader, writer = await asyncio.open_connection(ip, PORT)
    try:
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 3)
            if not data:
                raise ConnectionResetError("closed")
    finally:
        writer.close()


def test_service_addresses_and_backends_follow_port_names() -> None:
    svc = {"spec": {"type": "NodePort", "clusterIP": "127.96.0.9",
                    "ports": [{"name": "http", "port": 80, "nodePort": 30080}, {"name": "dns", "port": 53, "protocol": "UDP"},
                              {"name": "admin", "port": 9000}]}}
    assert service_addresses(svc, ["127.0.0.1", "127.128.0.1"]) == {
        ("127.96.0.9", 80): "http", ("127.0.0.1", 30080): "http", ("127.128.0.1", 30080): "http",
        ("127.96.0.9", 9000): "admin"}
    ports = [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}]
    slices = [{"addressType": "IPv4", "ports": ports, "endpoints": [
                  {"addresses": ["127.128.0.3"], "conditions": {"ready": True}},
                  {"addresses": ["127.128.0.4"], "conditions": {"ready": False}}]},
              {"addressType": "IPv4", "ports": ports, "endpoints": [{"addresses": ["127.128.0.2"]}]}]  # unset: ready
    assert service_backends(svc, slices) == {"http": [("127.128.0.2", 8080), ("127.128.0.3", 8080)],
                                             "admin": [("127.128.0.2", 9090), ("127.128.0.3", 9090)]}
    # None ready: the serving terminating ones, as kube-proxy falls back to them; not serving ones never
    terminating = [{"addressType": "IPv4", "ports": ports, "endpoints": [
        {"addresses": ["127.128.0.5"], "conditions": {"ready": False, "serving": True, "terminating": True}},
        {"addresses": ["127.128.0.6"], "conditions": {"ready": False, "serving": False, "terminating": True}}]}]
    assert service_backends(svc, terminating)["http"] == [("127.128.0.5", 8080)]
    assert service_backends(svc, terminating + slices)["http"] == [("127.128.0.2", 8080), ("127.128.0.3", 8080)]
    assert service_addresses({"spec": {"clusterIP": "None", "ports": [{"port": 80}]}}, []) == {}


async def test_a_backend_that_speaks_first_reaches_the_client() -> None:
    """A greeting the endpoint sends before the client says anything (SMTP, SSH, MySQL) is passed on, not dropped."""
    from nodes.proxy import Backends, _Listener, listen_socket

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hello\r\n")
        await writer.drain()
        writer.write(b"echo " + await reader.readline())
        await writer.drain()
        writer.close()

    backend = await asyncio.start_server(greet, "127.0.0.1", 0)
    port = backend.sockets[0].getsockname()[1]
    addr = ("127.96.0.250", random.randint(20000, 29999))
    backends = Backends("test")
    backends.set([("127.0.0.1", port)])
    listener = _Listener(addr, ("default", "greeter"), backends)
    listener.server = await asyncio.get_running_loop().create_server(listener.protocol, sock=listen_socket(*addr))
    try:
        reader, writer = await asyncio.open_connection(*addr)
        try:
            assert await asyncio.wait_for(reader.readline(), 3) == b"220 hello\r\n"
            writer.write(b"hi\n")
            assert await asyncio.wait_for(reader.readline(), 3) == b"echo hi\n"
        finally:
            writer.close()
    finally:
        await listener.close(drop_connections=True)
        backend.close()
        await backend.wait_closed()


async def test_a_nodeport_on_127_0_0_1_is_one_clusters_and_the_other_says_so(tmp_path: Path) -> None:
    """Two clusters on the machine with the same nodePort: the second proxy does not bind 127.0.0.1:PORT beside the
    first (SO_REUSEPORT would split the connections between the two clusters without a word); it says why, keeps
    the NodePort on its node's own address, and takes 127.0.0.1:PORT over once the first cluster lets it go."""
    from nodes.proxy import shared_holders
    from tests.conftest import running_plane

    port = random.randint(30000, 32767)
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"type": "NodePort", "selector": {"app": "web"},
                    "ports": [{"name": "http", "port": PORT, "nodePort": port}]}}
    async with running_plane(tmp_path / "a") as a, running_plane(tmp_path / "b") as b:
        ca, cb = a.client("test-a"), b.client("test-b")
        await ca.connect()
        await cb.connect()
        pa = Proxy(ca, node_ip="127.1.2.3", node_name="a1")
        pb = Proxy(cb, node_ip="127.1.2.4", node_name="b1")
        try:
            await pa.start()
            await ca.create(svc)
            await wait_for(lambda: ("127.0.0.1", port) in pa.listeners, 10, what="cluster a's NodePort on 127.0.0.1")
            uid_a = (await ca.get("Namespace", "kube-system", None))["metadata"]["uid"]
            assert shared_holders(("127.0.0.1", port)) == {uid_a}
            await pb.start()
            await cb.create(svc)
            await wait_for(lambda: ("127.1.2.4", port) in pb.listeners, 10, what="cluster b's NodePort on its node")
            await wait_for(lambda: ("127.0.0.1", port) in pb.bind_errors, 10, what="cluster b's refusal")
            assert ("127.0.0.1", port) not in pb.listeners
            assert (f"cannot listen on 127.0.0.1:{port}: another kube-tui cluster on this machine serves this NodePort "
                    f"there (its kube-system namespace has uid {uid_a}); this cluster's default/web is still on each "
                    f"node's own address, e.g. 127.1.2.4:{port}") == pb.bind_errors[("127.0.0.1", port)]
            await pa.stop()  # cluster a's proxy goes: its claim with it
            await wait_for(lambda: ("127.0.0.1", port) in pb.listeners, 15, what="cluster b taking 127.0.0.1 over")
            assert shared_holders(("127.0.0.1", port)) == {pb.cluster}
        finally:
            await pa.stop()
            await pb.stop()
            await ca.close()
            await cb.close()
    assert shared_holders(("127.0.0.1", port)) == set()


async def test_a_nodeport_waits_for_the_cluster_uid_only_on_127_0_0_1() -> None:
    """The proxy asks the API server which cluster it is before it listens on 127.0.0.1 (claim_shared). When it
    cannot (the API server is away), the NodePort on the node's own address and the ClusterIP are bound all the
    same; 127.0.0.1 follows on a retry once the answer comes."""
    from control import errors
    from nodes.proxy import shared_holders

    class Services:
        def __init__(self, svc: dict) -> None:
            self.svc = svc

        def get(self, _ns: str, _name: str) -> dict:
            return self.svc

    class Away:
        up = False

        async def get(self, kind: str, name: str, _ns: None) -> dict:
            if not self.up:
                raise errors.unavailable("the API server does not answer")
            return {"metadata": {"uid": "test-cluster-uid"}}

    port = random.randint(30000, 32767)
    cluster_ip = f"127.3.{random.randint(0, 255)}.{random.randint(1, 254)}"
    svc = {"metadata": {"name": "web", "namespace": "default"},
           "spec": {"type": "NodePort", "clusterIP": cluster_ip, "ports": [{"name": "http", "port": PORT, "nodePort": port}]}}
    client = Away()
    proxy = Proxy(client, node_ip="127.1.2.5", node_name="n1", services=Services(svc))  # type: ignore[arg-type]
    try:
        with pytest.raises(OSError, match="retrying"):
            await proxy._sync(("default", "web"))
        assert set(proxy.listeners) == {(cluster_ip, PORT), ("127.1.2.5", port)}
        assert proxy.bind_errors[("127.0.0.1", port)].endswith(
            "could not be asked: Error from server (ServiceUnavailable): the API server does not answer")
        client.up = True
        await proxy._sync(("default", "web"))
        assert ("127.0.0.1", port) in proxy.listeners and not proxy.bind_errors
        assert shared_holders(("127.0.0.1", port)) == {"test-cluster-uid"}
    finally:
        for lst in proxy.listeners.values():  # what stop() does with them (its informers were never started)
            await lst.close(drop_connections=True)
    assert shared_holders(("127.0.0.1", port)) == set()


CLAIMER = """
import asyncio, sys, time
from nodes.proxy import claim_shared
addr, cluster = ("127.0.0.1", int(sys.argv[1])), sys.argv[2]
print("ready", flush=True)
for line in sys.stdin:
    at = float(line)
    while time.monotonic() < at:  # both processes start claiming at the same instant
        pass
    claim, _ = asyncio.run(claim_shared(addr, cluster))
    print("won" if claim else "lost", flush=True)
    sys.stdin.readline()
    if claim is not None:
        claim.close()
    print("released", flush=True)
"""


def test_two_clusters_claiming_one_nodeport_at_the_same_instant_never_both_win() -> None:
    """Two proxies of different clusters claim 127.0.0.1:PORT at the same instant, twenty times: exactly one wins
    each time. Looking for the other's claim and binding one's own happen under a machine-wide lock; without it
    both looked, saw nothing and both bound, 18 times in 20."""
    import subprocess
    import sys
    import time

    from nodes.proxy import shared_holders

    port = random.randint(30000, 32767)
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(port), f"cluster-{c}"], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for c in "ab"]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline() == "ready\n"
        for _ in range(20):
            at = time.monotonic() + 0.05
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"{at}\n")
                p.stdin.flush()
            said = sorted(p.stdout.readline().strip() for p in procs if p.stdout is not None)
            assert said == ["lost", "won"]
            assert len(shared_holders(("127.0.0.1", port))) == 1
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("release\n")
                p.stdin.flush()
            assert [p.stdout.readline() for p in procs if p.stdout is not None] == ["released\n"] * 2
    finally:
        for p in procs:
            if p.stdin is not None:
                p.stdin.close()
            p.wait(timeout=10)
    assert shared_holders(("127.0.0.1", port)) == set()


async def test_a_nodeport_that_cannot_listen_gives_its_claim_back() -> None:
    """127.0.0.1:PORT is held by a process that does not share it: the proxy says so and holds no claim on the
    address meanwhile (another cluster may serve it), then listens once the address is free."""
    import socket

    from nodes.proxy import shared_holders

    class Services:
        def get(self, _ns: str, _name: str) -> dict:
            return {"metadata": {"name": "web", "namespace": "default"},
                    "spec": {"type": "NodePort", "clusterIP": cluster_ip,
                             "ports": [{"name": "http", "port": PORT, "nodePort": port}]}}

    class Cluster:
        async def get(self, kind: str, name: str, _ns: None) -> dict:
            return {"metadata": {"uid": "test-cluster-uid"}}

    port = random.randint(30000, 32767)
    cluster_ip = f"127.3.{random.randint(0, 255)}.{random.randint(1, 254)}"
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", port))
    squatter.listen()
    proxy = Proxy(Cluster(), node_ip="127.1.2.6", node_name="n1", services=Services())  # type: ignore[arg-type]
    try:
        with pytest.raises(OSError, match="retrying"):
            await proxy._sync(("default", "web"))
        assert "the port is in use" in proxy.bind_errors[("127.0.0.1", port)]
        assert shared_holders(("127.0.0.1", port)) == set()
        squatter.close()
        await proxy._sync(("default", "web"))
        assert shared_holders(("127.0.0.1", port)) == {"test-cluster-uid"}
    finally:
        squatter.close()
        for lst in proxy.listeners.values():
            await lst.close(drop_connections=True)
    assert shared_holders(("127.0.0.1", port)) == set()
