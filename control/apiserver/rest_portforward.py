"""kubectl port-forward: kube-apiserver's pods/portforward over SPDY/3.1, bridged to port-forward sessions
on the pod's kubelet (the sessions `kube-tui port-forward` streams: control/api/remotecommand.py).

kubectl upgrades the request to SPDY/3.1 (protocol portforward.k8s.io) and, for each local connection,
opens two streams whose headers name the pod port and a request id: an error stream (what went wrong,
as text, then closed) and a data stream (the connection's bytes both ways; a FIN ends a direction).
Only what that needs of SPDY/3.1 is here: SYN_STREAM answered by SYN_REPLY, DATA, RST_STREAM, PING
echoed, GOAWAY, SETTINGS and WINDOW_UPDATE read and ignored (kubectl's spdystream does not use flow
control either). Header blocks are zlib streams primed with SPDY/3's dictionary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from control.api import remotecommand
from control.errors import ApiError

log = logging.getLogger("kube_tui.apiserver.rest")

PROTOCOL = "portforward.k8s.io"
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
MAX_FRAME = 1 << 24  # a frame's length field is 24 bits
DATA_CHUNK = 32 * 1024  # bytes of pod output per DATA frame
POLL_WAIT = 1.0
# bytes from kubectl held for one connection whose pod side is slow to take them: more and the tunnel
# stops reading frames until it drains (spdystream's pipes block the same way), so memory stays bounded
INPUT_BACKLOG = 4 << 20

Call = Callable[[str, dict], Awaitable[tuple[int, Any]]]

# SPDY/3's header compression dictionary (draft 3, section 2.6.10.1): length-prefixed header names
# and common values, then a run of common text.
_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges "
    "age allow authorization cache-control connection content-base content-encoding content-language "
    "content-length content-location content-md5 content-range content-type date etag expect expires from "
    "host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified location "
    "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after server te trailer "
    "transfer-encoding upgrade user-agent vary via warning www-authenticate method get status"
).split() + ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">I", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()


class Frames:
    """SPDY/3.1 frames off an upgraded connection, and onto it."""

    def __init__(self, reader: asyncio.StreamReader | Any, transport: asyncio.Transport) -> None:
        self.reader, self.transport = reader, transport
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)
        self.deflate = zlib.compressobj(zdict=DICTIONARY)

    async def read(self) -> tuple[bool, int, int, bytes]:
        """(control?, type or stream id, flags, payload)."""
        head = await self.reader.readexactly(8)
        word, flags_len = struct.unpack(">II", head)
        flags, length = flags_len >> 24, flags_len & 0xFFFFFF
        payload = await self.reader.readexactly(length) if length else b""
        if word & 0x80000000:
            return True, word & 0xFFFF, flags, payload
        return False, word & 0x7FFFFFFF, flags, payload

    def headers(self, block: bytes) -> dict[str, str]:
        raw = self.inflate.decompress(block) + self.inflate.flush(zlib.Z_SYNC_FLUSH)
        (count,), pos, out = struct.unpack_from(">I", raw), 4, {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", raw, pos)
            name = raw[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
            (n,) = struct.unpack_from(">I", raw, pos)
            out[name.lower()] = raw[pos + 4:pos + 4 + n].decode()
            pos += 4 + n
        return out

    def _block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode() for k, v in headers.items())
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)

    def control(self, kind: int, payload: bytes, flags: int = 0) -> None:
        self.transport.write(struct.pack(">HHI", 0x8003, kind, (flags << 24) | len(payload)) + payload)

    def reply(self, stream: int, headers: dict[str, str]) -> None:
        self.control(SYN_REPLY, struct.pack(">I", stream) + self._block(headers))

    def data(self, stream: int, data: bytes, fin: bool = False) -> None:
        self.transport.write(struct.pack(">II", stream, ((FLAG_FIN if fin else 0) << 24) | len(data)) + data)

    def reset(self, stream: int, status: int = 5) -> None:  # 5: CANCEL
        self.control(RST_STREAM, struct.pack(">II", stream, status))


async def serve(request: web.Request, call: Call, namespace: str, name: str) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() != "spdy/3.1":
        raise ApiError(400, "BadRequest", "port-forward needs an upgrade to SPDY/3.1 (kubectl port-forward); "
                       "or use `kube-tui port-forward POD LOCAL:REMOTE`")
    if PROTOCOL not in request.headers.getall("X-Stream-Protocol-Version", []):
        raise ApiError(400, "BadRequest", f"port-forward: the only stream protocol served is {PROTOCOL}")
    await call("get", {"kind": "Pod", "namespace": namespace, "name": name})  # a missing pod: 404 before the upgrade
    # aiohttp upgrades only to websocket or tcp: the bytes after this request are taken over by hand
    # (as its WebSocketResponse takes them), so its HTTP parser never sees SPDY frames
    incoming = _Upgraded()
    request.protocol.set_parser(incoming)  # type: ignore[arg-type]
    resp = web.StreamResponse(status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                                   "X-Stream-Protocol-Version": PROTOCOL})
    resp.force_close()  # the connection is the tunnel's: no HTTP request follows on it
    await resp.prepare(request)
    transport = request.transport
    assert transport is not None
    await Tunnel(Frames(incoming.reader, transport), call, namespace, name).run()
    return resp


class _Upgraded:
    """What aiohttp's protocol feeds the bytes of an upgraded connection to (its set_parser's shape)."""

    def __init__(self) -> None:
        self.reader = asyncio.StreamReader(limit=MAX_FRAME)

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self.reader.feed_eof()


class Tunnel:
    """One kubectl port-forward: each pair of streams (error, data) with one request id is one connection
    to a pod port, carried by one session on the pod's kubelet."""

    def __init__(self, frames: Frames, call: Call, namespace: str, name: str) -> None:
        self.frames, self.call, self.ns, self.name = frames, call, namespace, name
        self.errors: dict[str, int] = {}  # request id -> its error stream
        self.conns: dict[int, Connection] = {}  # data stream id -> its connection

    async def run(self) -> None:
        try:
            while True:
                control, kind, flags, payload = await self.frames.read()
                if not control:
                    conn = self.conns.get(kind)
                    if conn is not None:
                        conn.input.add(payload, bool(flags & FLAG_FIN))
                        await conn.input.room.wait()  # its pod side is behind: stop reading, TCP holds the rest
                elif kind == SYN_STREAM:
                    self._open(payload)
                elif kind == RST_STREAM:
                    (stream,) = struct.unpack_from(">I", payload)
                    conn = self.conns.pop(stream & 0x7FFFFFFF, None)
                    if conn is not None:
                        conn.close()
                elif kind == PING:
                    self.frames.control(PING, payload)
                elif kind == GOAWAY:
                    return
        except (asyncio.IncompleteReadError, ConnectionResetError, zlib.error, struct.error, ValueError):
            return  # the client is gone (or sent garbage): every connection ends
        finally:
            for conn in self.conns.values():
                conn.close()
            await asyncio.gather(*(c.task for c in self.conns.values() if c.task), return_exceptions=True)

    def _open(self, payload: bytes) -> None:
        (stream,) = struct.unpack_from(">I", payload)
        stream &= 0x7FFFFFFF
        headers = self.frames.headers(payload[10:])
        self.frames.reply(stream, {})
        kind, request_id = headers.get("streamtype"), headers.get("requestid", "")
        if kind == "error":
            self.errors[request_id] = stream
        elif kind == "data":
            conn = Connection(self, stream, self.errors.pop(request_id, 0), headers.get("port", ""))
            self.conns[stream] = conn
            conn.task = asyncio.ensure_future(conn.run())


