"""`kube-tui bench nodes` (control plane cost of thousands of heartbeating nodes) and `kube-tui bench proxy`
(request latency through a ClusterIP against straight to a pod). Real processes; numbers printed."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from control import aio
from control.api.endpointslice import SERVICE_NAME_LABEL
from control.client import Client
from control.netutil import stable_port_pair

ROOT = Path(__file__).resolve().parent.parent


# -- processes --------------------------------------------------------------------------------------

class _Proc:
    """A `kube-tui ...` subprocess whose output is read line by line."""

    def __init__(self, args: list[str], home: Path) -> None:
        env = dict(os.environ, KUBE_TUI_HOME=str(home), PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("KUBE_TUI_SERVER", None)
        env.pop("KUBE_TUI_TOKEN", None)
        self.args = args
        self.popen = subprocess.Popen([sys.executable, "-m", "tui.cli", *args], cwd=ROOT, env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        assert self.popen.stdout is not None
        os.set_blocking(self.popen.stdout.fileno(), False)
        self.text = ""

    def read(self) -> str:
        assert self.popen.stdout is not None
        with contextlib.suppress(BlockingIOError, TypeError):
            chunk = self.popen.stdout.read()
            if chunk:
                self.text += chunk
        return self.text

    def wait_for(self, needle: str, limit: float) -> None:
        deadline = time.monotonic() + limit
        while needle not in self.read():
            if self.popen.poll() is not None:
                raise RuntimeError(f"`kube-tui {' '.join(self.args[:2])}` exited before {needle!r}:\n{self.read()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"`kube-tui {' '.join(self.args[:2])}` did not print {needle!r} in {limit:g}s:\n{self.read()}")
            time.sleep(0.05)

    def stop(self, limit: float = 30.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(limit)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(5)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


@contextlib.contextmanager
def _control_plane(tmp: Path, *, components: bool = True, lease: float = 40.0,
                   nodes: int = 1) -> Iterator[tuple[_Proc, str, str]]:
    """A `kube-tui control` process on a free port; yields (process, address, admin token)."""
    address = f"tcp://127.0.0.1:{stable_port_pair()}"
    cluster = tmp / "cluster.yaml"
    cluster.write_text(f"apiVersion: kube-tui/v1\nkind: Cluster\ntimings:\n  leaseDuration: {lease:g}\n")
    args = ["control", "--listen", address, "--data-dir", str(tmp / "data"), "--timings", str(cluster)]
    if nodes > 4096:  # more than a default cluster CIDR's /24s: the whole pod space
        args += ["--cluster-cidr", "127.128.0.0/9"]
    if not components:
        args += ["--no-scheduler", "--no-controllers"]
    proc = _Proc(args, tmp / "home")
    try:
        proc.wait_for("To add a node", 30)
        admin = json.loads((tmp / "data" / "credentials.json").read_text())["admin"]
        yield proc, address, admin
    finally:
        proc.stop()


def _sample(pids: dict[str, int], seconds: float) -> dict[str, dict[str, float]]:
    """CPU (% of one core) over `seconds`, and RSS (MiB) at the end, of each process tree."""
    procs = {name: psutil.Process(pid) for name, pid in pids.items()}

    def cpu(p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    start = {name: cpu(p) for name, p in procs.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - t0
    out = {}
    for name, p in procs.items():
        out[name] = {"cpu_percent": round((cpu(p) - start[name]) / elapsed * 100, 1),
                     "rss_mib": round(p.memory_info().rss / 2**20, 1)}
    return out


# -- bench nodes --------------------------------------------------------------------------------

def bench_nodes(count: int = 5000, seconds: float = 60.0, *, lease: float = 40.0, components: bool = True,
                tmp_dir: str | None = None) -> dict[str, Any]:
    """A control plane and a pool of `count` simulated nodes renewing leases every lease/4 seconds.

    Returns the registration time and, at steady state over `seconds`, CPU % of one core and RSS of
    the control plane process and of the pool process.
    """
    with tempfile.TemporaryDirectory(prefix="kube-tui-bench-", dir=tmp_dir) as d:
        tmp = Path(d)
        with _control_plane(tmp, components=components, lease=lease, nodes=count) as (control, address, admin):
            idle = _sample({"control": control.popen.pid}, min(3.0, seconds))["control"]
            t0 = time.monotonic()
            pool = _Proc(["nodes", "--count", str(count), "--lease-duration", f"{lease:g}", "--server", address,
                          "--token", admin], tmp / "home")
            try:
                pool.wait_for("simulated nodes ready", max(120.0, count / 20))
                startup = time.monotonic() - t0
                # One full renewal round first, so the sample is the steady state, not the start.
                time.sleep(lease / 4 + 1)
                usage = _sample({"control": control.popen.pid, "pool": pool.popen.pid}, seconds)
                alive = control.popen.poll() is None and pool.popen.poll() is None
            finally:
                pool.stop()
    return {"nodes": count, "lease_duration_s": lease, "renewals_per_s": round(count / (lease / 4), 1),
            "startup_s": round(startup, 1), "seconds": seconds, "control_idle": idle,
            "control": usage["control"], "pool": usage["pool"], "both_alive": alive}


# -- bench proxy --------------------------------------------------------------------------------

_REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def _read_response(sock: socket.socket, buf: bytearray) -> None:
    """Read one HTTP response (Content-Length framed) from `sock`; leftovers stay in `buf`."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the headers")
        buf += chunk
    head, _, _ = bytes(buf).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    need = len(head) + 4 + length
    while len(buf) < need:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the body")
        buf += chunk
    del buf[:need]


