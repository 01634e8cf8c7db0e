"""The connecting ends of ZeroMQ's SUB and DEALER sockets, speaking ZMTP 3.0 on the event loop's own TCP connection.

libzmq does all socket I/O on an I/O thread of its own: every message wakes that thread for the TCP
data, and then the event loop's thread through libzmq's mailbox (a send wakes the I/O thread too).
On a small machine each of those wake-ups costs more CPU than reading and decoding the message. Here
the event loop reads and writes the TCP socket itself, so a message costs one wake-up. The API
server's side is untouched: libzmq's ROUTER and XPUB see ordinary DEALER and SUB peers (ZMTP 3.0,
https://rfc.zeromq.org/spec/23/) with the NULL or PLAIN mechanism (https://rfc.zeromq.org/spec/24/).
CURVE, and any transport but tcp://, stay with libzmq's sockets.

Like libzmq's sockets they reconnect by itself (the interval doubling up to a maximum), and drop a
connection whose frames break the protocol or the size limit. A Subscriber resends its
subscriptions on every new connection (what went missing meanwhile is the informer's business: the
topics are sequenced); a Dealer holds what is sent while it has no connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

log = logging.getLogger("kube_tui.zmtp")

GREETING_SIZE = 64
_MORE, _LONG, _COMMAND = 0x01, 0x02, 0x04
HANDSHAKE_TIMEOUT = 10.0  # seconds; libzmq's ZMQ_HANDSHAKE_IVL is 30


class ProtocolError(Exception):
    pass


def speaks(address: str) -> bool:
    """True for the endpoints this module can reach (tcp://host:port, the port a number)."""
    host, _, port = address[len("tcp://"):].rpartition(":")
    return address.startswith("tcp://") and bool(host) and port.isdigit()


def split_address(address: str) -> tuple[str, int]:
    """tcp://host:port (or tcp://[v6]:port) as (host, port)."""
    host, _, port = address[len("tcp://"):].rpartition(":")
    return host.strip("[]"), int(port)


def greeting(mechanism: bytes, as_server: bool = False) -> bytes:
    """Our 64-byte greeting: signature, version 3.0, mechanism, as-server, filler."""
    return (b"\xff" + bytes(8) + b"\x7f" + bytes((3, 0)) + mechanism.ljust(20, b"\x00") + bytes((int(as_server),))
            + bytes(31))


def frame(body: bytes, flags: int = 0) -> bytes:
    """One ZMTP frame: flags, a short (1 byte) or long (8 bytes) size, the body."""
    if len(body) < 256:
        return bytes((flags, len(body))) + body
    return bytes((flags | _LONG,)) + len(body).to_bytes(8, "big") + body


def command(name: bytes, body: bytes = b"") -> bytes:
    return frame(bytes((len(name),)) + name + body, _COMMAND)


def properties(props: dict[bytes, bytes]) -> bytes:
    """Metadata as READY and INITIATE carry it: name-size, name, 4-byte value-size, value."""
    return b"".join(bytes((len(k),)) + k + len(v).to_bytes(4, "big") + v for k, v in props.items())


def parse_properties(data: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        n = data[pos]
        if pos + 5 + n > len(data):
            raise ValueError("truncated metadata")
        name = data[pos + 1:pos + 1 + n]
        size = int.from_bytes(data[pos + 1 + n:pos + 5 + n], "big")
        value = data[pos + 5 + n:pos + 5 + n + size]
        if len(value) != size:
            raise ValueError("truncated metadata")
        out[name.lower()] = value
        pos += 5 + n + size
    return out


def message(frames: list[bytes]) -> bytes:
    """A whole message as it goes on the wire: every frame but the last flagged MORE."""
    return b"".join(frame(f, _MORE) for f in frames[:-1]) + frame(frames[-1])


def split_command(body: bytes) -> tuple[bytes, bytes]:
    """A command frame's body as (name, data)."""
    if body.startswith(b"^RROR"):
        # libzmq's PLAIN server writes its ERROR as the C string "\x05ERROR", whose escape
        # swallows the E: the name-size byte reads 0x5e and the name "RROR" (libzmq 4.3.5).
        body = b"\x05ERROR" + body[5:]
    if not body or len(body) < 1 + body[0]:
        raise ProtocolError("malformed command frame")
    return body[1:1 + body[0]], body[1 + body[0]:]


def error_command(reason: str) -> bytes:
    text = reason.encode()[:255]
    return command(b"ERROR", bytes((len(text),)) + text)


def subscription(topic: bytes, on: bool = True) -> bytes:
    """A ZMTP 3.0 (un)subscription: a message whose first byte is 1 (subscribe) or 0 (cancel)."""
    return frame((b"\x01" if on else b"\x00") + topic)


class Full(Exception):
    """A Dealer's queue (while it has no connection) or its send buffer is full: try again later."""


class _Endpoint:
    """What a connecting ZeroMQ socket does: connect, handshake, reconnect with back-off, read frames."""

    SOCKET_TYPE = b""
    PEERS: tuple[bytes, ...] = ()
    ROLE = ""  # for log lines: "watch", "request"

    def __init__(
        self,
        address: str,
        on_message: Callable[[list[bytes]], None],
        *,
        username: bytes | None = None,
        password: bytes | None = None,
        max_message: int = 0,
        reconnect_ivl: float = 0.05,
        reconnect_ivl_max: float = 1.0,
        name: str = "",
        on_open: Callable[[], None] | None = None,
        on_lost: Callable[[int], None] | None = None,
    ) -> None:
        if not speaks(address):
            raise ValueError(f"zmtp: cannot connect to {address!r}: only tcp://host:port is supported")
        self.address = address
        self.on_message = on_message
        self.username = username
        self.password = password if password is not None else (b"" if username is not None else None)
        if len(username or b"") > 255 or len(self.password or b"") > 255:
            raise ValueError("zmtp: a PLAIN username or password is at most 255 bytes")
        self.max_message = max_message
        self.reconnect_ivl = reconnect_ivl
        self.reconnect_ivl_max = reconnect_ivl_max
        self.name = name or self.SOCKET_TYPE.decode().lower()
        self.on_open = on_open  # called after every handshake: a new connection (perhaps to a new server)
        # called with a connection's number (the value of `handshakes` it opened with) once it is gone:
        # what was written on it and not yet answered will never be
        self.on_lost = on_lost
        self.handshakes = 0  # connections that got through the handshake
        self.errors = 0  # connections dropped for a protocol error, a refusal or the size limit
        self.last_error: str | None = None
        self._conn: _Connection | None = None
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name=f"{self.name}-zmtp")

    @property
    def running(self) -> bool:
        """Not closed, and the connecting task alive: it connects (again) by itself."""
        return not self._closed and not self._task.done()

    def drop_if_silent(self, seconds: float) -> bool:
        """Drop the connection if nothing has come on it for `seconds`: a peer gone without a word (its
        host died; a half-open TCP connection) is only noticed so. It reconnects by itself."""
        conn = self._conn
        if conn is None or conn.transport is None or self._loop.time() - conn.last_read < seconds:
            return False
        log.info("%s: nothing from %s for %.1fs: reconnecting", self.name, self.address, seconds)
        conn.abort()
        return True

    @property
    def ready(self) -> bool:
        """Connected and through the handshake: what is sent now reaches the peer."""
        return self._conn is not None and self._conn.open

    def close(self) -> None:
        """Stop at once: the connection is dropped and no reconnect follows."""
        if self._closed:
            return
        self._closed = True
        if self._conn is not None:
            self._conn.abort()
        self._task.cancel()

    async def wait_closed(self) -> None:
        """Until the connecting task has ended; raises what it died of, if it died."""
        await asyncio.wait([self._task])  # not `await task`: suppressing its CancelledError would swallow ours
        if not self._task.cancelled() and self._task.exception() is not None:
            raise self._task.exception()  # type: ignore[misc]

    def _opened(self, transport: asyncio.Transport) -> None:
        """The handshake is done: send what waited for it."""

    def _failed(self, reason: str) -> None:
        self.errors += 1
        # Once at warning level per distinct reason: a refused credential is retried every second.
        (log.debug if reason == self.last_error else log.warning)("%s: %s connection to %s dropped: %s",
                                                                 self.name, self.ROLE, self.address, reason)
        self.last_error = reason

    async def _run(self) -> None:
        host, port = split_address(self.address)
        delay = self.reconnect_ivl
        while not self._closed:
            conn = _Connection(self)
            try:
                await self._loop.create_connection(lambda c=conn: c, host, port)  # type: ignore[misc]
            except OSError as e:
                log.debug("%s: cannot connect to %s: %s", self.name, self.address, e)
            else:
                self._conn = conn
                await conn.lost
                self._conn = None
                if conn.was_open and self.on_lost is not None:
                    try:
                        self.on_lost(conn.number)
                    except Exception:  # reconnecting goes on whatever the caller's hook did
                        log.exception("%s: on_lost failed", self.name)
                if conn.was_open:
                    delay = self.reconnect_ivl  # a session that worked: start the back-off again
            if self._closed:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.reconnect_ivl_max)


