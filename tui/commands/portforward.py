"""`kube-tui port-forward TYPE/NAME [LOCAL:]REMOTE... [--address ADDR]`: local ports to a pod's, as kubectl port-forward.

TYPE/NAME is a pod (`NAME`, `pod/NAME`), or a Service, Deployment or ReplicaSet, for which one of its
running pods is chosen, as kubectl chooses. REMOTE is a port number or name: of the container for a
pod, of the Service for a Service (forwarded to its targetPort). `8080:80` listens on 8080, `80` on 80,
`:80` on a free port. Each local connection goes through the API server to the pod's kubelet, which
connects to the pod's port (control/api/remotecommand.py: one session per connection).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from control.api.remotecommand import INPUT_MAX
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client
from tui.commands.podselect import choose_pod, parse_target

POLL_WAIT = 2.0  # seconds one request for the pod's answer waits on the node
POD_CHECK = 2.0  # seconds between checks that the pod still runs


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("target", metavar="TYPE/NAME", help="pod/NAME (or NAME), svc/NAME, deploy/NAME, rs/NAME, ...")
    p.add_argument("ports", nargs="+", metavar="[LOCAL:]REMOTE", help="8080:80, 80 (the same port) or :80 (a free one)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("--address", default="localhost",
                   help="local address to listen on (default localhost: 127.0.0.1)")
    add_client_args(p)


SAME = -1  # the local port of a spec without one: the remote port's number


def parse_ports(specs: list[str]) -> list[tuple[int, str]]:
    """[(local port: 0 for a free one, SAME for the remote's number; remote port or name)]; ValueError in
    kubectl's words."""
    out = []
    for spec in specs:
        local, _, remote = spec.rpartition(":") if ":" in spec else ("", "", spec)
        if not remote or (remote.isdigit() and not 0 < int(remote) < 65536):
            raise ValueError(f"error: remote port must be > 0 and < 65536 in {spec!r}")
        if local and not (local.isdigit() and 0 <= int(local) < 65536):
            raise ValueError(f'error: invalid local port "{local}" in {spec!r}: a number from 0 (a free one) to 65535')
        out.append((int(local) if local else (SAME if ":" not in spec else 0), remote))
    return out


def _container_port(pod: dict, port: str | int) -> int:
    """A container port of the pod by number or name (ValueError naming what the pod has)."""
    if isinstance(port, int) or port.isdigit():
        return int(port)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == port:
                return int(p["containerPort"])
    raise ValueError(f'error: Pod \'{pod["metadata"]["name"]}\' does not have a named port \'{port}\'')


def _remote_port(pod: dict, service: dict | None, port: str) -> int:
    """The pod's port for REMOTE: a Service port is translated to its targetPort, as kubectl does."""
    if service is None:
        return _container_port(pod, port)
    for sp in (service.get("spec") or {}).get("ports") or []:
        if str(sp.get("port")) == port or sp.get("name") == port:
            return _container_port(pod, sp.get("targetPort", sp["port"]))
    raise ValueError(f"error: Service {service['metadata']['name']} does not have a service port {port}")


class Forwarder:
    def __init__(self, client: Client, pod: str, ns: str) -> None:
        self.client = client
        self.pod = pod
        self.ns = ns
        self.lost = asyncio.Event()  # the pod is gone: kubectl ends then ("lost connection to pod")
        self.handlers: set[asyncio.Task] = set()

    async def handle(self, remote: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One local connection, to its end; never ends cancelled (Ctrl-C waits for it to close its session)."""
        me = asyncio.current_task()
        if me is not None:
            self.handlers.add(me)
        local = writer.get_extra_info("sockname")[1]  # the port this listener got (asked for 0: a free one)
        print(f"Handling connection for {local}", flush=True)
        sid = None
        clean = False
        parts: list[asyncio.Future] = []
        try:
            sid = (await self.client.port_forward_open(self.pod, remote, self.ns))["session"]
            parts = [asyncio.ensure_future(self._down(sid, writer)), asyncio.ensure_future(self._up(sid, reader)),
                     asyncio.ensure_future(self.client.keep_session(self.pod, sid, self.ns, verb="portforward"))]
            down, up, _ = parts
            # Until the pod closed its side and all of it came back; the first failure of either way ends it.
            waiting = {down, up}
            while down in waiting:
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for part in done:
                    part.result()  # raises the failure
            clean = True
        except ApiError as e:
            print(f"error: an error occurred forwarding {local} -> {remote}: {e.message}", file=sys.stderr, flush=True)
            if e.code == 404 and f'pods "{self.pod}" not found' in e.message:
                self.lost.set()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the local client went away, or we are stopping: the session is closed below
        finally:
            for part in parts:
                part.cancel()
            if sid is not None and not clean:
                with contextlib.suppress(ApiError, TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(self.client.exec_stream(self.pod, sid, self.ns, close=True,
                                                                   verb="portforward"), 5.0)
            if clean:
                writer.close()
            else:
                writer.transport.abort()  # a reset, so a cut-off answer does not look like a whole one
            with contextlib.suppress(ConnectionError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 2.0)
            if me is not None:
                self.handlers.discard(me)

    async def _up(self, sid: str, reader: asyncio.StreamReader) -> None:
        """What the local client sends, to the pod; its end as a half close."""
        while True:
            data = await reader.read(INPUT_MAX)
            eof = not data
            while True:
                r = await self.client.exec_stream(self.pod, sid, self.ns, input=data, eof=eof, verb="portforward")
                data = data[int(r.get("accepted", len(data))):]
                if not data:
                    break
            if eof:
                return

    async def _down(self, sid: str, writer: asyncio.StreamWriter) -> None:
        """What the pod answers, to the local client, until the pod closes its side."""
        while True:
            r = await self.client.exec_stream(self.pod, sid, self.ns, read=True, wait=POLL_WAIT, verb="portforward")
            if r.get("output"):
                writer.write(r["output"])
                await writer.drain()
            if r.get("exitCode") is not None:
                return

    async def watch_pod(self) -> None:
        """As kubectl: the forward ends ("lost connection to pod") once its pod is gone or no longer runs."""
        while not self.lost.is_set():
            await asyncio.sleep(POD_CHECK)
            try:
                pod = await self.client.get("Pod", self.pod, self.ns)
            except ApiError as e:
                if e.code == 404:
                    self.lost.set()
                continue
            if (pod.get("status") or {}).get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
                self.lost.set()

    async def stop(self) -> None:
        """End every connection, each closing its session first."""
        for task in list(self.handlers):
            task.cancel()
        if self.handlers:
            await asyncio.wait(list(self.handlers), timeout=10.0)


async def forward(client: Client, args: argparse.Namespace, ports: list[tuple[int, str]]) -> int:
    try:
        kind, name = parse_target(args.target)
        try:
            pod, obj, _ = await choose_pod(client, kind, name, args.namespace, running_only=True)
        except ValueError:
            raise ValueError("error: unable to forward port because pod is not running. Current status="
                             f"no running pod of {args.target}") from None
        service = obj if kind == "Service" else None
        pairs = []
        for local, remote in ports:
            number = _remote_port(pod, service, remote)
            # `kube-tui port-forward svc/x 8000` listens on 8000, the Service's port, as kubectl does
            if local == SAME:
                local = int(remote) if remote.isdigit() else number
            pairs.append((local, number))
    except ValueError as e:
        return fail(str(e))
    if (pod.get("status") or {}).get("phase") != "Running":
        return fail(f"error: unable to forward port because pod is not running. Current status="
                    f"{(pod.get('status') or {}).get('phase', 'Unknown')}")
    forwarder = Forwarder(client, pod["metadata"]["name"], args.namespace)
    host = "127.0.0.1" if args.address == "localhost" else args.address
    servers = []
    try:
        for local, remote in pairs:
            try:
                server = await asyncio.start_server(
                    lambda r, w, remote=remote: forwarder.handle(remote, r, w), host, local)
            except OSError as e:
                return fail(f"error: unable to listen on port {local or remote}: {e.strerror} ({host}:{local})")
            servers.append(server)
            bound = server.sockets[0].getsockname()[1]
            print(f"Forwarding from {host}:{bound} -> {remote}", flush=True)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, stop.set)
        try:
            stopping = asyncio.ensure_future(stop.wait())
            lost = asyncio.ensure_future(forwarder.lost.wait())
            watching = asyncio.ensure_future(forwarder.watch_pod())
            await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
            for t in (stopping, lost, watching):
                t.cancel()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        if forwarder.lost.is_set():
            return fail("error: lost connection to pod")
        return 0
    finally:
        for server in servers:
            server.close()
        await forwarder.stop()


def run(args: argparse.Namespace) -> int:
    try:
        ports = parse_ports(args.ports)
    except ValueError as e:
        return fail(str(e))
    result = with_client(args, lambda c: forward(c, args, ports))
    return result if isinstance(result, int) else 0