class Connection:
    """One forwarded connection: the client's bytes to the pod port, the pod's back, until either ends."""

    def __init__(self, tunnel: Tunnel, stream: int, error_stream: int, port: str) -> None:
        self.tunnel, self.stream, self.error_stream, self.port = tunnel, stream, error_stream, port
        self.sid = ""
        self.input = remotecommand.InputPump(INPUT_BACKLOG, self._send)
        self.closed = False
        self.task: asyncio.Future | None = None

    def close(self) -> None:
        self.closed = True
        self.input.room.set()  # nothing waits on a connection that is gone
        if self.task is not None:
            self.task.cancel()

    async def _stream(self, sid: str, **fields: Any) -> dict:
        body = dict(name=self.tunnel.name, namespace=self.tunnel.ns, session=sid, **fields)
        return (await self.tunnel.call("portforward", body))[1]  # type: ignore[no-any-return]

    async def run(self) -> None:
        frames = self.tunnel.frames
        sid = ""
        try:
            if not self.port.isdecimal():
                raise ApiError(400, "BadRequest", f'invalid port "{self.port}"')
            opened = (await self.tunnel.call("portforward", {"name": self.tunnel.name, "namespace": self.tunnel.ns,
                                                             "port": int(self.port)}))[1]
            sid = self.sid = opened["session"]
            sender = asyncio.ensure_future(self.input.run())
            try:
                while True:
                    answer = await self._stream(sid, read=True, wait=POLL_WAIT)
                    out = answer.get("output") or b""
                    for i in range(0, len(out), DATA_CHUNK):
                        frames.data(self.stream, out[i:i + DATA_CHUNK])
                    if answer.get("exitCode") is not None:  # the pod side closed the connection
                        break
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, ApiError):
                    await sender
            frames.data(self.stream, b"", fin=True)
        except ApiError as e:
            # kubectl prints it ("an error occurred forwarding L -> R: <message>") and goes on serving
            if self.error_stream:
                frames.data(self.error_stream, e.message.encode(), fin=True)
                self.error_stream = 0
            frames.data(self.stream, b"", fin=True)
        except asyncio.CancelledError:
            if sid:
                with contextlib.suppress(ApiError):
                    await asyncio.shield(self._stream(sid, close=True))
            raise
        finally:
            self.input.room.set()
            if self.error_stream and not self.closed:  # no error: the error stream ends empty
                with contextlib.suppress(Exception):
                    frames.data(self.error_stream, b"", fin=True)
            self.tunnel.conns.pop(self.stream, None)

    async def _send(self, chunk: bytes, last: bool) -> int:
        answer = await self._stream(self.sid, input=chunk, eof=last)
        return int(answer.get("accepted", len(chunk)))