class Subscriber(_Endpoint):
    """Receives the messages of the topics it subscribes to, handing each to on_message(frames).

    subscribe() and unsubscribe() take effect on the current connection and on every later one.
    `max_message` bounds one frame and one whole message (0: no limit): a larger one drops the
    connection, as libzmq's ZMQ_MAXMSGSIZE does.
    """

    SOCKET_TYPE = b"SUB"
    PEERS = (b"PUB", b"XPUB")
    ROLE = "watch"

    def __init__(self, address: str, on_message: Callable[[list[bytes]], None], **kw: Any) -> None:
        self.topics: set[bytes] = set()
        super().__init__(address, on_message, **kw)

    def subscribe(self, topic: bytes) -> None:
        if topic not in self.topics:
            self.topics.add(topic)
            self._send_subscription(topic, True)

    def unsubscribe(self, topic: bytes) -> None:
        if topic in self.topics:
            self.topics.discard(topic)
            self._send_subscription(topic, False)

    def _send_subscription(self, topic: bytes, on: bool) -> None:
        conn = self._conn
        if conn is not None and conn.open and conn.transport is not None:
            conn.transport.write(subscription(topic, on))

    def _opened(self, transport: asyncio.Transport) -> None:
        if self.topics:
            transport.write(b"".join(subscription(t) for t in self.topics))