def _measure(targets: list[tuple[str, int]], n: int, keepalive: bool) -> dict[str, float]:
    """Sequential requests: over one kept-alive connection each, or a new connection per request."""
    lat: list[float] = []
    t_all = time.perf_counter()
    if keepalive:
        per = n // len(targets)
        for host, port in targets:
            with socket.create_connection((host, port), timeout=5) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = bytearray()
                for _ in range(per):
                    t = time.perf_counter()
                    s.sendall(_REQUEST)
                    _read_response(s, buf)
                    lat.append(time.perf_counter() - t)
    else:
        for i in range(n):
            host, port = targets[i % len(targets)]
            t = time.perf_counter()
            with socket.create_connection((host, port), timeout=5) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.sendall(_REQUEST)
                _read_response(s, bytearray())
            lat.append(time.perf_counter() - t)
    total = time.perf_counter() - t_all
    lat.sort()
    return {"requests": len(lat), "p50_ms": round(statistics.median(lat) * 1000, 3),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 3),
            "req_per_s": round(len(lat) / total, 1)}


async def _setup_proxy_cluster(address: str, admin: str, node: str, port: int) -> tuple[list[str], str]:
    """Two nginx pods on `node`, a selector-less Service and its EndpointSlice; returns (pod IPs, ClusterIP)."""
    client = Client(address, token=admin, identity="bench")
    try:
        await client.connect()
        for name in ("bench-a", "bench-b"):
            await client.create({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [{
                    "name": "nginx", "image": "nginx", "ports": [{"containerPort": port}],
                    "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1}}]}})
        deadline = time.monotonic() + 30
        ips: list[str] = []
        while time.monotonic() < deadline:
            pods = [await client.get("Pod", n) for n in ("bench-a", "bench-b")]
            ips = [p["status"]["podIP"] for p in pods
                   if all(c.get("ready") for c in (p.get("status") or {}).get("containerStatuses") or [{}])]
            if len(ips) == 2:
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError("the nginx pods did not become ready")
        # No selector: the endpoints are ours to write, whatever controllers run.
        svc = await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench", "namespace": "default"},
                                   "spec": {"ports": [{"name": "http", "port": port, "targetPort": port}]}})
        # kube-proxy reads the EndpointSlice (which no mirroring controller may be running to write)
        await client.create({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                             "metadata": {"name": "bench", "namespace": "default",
                                          "labels": {SERVICE_NAME_LABEL: "bench"}},
                             "addressType": "IPv4", "endpoints": [{"addresses": [ip]} for ip in ips],
                             "ports": [{"name": "http", "port": port}]})
        return ips, svc["spec"]["clusterIP"]
    finally:
        await client.close()


def _wait_connectable(host: str, port: int, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                s.sendall(_REQUEST)
                _read_response(s, bytearray())
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def bench_proxy(requests: int = 5000, *, port: int = 8080, tmp_dir: str | None = None) -> dict[str, Any]:
    """Latency and rate of sequential HTTP requests to two nginx pods: direct, and through the ClusterIP.

    Both in one run, kept-alive (the proxy's per-byte cost) and a new connection per request (its
    per-connection cost: accept, pick an endpoint, connect upstream).
    """
    with tempfile.TemporaryDirectory(prefix="kube-tui-bench-", dir=tmp_dir) as d:
        tmp = Path(d)
        with _control_plane(tmp, components=False) as (_control, address, admin):
            node = _Proc(["node", "--name", "bench-node", "--server", address, "--token", admin,
                          "--data-dir", str(tmp / "node")], tmp / "home")
            try:
                node.wait_for("is ready", 30)
                ips, cluster_ip = aio.run(_setup_proxy_cluster(address, admin, "bench-node", port))
                _wait_connectable(cluster_ip, port)
                direct = [(ip, port) for ip in ips]
                proxied = [(cluster_ip, port)]
                _measure(direct, 200, True)  # warm-up
                _measure(proxied, 200, True)
                out: dict[str, Any] = {"requests": requests, "pods": ips, "cluster_ip": cluster_ip}
                for mode, keep in (("keepalive", True), ("new_connection", False)):
                    out[mode] = {"direct": _measure(direct, requests, keep),
                                 "proxy": _measure(proxied * len(direct), requests, keep)}
                    out[mode]["added_p50_ms"] = round(out[mode]["proxy"]["p50_ms"] - out[mode]["direct"]["p50_ms"], 3)
            finally:
                node.stop()
    return out


# -- command line -----------------------------------------------------------------------------------

def _print_nodes(r: dict[str, Any]) -> None:
    print(f"{r['nodes']} simulated nodes, lease {r['lease_duration_s']:g}s ({r['renewals_per_s']:g} renewals/s), "
          f"started in {r['startup_s']}s")
    print(f"control plane idle before:  cpu {r['control_idle']['cpu_percent']:>6}%   rss {r['control_idle']['rss_mib']} MiB")
    print(f"control plane steady state: cpu {r['control']['cpu_percent']:>6}%   rss {r['control']['rss_mib']} MiB"
          f"   (over {r['seconds']:g}s, % of one core)")
    print(f"node pool steady state:     cpu {r['pool']['cpu_percent']:>6}%   rss {r['pool']['rss_mib']} MiB")
    if not r["both_alive"]:
        print("WARNING: a process exited during the run")


def _print_proxy(r: dict[str, Any]) -> None:
    print(f"{r['requests']} sequential HTTP requests per row; pods {', '.join(r['pods'])}; ClusterIP {r['cluster_ip']}")
    print(f"{'MODE':<16}{'PATH':<8}{'P50 MS':>9}{'P99 MS':>9}{'REQ/S':>10}")
    for mode in ("keepalive", "new_connection"):
        for path in ("direct", "proxy"):
            m = r[mode][path]
            print(f"{mode:<16}{path:<8}{m['p50_ms']:>9.3f}{m['p99_ms']:>9.3f}{m['req_per_s']:>10.1f}")
        print(f"{'':<16}{'added':<8}{r[mode]['added_p50_ms']:>9.3f}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="kube-tui bench", description=__doc__)
    sub = parser.add_subparsers(dest="which", required=True)
    pn = sub.add_parser("nodes", help="control plane CPU/RSS with many heartbeating simulated nodes")
    pn.add_argument("--count", type=int, default=5000)
    pn.add_argument("--seconds", type=float, default=60.0, help="length of the steady-state sample")
    pn.add_argument("--lease-duration", type=float, default=40.0, help="renewals every lease/4 seconds (default 40)")
    pn.add_argument("--bare", action="store_true", help="control plane without scheduler and controllers")
    pn.add_argument("--json", action="store_true")
    pp = sub.add_parser("proxy", help="HTTP latency through a ClusterIP against straight to the pods")
    pp.add_argument("--requests", type=int, default=5000)
    pp.add_argument("--port", type=int, default=8080)
    pp.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.which == "nodes":
        r = bench_nodes(args.count, args.seconds, lease=args.lease_duration, components=not args.bare)
        print(json.dumps(r, indent=1)) if args.json else _print_nodes(r)
        return 0 if r["both_alive"] else 1
    r = bench_proxy(args.requests, port=args.port)
    print(json.dumps(r, indent=1)) if args.json else _print_proxy(r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
