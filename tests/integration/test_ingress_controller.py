"""The ingress controller with real processes: a control plane serving Ingresses, a `kube-tui node` process running
nginx pods behind a Service, and HTTP requests through the controller (a match, no match, no endpoints)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from control.client import Client
from tests.conftest import running_plane
from tests.helpers import Proc, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
PORT = 8080  # the pods' port: unprivileged, so the test also runs as a normal user


class Http:
    """One kept-alive HTTP/1.1 client connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Http:
        return cls(*await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3))

    async def request(self, host: str, path: str, body: bytes = b"", method: str = "GET") -> tuple[int, dict[str, str], str]:
        extra = f"Content-Length: {len(body)}\r\n" if body else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode() + body)
        head = (await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        data = await asyncio.wait_for(self.reader.readexactly(int(headers.get("content-length", "0"))), 5)
        return int(head[0].split(" ")[1]), headers, data.decode()

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def served_by(body: str) -> str:
    m = re.search(r"Served by pod <b>([^<]+)</b>", body)
    assert m, f"not an nginx pod's page: {body!r}"
    return m.group(1)


async def test_requests_are_routed_by_host_and_path_to_ready_pods(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", scheduler=True, controllers=True, ingress_listen="127.0.0.1:0") as plane:
        assert plane.server is not None and plane.credentials is not None and plane.ingress is not None
        port = plane.ingress.port
        node = Proc(["node", "--name", "n1", "--server", plane.server.address, "--token",
                     plane.credentials.first_join_token(), "--data-dir", str(tmp_path / "n1")], tmp_path)
        client: Client = plane.client("test")
        try:
            await client.connect()
            await client.create({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                        "name": "nginx", "image": "nginx", "ports": [{"containerPort": PORT}],
                        "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 1}}]}}}})
            for name, app in (("web", "web"), ("idle", "nothing")):
                await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
                                     "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 80, "targetPort": PORT}]}})
            await client.create({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "foo", "namespace": "default"},
                "spec": {"rules": [{"host": "foo.example", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}},
                    {"path": "/idle", "pathType": "Prefix", "backend": {"service": {"name": "idle", "port": {"name": "http"}}}},
                ]}}]}})
            ing = await client.get("Ingress", "foo")
            assert ing["spec"]["ingressClassName"] == "kube-tui"  # DefaultIngressClass admission

            async def address() -> list | None:
                lb = ((await client.get("Ingress", "foo")).get("status") or {}).get("loadBalancer") or {}
                return lb.get("ingress")

            assert await wait_for(address, 10, what="the controller's address in the Ingress's status") == [
                {"ip": "127.0.0.1", "ports": [{"port": port, "protocol": "TCP"}]}]

            async def both_ready() -> bool:
                ep = await client.get("Endpoints", "web")
                return sum(len(s.get("addresses") or []) for s in ep.get("subsets") or []) == 2

            await wait_for(both_ready, 45, what=f"two ready nginx pods:\n{node.output()}")
            http = await Http.open(port)
            try:
                seen = set()
                for _ in range(4):  # one connection, kept alive; the endpoints in turn
                    code, headers, body = await http.request("foo.example:80", "/")
                    assert code == 200 and headers["connection"] == "keep-alive"
                    seen.add(served_by(body))
                assert len(seen) == 2
                code, _, body = await http.request("other.example", "/")
                assert (code, body) == (404, "default backend - 404")
                code, _, body = await http.request("foo.example", "/idle/x", body=b"a body to drop")
                assert (code, body) == (503, "503 Service Temporarily Unavailable")
                code, _, _ = await http.request("foo.example", "/", body=b"x" * 100_000, method="POST")
                assert code == 405  # nginx's answer to a POST of a static page: the body went through
            finally:
                await http.close()
        finally:
            await client.close()
            node.close()