class Dealer(_Endpoint):
    """A DEALER's one connection to a ROUTER: send() messages, answers go to on_message(frames).

    As libzmq's DEALER (ZMQ_IMMEDIATE off), what is sent while there is no connection waits, up to
    `hwm` messages, and goes out once a connection has shaken hands; what was in flight on a
    connection that broke is lost: on_lost(number) says which connection it was, and send() returned
    the number of the connection it wrote a message on (0: queued). send() raises Full when the queue
    holds `hwm` messages or the connection's send buffer holds more than `max_buffer` bytes.
    """

    SOCKET_TYPE = b"DEALER"
    PEERS = (b"ROUTER",)
    ROLE = "request"

    def __init__(self, address: str, on_message: Callable[[list[bytes]], None], *, hwm: int = 100_000,
                 max_buffer: int = 64 * 1024 * 1024, **kw: Any) -> None:
        self.hwm = hwm
        self.max_buffer = max_buffer
        self._queue: list[bytes] = []
        super().__init__(address, on_message, **kw)

    def send(self, frames: list[bytes]) -> int:
        """Write the message on the connection: its number (see on_lost), or 0 if it waits for one."""
        if self._closed:
            raise Full(f"{self.name}: closed")
        data = message(frames)
        conn = self._conn
        if conn is not None and conn.open and conn.transport is not None and not conn.transport.is_closing():
            if conn.transport.get_write_buffer_size() > self.max_buffer:
                raise Full(f"{self.name}: {self.max_buffer} bytes are waiting to be sent")
            conn.transport.write(data)
            return conn.number
        if len(self._queue) >= self.hwm:
            raise Full(f"{self.name}: {self.hwm} messages wait for a connection")
        self._queue.append(data)
        return 0

    def _opened(self, transport: asyncio.Transport) -> None:
        if self._queue:
            transport.write(b"".join(self._queue))
            self._queue = []


