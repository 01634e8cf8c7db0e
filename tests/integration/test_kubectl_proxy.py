"""kube-tui proxy (kubectl proxy) against a real control plane serving the REST API: curl-like requests on
plain HTTP reach the API server with the admin's token, a watch streams each change as it happens, and
kubectl's filter refuses exec and a foreign Host header. (test_proxy.py is kube-proxy's.)"""

from __future__ import annotations

import http.client
import json
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Proc, free_port_pair, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A control plane serving the REST API; its home holds the config and kubeconfig the proxy reads."""
    tmp = tmp_path_factory.mktemp("kubectl-proxy")
    home = tmp / "home"
    cp = Proc(["control", "--listen", f"tcp://127.0.0.1:{free_port_pair()}", "--data-dir", str(tmp / "data"),
               "--no-scheduler", "--no-controllers", "--https", f"127.0.0.1:{free_port_pair()}"], home)
    try:
        cp.wait_line("kubectl:")
        yield home
    finally:
        cp.close()


@pytest.fixture(scope="module")
def proxy(cluster: Path) -> Iterator[tuple[Proc, int]]:
    p = Proc(["proxy", "--port", "0"], cluster)
    try:
        line = p.wait_line("Starting to serve on ")
        assert re.fullmatch(r"Starting to serve on 127\.0\.0\.1:\d+", line), line
        yield p, int(line.rpartition(":")[2])
    finally:
        p.close()


def request(port: int, method: str, path: str, body: dict | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def test_a_list_reaches_the_api_server_with_the_admins_token(cluster: Path, proxy: tuple[Proc, int]) -> None:
    _, port = proxy
    status, body = request(port, "POST", "/api/v1/namespaces/default/configmaps",
                           {"metadata": {"name": "listed"}, "data": {"a": "b"}})
    assert status == 201, body
    status, body = request(port, "GET", "/api/v1/namespaces/default/configmaps")
    assert status == 200
    listed = json.loads(body)
    assert listed["kind"] == "ConfigMapList"
    assert "listed" in [i["metadata"]["name"] for i in listed["items"]]
    status, body = request(port, "GET", "/api/v1/namespaces/default/configmaps/nope")
    assert status == 404 and json.loads(body)["reason"] == "NotFound"  # the API server's own Status, passed on


def test_a_watch_streams_a_change_as_it_happens(cluster: Path, proxy: tuple[Proc, int]) -> None:
    _, port = proxy
    status, body = request(port, "GET", "/api/v1/namespaces/default/configmaps")
    rv = json.loads(body)["metadata"]["resourceVersion"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}")
        r = conn.getresponse()
        assert r.status == 200 and r.getheader("Transfer-Encoding") == "chunked"
        created = run_cli(["create", "configmap", "watched", "--from-literal=k=v"], cluster)
        assert created.returncode == 0, created.stderr
        event = json.loads(r.readline())  # the stream is still open: the event came through as it was sent
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "watched")
    finally:
        conn.close()


def test_exec_and_a_foreign_host_are_refused_as_kubectl_refuses_them(proxy: tuple[Proc, int]) -> None:
    _, port = proxy
    assert request(port, "POST", "/api/v1/namespaces/default/pods/web/exec?command=sh") == (403, b"Forbidden\n")
    assert request(port, "GET", "/api/v1/namespaces/default/pods",
                   headers={"Host": "evil.example:8001"}) == (403, b"Forbidden\n")
    assert request(port, "GET", "/version", headers={"Host": "localhost:8001"})[0] == 200


def test_a_taken_port_is_kubectls_error(cluster: Path, proxy: tuple[Proc, int]) -> None:
    _, port = proxy
    r = run_cli(["proxy", "--port", str(port)], cluster)
    assert r.returncode == 1
    assert r.stderr.startswith(f"error: listen tcp 127.0.0.1:{port}: bind: address already in use: ")
    assert "--port" in r.stderr


def test_sigint_stops_it_cleanly_with_a_watch_open(cluster: Path) -> None:
    p = Proc(["proxy", "-p", "0"], cluster)
    try:
        port = int(p.wait_line("Starting to serve on ").rpartition(":")[2])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/namespaces/default/configmaps?watch=true")
        assert conn.getresponse().status == 200
        p.signal(signal.SIGINT)
        assert p.popen.wait(5) == 0
        conn.close()
    finally:
        p.close()


def test_a_control_plane_without_the_rest_api_is_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cp = Proc(["control", "--listen", f"tcp://127.0.0.1:{free_port_pair()}", "--data-dir", str(tmp_path / "data"),
               "--no-scheduler", "--no-controllers", "--https", ""], home)
    try:
        cp.wait_line("To add a node")
        r = run_cli(["proxy", "--port", "0"], home)
        assert r.returncode == 1
        assert "serves no Kubernetes REST API" in r.stderr and "--https HOST:PORT" in r.stderr
    finally:
        cp.close()
