"""The ingress controller: an HTTP reverse proxy for the Ingresses of kube-tui's class.

It watches Ingresses, IngressClasses, Services and Endpoints through informers, listens on one address, and
sends each request to a ready endpoint of the Service that the best matching Ingress path names (round robin),
by the rules of control/api/ingress.py. No rule and no default backend: 404 `default backend - 404`, as
ingress-nginx's default backend answers; a Service without ready endpoints (or missing): 503. It writes that
address into each Ingress's status.loadBalancer, which `kubectl get ingress` shows as ADDRESS.

HTTP/1.1: a client connection is kept alive across requests; each request gets its own upstream connection;
bodies stream through either way (Content-Length, chunked, or to the upstream's close). Not done: TLS
termination (spec.tls is stored and shown, not served), Upgrade (WebSocket), HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from control.api import ingress as ingresses
from control.client import Client
from control.errors import ApiError
from control.informer import Informer, key_of
from control.workqueue import WorkQueue, run_workers

log = logging.getLogger("kube_tui.ingress")

MAX_HEAD = 64 * 1024
CHUNK = 64 * 1024
CONNECT_TIMEOUT = 2.0
IDLE_TIMEOUT = 60.0  # a kept-alive client connection with no next request is closed after this
# Hop-by-hop headers (RFC 9110 7.6.1): for one connection, never passed on.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"})
NOT_FOUND = b"default backend - 404"
UNAVAILABLE = b"503 Service Temporarily Unavailable"
BAD_GATEWAY = b"502 Bad Gateway"


class BadRequest(Exception):
    pass


@dataclass
class Head:
    """A request's or response's first line and headers, in order, names as sent."""

    first: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def tokens(self, name: str) -> set[str]:
        """A comma-separated header's values, lower case (Connection: keep-alive, Upgrade)."""
        return {t.strip().lower() for k, v in self.headers if k.lower() == name.lower() for t in v.split(",") if t.strip()}


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """The next message head, None at a clean end of the connection (EOF before any byte)."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise BadRequest("the connection ended inside a message head") from None
    except asyncio.LimitOverrunError:
        raise BadRequest("message head too large") from None
    lines = raw.decode("latin-1").split("\r\n")
    while lines and not lines[0]:  # RFC 9112 2.2: empty lines before a request line are ignored
        lines.pop(0)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(f"malformed header line {line[:40]!r}")
        headers.append((name, value.strip()))
    return Head(lines[0] if lines else "", headers)


def framing(head: Head) -> tuple[str, int]:
    """How a message's body is delimited: ("chunked", 0), ("length", N) or ("none", 0)."""
    if "chunked" in head.tokens("transfer-encoding"):
        return "chunked", 0
    length = head.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise BadRequest(f"bad Content-Length {length!r}")
        return "length", int(length)
    return "none", 0


async def copy_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, kind: str, length: int) -> None:
    """Stream one body as it came (chunked bytes stay chunked); writer None: read and drop it."""
    if kind == "length":
        while length > 0:
            data = await reader.read(min(CHUNK, length))
            if not data:
                raise asyncio.IncompleteReadError(b"", length)
            length -= len(data)
            if writer is not None:
                writer.write(data)
                await writer.drain()
    elif kind == "chunked":
        while True:
            line = await reader.readuntil(b"\r\n")
            if writer is not None:
                writer.write(line)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size == 0:
                while True:  # the trailer section, to its empty line
                    trailer = await reader.readuntil(b"\r\n")
                    if writer is not None:
                        writer.write(trailer)
                    if trailer == b"\r\n":
                        break
                break
            await copy_body(reader, writer, "length", size + 2)
        if writer is not None:
            await writer.drain()
    elif kind == "close":
        while data := await reader.read(CHUNK):
            if writer is not None:
                writer.write(data)
                await writer.drain()


def _forwarded(head: Head, client_ip: str, host: str) -> list[tuple[str, str]]:
    """The request's end-to-end headers, with what ingress-nginx adds about the client."""
    drop = HOP_BY_HOP | head.tokens("connection") | {"expect", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
                                                      "x-real-ip"}
    kept = [(k, v) for k, v in head.headers if k.lower() not in drop]
    prior = head.get("x-forwarded-for")
    return [*kept, ("X-Real-IP", client_ip), ("X-Forwarded-For", f"{prior}, {client_ip}" if prior else client_ip),
            ("X-Forwarded-Host", host), ("X-Forwarded-Proto", "http")]