class _Connection(asyncio.Protocol):
    """One TCP connection: greeting, handshake, then frames."""

    def __init__(self, owner: _Endpoint) -> None:
        self.owner = owner
        self.lost: asyncio.Future[None] = owner._loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.was_open = False
        self.number = 0  # the owner's handshake count once this one is through: which connection it is
        self.last_read = owner._loop.time()  # when bytes last came (loop time)
        self._greeted = False
        self._dead = False
        self._plain = owner.username is not None
        self._chunks: list[bytes] = []  # an incomplete frame's bytes so far, joined once it is whole
        self._have = 0
        self._need = 0
        self._parts: list[bytes] = []  # the frames of a message whose last frame is still to come
        self._parts_size = 0
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        transport = self.transport
        self._start_timer()
        out = greeting(b"PLAIN" if self._plain else b"NULL")
        if self._plain:
            user, password = self.owner.username or b"", self.owner.password or b""
            out += command(b"HELLO", bytes((len(user),)) + user + bytes((len(password),)) + password)
        else:
            out += command(b"READY", properties({b"Socket-Type": self.owner.SOCKET_TYPE}))
        transport.write(out)

    def _start_timer(self) -> None:
        """Drop the connection unless the handshake is done within HANDSHAKE_TIMEOUT."""
        peers = " or ".join(p.decode() for p in self.owner.PEERS)
        self._timer = self.owner._loop.call_later(
            HANDSHAKE_TIMEOUT, self._fail, f"no handshake within {HANDSHAKE_TIMEOUT:g}s: is the peer a ZeroMQ {peers} socket?")

    def eof_received(self) -> bool:
        self.open = False  # the peer is going: what is sent now waits for the next connection
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._dead = True
        self.open = False
        if self._timer is not None:
            self._timer.cancel()
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.last_read = self.owner._loop.time()
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return
            data = b"".join(self._chunks)
            self._chunks = []
        try:
            pos = self._parse(data)
        except ProtocolError as e:
            self._fail(str(e))
            return
        if pos < len(data) and not self._dead:
            rest = data[pos:]
            self._chunks = [rest]
            self._have = len(rest)

    # -- sending ----------------------------------------------------------------------------
    def abort(self) -> None:
        self._dead = True
        self.open = False  # at once: connection_lost comes a loop turn later, and a write meanwhile is lost
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, reason: str) -> None:
        if not self._dead:
            self.owner._failed(reason)
            self.abort()

    # -- receiving --------------------------------------------------------------------------
    def _parse(self, data: bytes) -> int:
        """Handle every whole frame in data; return where the incomplete rest begins."""
        n = len(data)
        pos = 0
        if not self._greeted:
            if n < GREETING_SIZE:
                if data[0] != 0xFF or (n >= 10 and not data[9] & 0x01):  # no need to wait for the rest
                    raise ProtocolError("the peer does not speak ZMTP (bad greeting signature)")
                self._need = GREETING_SIZE
                return 0
            self._greeting(data[:GREETING_SIZE])
            self._greeted = True
            pos = GREETING_SIZE
        limit = self.owner.max_message
        while pos < n and not self._dead:
            flags = data[pos]
            if flags & _LONG:
                if n - pos < 9:
                    self._need = 9
                    break
                size = int.from_bytes(data[pos + 1:pos + 9], "big")
                start = pos + 9
            else:
                if n - pos < 2:
                    self._need = 2
                    break
                size = data[pos + 1]
                start = pos + 2
            if flags & 0xF8:
                raise ProtocolError(f"malformed frame: reserved flag bits set ({flags:#04x})")
            if limit and size > limit:
                raise ProtocolError(f"a frame of {size} bytes exceeds the limit of {limit} bytes")
            end = start + size
            if end > n:
                self._need = end - pos
                break
            body = data[start:end]
            pos = end
            if flags & _COMMAND:
                self._command(body)
                continue
            if not self.open:
                raise ProtocolError("a message before the handshake completed")
            parts = self._parts
            parts.append(body)
            if flags & _MORE or len(parts) > 1:
                self._parts_size += size
                if limit and self._parts_size > limit:
                    raise ProtocolError(f"a message of more than {limit} bytes exceeds the limit")
                if flags & _MORE:
                    continue
            self._parts = []
            self._parts_size = 0
            try:
                self._deliver(parts)
            except Exception:  # one bad message must not stop the reading
                log.exception("%s: handling a message failed", self.owner.name)
        return pos

    def _deliver(self, parts: list[bytes]) -> None:
        self.owner.on_message(parts)

    def _greeting(self, g: bytes) -> None:
        if g[0] != 0xFF or not g[9] & 0x01:
            raise ProtocolError("the peer does not speak ZMTP (bad greeting signature)")
        if g[10] < 3:
            raise ProtocolError(f"the peer speaks ZMTP {g[10]}.x; 3.0 or later is needed")
        mechanism = g[12:32].rstrip(b"\x00")
        ours = b"PLAIN" if self._plain else b"NULL"
        if mechanism != ours:
            raise ProtocolError(f"the peer wants the {mechanism.decode(errors='replace')} security mechanism, "
                                f"we offered {ours.decode()}")

    def _command(self, body: bytes) -> None:
        name, rest = split_command(body)
        if name == b"ERROR":
            reason = rest[1:1 + rest[0]].decode(errors="replace") if rest else ""
            raise ProtocolError(f"refused by the server: {reason or 'no reason given'}")
        if self.open:
            if name == b"PING":  # ZMTP 3.1 heartbeat: answer with the context it carries
                assert self.transport is not None
                self.transport.write(command(b"PONG", rest[2:]))
            return  # any other command after the handshake is ignored, as libzmq does
        if self._plain and name == b"WELCOME":
            assert self.transport is not None
            self.transport.write(command(b"INITIATE", properties({b"Socket-Type": self.owner.SOCKET_TYPE})))
            return
        if name != b"READY":
            raise ProtocolError(f"unexpected {name.decode(errors='replace')} command in the handshake")
        try:
            props = parse_properties(rest)
        except ValueError as e:
            raise ProtocolError(f"malformed READY command: {e}") from e
        peer = props.get(b"socket-type", b"")
        if peer not in self.owner.PEERS:
            raise ProtocolError(f"the peer is a {peer.decode(errors='replace') or 'socket of no type'}, "
                                f"not a {' or '.join(p.decode() for p in self.owner.PEERS)}")
        self._opened()

    def _opened(self) -> None:
        self.open = self.was_open = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.owner.handshakes += 1
        self.number = self.owner.handshakes
        assert self.transport is not None
        self.owner._opened(self.transport)
        on_open = getattr(self.owner, "on_open", None)
        if on_open is not None:
            try:
                on_open()
            except Exception:  # the connection works whatever the caller's hook did
                log.exception("%s: on_open failed", self.owner.name)