def _encode(first: str, headers: list[tuple[str, str]]) -> bytes:
    return (first + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")


class IngressController:
    """Serves the Ingresses of the classes whose spec.controller is kube-tui's, on one HOST:PORT."""

    def __init__(self, client: Client, listen: str, *, controller: str = ingresses.CONTROLLER) -> None:
        host, _, port = listen.rpartition(":")
        self.host, self.port = host or "127.0.0.1", int(port)
        self.client = client
        self.controller = controller
        self.ingresses = Informer(client, "Ingress")
        self.classes = Informer(client, "IngressClass")
        self.services = Informer(client, "Service")
        self.endpoints = Informer(client, "Endpoints")
        self.queue: WorkQueue[tuple[str, str]] = WorkQueue("ingress-status", base_delay=0.2, max_delay=10.0)
        self.requests = 0
        self._rr: dict[tuple[str, str, str], itertools.count[int]] = {}
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._conns: set[asyncio.Task[Any]] = set()

    @property
    def address(self) -> str:
        """What goes into status.loadBalancer.ingress[].ip: the listening host (loopback for a wildcard bind)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    async def bind(self) -> None:
        """Listen (OSError when the address is taken); requests wait for the caches before they are routed."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=MAX_HEAD, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]  # port 0: the one the kernel chose

    async def start(self) -> None:
        self.ingresses.add_handler(self._on_ingress, lambda _old, new: self._on_ingress(new))
        on_class = lambda *_: self._resync()  # noqa: E731 - a class changes which Ingresses are ours
        self.classes.add_handler(on_class, on_class, on_class)
        for inf in (self.ingresses, self.classes, self.services, self.endpoints):
            await inf.start()
        self._tasks.append(asyncio.create_task(run_workers(self.queue, self._sync_status, 1), name="ingress-status"))

    async def wait_synced(self, timeout: float = 10.0) -> None:
        for inf in (self.ingresses, self.classes, self.services, self.endpoints):
            await inf.wait_synced(timeout)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in [*self._tasks, *self._conns]:
            t.cancel()
        await asyncio.gather(*self._tasks, *self._conns, return_exceptions=True)
        self.queue.shutdown()
        for inf in (self.ingresses, self.classes, self.services, self.endpoints):
            await inf.stop()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    # -- which Ingresses, and their status -------------------------------------------------------------
    def serves(self, ing: Mapping[str, Any]) -> bool:
        """Of one of our classes by name or annotation; with none named, ours when our class is the default."""
        name = ingresses.class_of(ing)
        if name:
            ic = self.classes.get(None, name)
            return ic is not None and (ic.get("spec") or {}).get("controller") == self.controller
        default = ingresses.default_class(self.classes.list())
        return default is not None and (default.get("spec") or {}).get("controller") == self.controller

    def served(self) -> list[dict]:
        return [i for i in self.ingresses.list() if self.serves(i)]

    def _on_ingress(self, ing: dict) -> None:
        self.queue.add(key_of(ing))

    def _resync(self) -> None:
        for ing in self.ingresses.list():
            self.queue.add(key_of(ing))

    def wanted_status(self) -> list[dict[str, Any]]:
        return [{"ip": self.address, "ports": [{"port": self.port, "protocol": "TCP"}]}]

    async def _sync_status(self, key: tuple[str, str]) -> None:
        ing = self.ingresses.get(*key)
        if ing is None or not self.serves(ing):
            return
        lb = (ing.get("status") or {}).get("loadBalancer") or {}
        if lb.get("ingress") == self.wanted_status():
            return
        new = {**ing, "status": {**(ing.get("status") or {}), "loadBalancer": {"ingress": self.wanted_status()}}}
        try:
            await self.client.update_status(new)
        except ApiError as e:
            if e.code == 404:
                return
            raise  # a conflict: retried with back-off, from the cache's newer copy by then

    # -- HTTP -----------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:  # cancelled on stop, as a connection may idle for a minute
            self._conns.add(task)
            task.add_done_callback(self._conns.discard)
        peer = writer.get_extra_info("peername")
        client_ip = str(peer[0]) if peer else ""
        try:
            while True:
                head = await asyncio.wait_for(read_head(reader), IDLE_TIMEOUT)
                if head is None or not await self._handle(head, reader, writer, client_ip):
                    break
        except BadRequest as e:
            with contextlib.suppress(ConnectionError):
                await self._answer(writer, 400, "Bad Request", f"400 Bad Request: {e}".encode(), keep=False)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, writer: asyncio.StreamWriter, code: int, reason: str, body: bytes, *, keep: bool) -> None:
        writer.write(_encode(f"HTTP/1.1 {code} {reason}", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Connection", "keep-alive" if keep else "close")]) + body)
        await writer.drain()

    async def _handle(self, head: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client_ip: str) -> bool:
        """One request, answered; whether the client connection goes on."""
        parts = head.first.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(f"malformed request line {head.first[:60]!r}")
        method, target, version = parts
        keep = version == "HTTP/1.1" and "close" not in head.tokens("connection")
        body = framing(head)
        self.requests += 1
        host = ingresses.request_host(head.get("host") or "")
        if target.startswith(("http://", "https://")):  # absolute form: its authority is the host
            authority, _, rest = target.partition("://")[2].partition("/")
            host, target = ingresses.request_host(authority), "/" + rest
        path = target.split("?", 1)[0].split("#", 1)[0] or "/"
        if "100-continue" in head.tokens("expect") and body[0] != "none":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # the body is read here, before any upstream answers
        route = ingresses.route(self.served(), host, path) if self.ingresses.synced else None
        addrs = self._backend_addresses(route) if route is not None else []
        if route is None or not addrs:
            await copy_body(reader, None, *body)
            if route is None:
                await self._answer(writer, 404, "Not Found", NOT_FOUND, keep=keep)
            else:
                await self._answer(writer, 503, "Service Temporarily Unavailable", UNAVAILABLE, keep=keep)
            return keep
        up = await self._connect(route, addrs)
        if up is None:
            await copy_body(reader, None, *body)
            await self._answer(writer, 502, "Bad Gateway", BAD_GATEWAY, keep=keep)
            return keep
        up_reader, up_writer = up
        try:
            headers = _forwarded(head, client_ip, host)
            if body[0] == "chunked":
                headers.append(("Transfer-Encoding", "chunked"))
            up_writer.write(_encode(f"{method} {target} HTTP/1.1", [*headers, ("Connection", "close")]))
            try:
                await copy_body(reader, up_writer, *body)
            except ConnectionError:
                # The upstream answered before it read the whole body and closed (nginx does for a 405): its
                # answer may be waiting all the same. What is left of the client's body is not read, so the
                # client's connection ends after this answer.
                keep = False
            try:
                response = await read_head(up_reader)
            except ConnectionError:
                response = None  # reset before it answered: 502 below
            while response is not None and response.first.split(" ")[1:2] in (["100"], ["102"], ["103"]):
                response = await read_head(up_reader)  # interim answers: the client's 100 was sent above
            if response is None:
                await self._answer(writer, 502, "Bad Gateway", BAD_GATEWAY, keep=keep)
                return keep
            status = response.first.split(" ")[1] if len(response.first.split(" ")) > 1 else ""
            kind, length = framing(response)
            if method == "HEAD" or status in ("204", "304"):
                kind, length = "none", 0
            elif kind == "none":
                kind, keep = "close", False  # delimited by the upstream's close: so is the client's
            out = [(k, v) for k, v in response.headers if k.lower() not in HOP_BY_HOP | response.tokens("connection")]
            if kind == "chunked":
                out.append(("Transfer-Encoding", "chunked"))
            out.append(("Connection", "keep-alive" if keep else "close"))
            writer.write(_encode(response.first, out))
            await copy_body(up_reader, writer, kind, length)
            await writer.drain()
            return keep
        finally:
            up_writer.close()

    def _backend_addresses(self, route: ingresses.Route) -> list[tuple[str, int]]:
        service = route.backend.get("service") if isinstance(route.backend, Mapping) else None
        if not service:
            return []  # a resource backend: nothing kube-tui can send HTTP to
        svc = self.services.get(route.namespace, str(service.get("name") or ""))
        if svc is None:
            return []
        port_name = ingresses.service_port_name(svc, service.get("port") or {})
        if port_name is None:
            return []
        return ingresses.ready_addresses(self.endpoints.get(route.namespace, str(service.get("name"))), port_name)

    async def _connect(self, route: ingresses.Route, addrs: list[tuple[str, int]]
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the next endpoint in turn; one that refuses moves on to the following one."""
        service = route.backend.get("service") or {}
        rr = self._rr.setdefault((route.namespace, str(service.get("name")), str(service.get("port"))), itertools.count())
        start = next(rr) % len(addrs)
        for ip, port in addrs[start:] + addrs[:start]:
            try:
                return await asyncio.wait_for(asyncio.open_connection(ip, port, limit=MAX_HEAD), CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as e:
                log.info("ingress: %s/%s: endpoint %s:%d: %s", route.namespace, route.ingress, ip, port, e)
        return None
