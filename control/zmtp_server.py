"""The binding ends of ZeroMQ's ROUTER and XPUB sockets, in ZMTP 3.0 on the event loop (see control/zmtp.py).

The API server's requests and watch events went through libzmq's I/O thread: a request woke it, then
the event loop's thread; the answer and the published events woke it again. Here the event loop reads
and writes the TCP connections itself, so a request costs one wake-up and publishing an event to ten
subscribers is ten writes from the thread that made it. Peers are ordinary ZeroMQ DEALER and SUB
sockets, libzmq's or ours, with the NULL or PLAIN mechanism (https://rfc.zeromq.org/spec/24/): PLAIN's
credential is checked by a function of the caller's (the ZAP handler's decision, without the ZAP socket).
CURVE, and any transport but tcp://, stay with libzmq's sockets.

What a libzmq socket does that matters here, these do too: a ROUTER hands every message up with the
routing id of its connection and silently drops an answer for a connection that is gone; an XPUB hands
up every (un)subscription with who sent it, sends a message only to connections subscribed to a prefix
of its topic, and drops it for a connection that has more than `max_buffer` bytes waiting (a subscriber
that stopped reading loses messages and relists; it never holds up the others).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import deque
from collections.abc import Callable
from typing import cast

from control import zmtp
from control.zmtp import ProtocolError

log = logging.getLogger("kube_tui.zmtp")

# Messages one connection hands up per turn of the event loop before the others get theirs (see _hand_up).
TURN_QUOTA = 32

# (username, password) -> the user behind a PLAIN connection, or None to refuse it.
Authenticate = Callable[[bytes, bytes], "str | None"]


def binds(address: str) -> bool:
    """True for the endpoints this module can bind: tcp://HOST:PORT, HOST an IP address, * or localhost,
    PORT a number or * (any free port). libzmq binds the rest (interface names, ipc://)."""
    if not address.startswith("tcp://"):
        return False
    host, _, port = address[len("tcp://"):].rpartition(":")
    if not (port == "*" or (port.isdigit() and int(port) <= 65535)):
        return False
    if host in ("*", "localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _bind_host_port(address: str) -> tuple[str, int]:
    host, _, port = address[len("tcp://"):].rpartition(":")
    return ("0.0.0.0" if host == "*" else host.strip("[]")), (0 if port == "*" else int(port))


class _Listener:
    """What a binding ZeroMQ socket does: accept connections, shake hands as the server, track peers."""

    SOCKET_TYPE = b""
    PEERS: tuple[bytes, ...] = ()
    ROLE = ""

    def __init__(self, address: str, *, authenticate: Authenticate | None = None, max_message: int = 0,
                 max_buffer: int = 32 * 1024 * 1024, name: str = "") -> None:
        if not binds(address):
            raise ValueError(f"zmtp: cannot bind {address!r}: only tcp://ADDRESS:PORT is supported")
        self.address = address  # the bound one (the real port) once started
        self.authenticate = authenticate  # PLAIN when given, else NULL
        self.username: bytes | None = None  # what _Connection reads for a client's mechanism
        self.password: bytes | None = None
        self.max_message = max_message
        self.max_buffer = max_buffer
        self.name = name or self.SOCKET_TYPE.decode().lower()
        self.handshakes = 0
        self.errors = 0
        self.refused = 0  # PLAIN credentials refused
        self.last_error: str | None = None
        self.peers: set[_Accepted] = set()  # connections through the handshake
        self._all: set[_Accepted] = set()
        self._server: asyncio.base_events.Server | None = None
        self._loop = asyncio.get_running_loop()

    async def start(self) -> None:
        """Bind (OSError if the address is taken) and accept connections."""
        host, port = _bind_host_port(self.address)
        self._server = await self._loop.create_server(lambda: _Accepted(self), host, port, reuse_address=True)
        sockname = self._server.sockets[0].getsockname()
        bound = f"[{sockname[0]}]" if ":" in sockname[0] else sockname[0]
        self.address = f"tcp://{bound}:{sockname[1]}"

    def close(self) -> None:
        """Stop accepting and drop every connection at once."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._all):
            conn.abort()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    def _failed(self, reason: str) -> None:
        self.errors += 1
        (log.debug if reason == self.last_error else log.info)("%s: a %s peer was dropped: %s",
                                                               self.name, self.ROLE, reason)
        self.last_error = reason

    def _opened(self, transport: asyncio.Transport) -> None:
        """_Connection's hook; the listener's is _joined, which also gets the connection."""

    def _joined(self, conn: _Accepted) -> None:
        self.peers.add(conn)

    def _left(self, conn: _Accepted) -> None:
        self._all.discard(conn)
        self.peers.discard(conn)

    def _message(self, conn: _Accepted, parts: list[bytes]) -> None:
        raise NotImplementedError

    def _command(self, conn: _Accepted, name: bytes, data: bytes) -> None:
        """A command after the handshake (PING is answered before this)."""


class Router(_Listener):
    """Requests from DEALER peers go to on_message([routing id, *frames]); send([routing id, *frames]) answers.

    A peer's routing id is the Identity it sent in its handshake, else one made up (5 bytes, the first
    zero, as libzmq's). A new connection with an Identity already in use takes it over (ROUTER_HANDOVER).
    """

    SOCKET_TYPE = b"ROUTER"
    PEERS = (b"DEALER", b"REQ", b"ROUTER")
    ROLE = "request"

    def __init__(self, address: str, on_message: Callable[[list[bytes]], None], **kw: object) -> None:
        super().__init__(address, **kw)  # type: ignore[arg-type]
        self.on_message = on_message
        self.routes: dict[bytes, _Accepted] = {}
        self.dropped = 0  # answers for a peer that is gone or not reading
        self.paused = False
        self._next_id = 0

    def send(self, frames: list[bytes]) -> bool:
        """Queue an answer for the peer frames[0] names; False (dropped) if it is gone or too far behind."""
        if len(frames) < 2:
            raise ValueError("zmtp: a ROUTER message is a routing id and at least one frame")
        conn = self.routes.get(frames[0])
        transport = conn.transport if conn is not None and conn.open else None
        if transport is None or transport.is_closing() or transport.get_write_buffer_size() > self.max_buffer:
            self.dropped += 1
            return False
        transport.write(zmtp.message(frames[1:]))
        return True

    def pause_reading(self) -> None:
        """Read no more requests (from any peer) until resume_reading(): the kernel's buffers fill, then the peers'."""
        if not self.paused:
            self.paused = True
            for conn in self._all:
                conn.pause()

    def resume_reading(self) -> None:
        if self.paused:
            self.paused = False
            for conn in list(self._all):
                if self.paused:
                    break  # a message handed up on the way paused us again
                conn.resume()

    def _joined(self, conn: _Accepted) -> None:
        super()._joined(conn)
        ident = conn.props.get(b"identity", b"")
        if not ident or ident[0] == 0:  # none given, or one libzmq reserves for the ids it makes up
            self._next_id += 1
            ident = b"\x00" + (self._next_id & 0xFFFFFFFF).to_bytes(4, "big")
        conn.ident = ident
        self.routes[ident] = conn  # a connection that had this Identity no longer gets answers

    def _left(self, conn: _Accepted) -> None:
        super()._left(conn)
        if conn.ident is not None and self.routes.get(conn.ident) is conn:
            del self.routes[conn.ident]

    def _message(self, conn: _Accepted, parts: list[bytes]) -> None:
        if conn.ident is None or self.routes.get(conn.ident) is not conn:
            return  # its routing id was handed over to a newer connection: libzmq drops what it sends
        self.on_message([conn.ident, *parts])


class XPub(_Listener):
    """Publishes to SUB peers by topic prefix; every (un)subscription goes to on_subscription(user, topic, on).

    on_subscription returns whether a subscription takes effect (as libzmq's XPUB_MANUAL, where the
    application applies it). `user` is who the PLAIN handshake proved the peer to be (None with NULL,
    and for the cancellations that follow a peer going away, as libzmq sends them).
    """

    SOCKET_TYPE = b"XPUB"
    PEERS = (b"SUB", b"XSUB")
    ROLE = "watch"

    def __init__(self, address: str, on_subscription: Callable[[str | None, bytes, bool], bool] | None = None,
                 **kw: object) -> None:
        super().__init__(address, **kw)  # type: ignore[arg-type]
        self.on_subscription = on_subscription or (lambda _user, _topic, _on: True)
        self.sent = 0  # messages written (one per subscriber reached)
        self.dropped = 0  # messages not written to a subscriber whose backlog is full

    def send(self, frames: list[bytes]) -> int:
        """Send one message (frames[0] its topic) to every subscriber of a prefix of it; how many got it."""
        topic = frames[0]
        data = b""
        reached = 0
        for conn in self.peers:
            wanted = conn.wanted.get(topic)
            if wanted is None:
                wanted = conn.wanted[topic] = any(topic.startswith(t) for t in conn.topics)
            if not wanted:
                continue
            transport = conn.transport
            if transport is None or transport.is_closing() or transport.get_write_buffer_size() > self.max_buffer:
                self.dropped += 1
                continue
            if not data:
                data = zmtp.message(frames)
            transport.write(data)
            reached += 1
        self.sent += reached
        return reached

    def refresh(self) -> None:
        """Subscriptions are handed up as they are read: none wait to be taken in."""

    def _message(self, conn: _Accepted, parts: list[bytes]) -> None:
        # ZMTP 3.0: a subscription is a one-frame message whose first byte is 1 (subscribe) or 0 (cancel).
        # Anything else a subscriber sends is of no use to a publisher and is dropped.
        if len(parts) == 1 and parts[0][:1] in (b"\x00", b"\x01"):
            self._subscription(conn, parts[0][1:], parts[0][0] == 1)

    def _command(self, conn: _Accepted, name: bytes, data: bytes) -> None:
        if name in (b"SUBSCRIBE", b"CANCEL"):  # ZMTP 3.1's form of the same
            self._subscription(conn, data, name == b"SUBSCRIBE")

    def _subscription(self, conn: _Accepted, topic: bytes, on: bool) -> None:
        if on == (topic in conn.topics):
            return  # already so on this connection
        # Applied before asking, so that what on_subscription sends already reaches the new subscriber.
        (conn.topics.add if on else conn.topics.discard)(topic)
        conn.wanted.clear()
        try:
            accepted = self.on_subscription(conn.user, topic, on)
        except Exception:  # the watch must outlive one bad subscription
            log.exception("%s: handling a subscription to %r failed", self.name, topic)
            accepted = False
        if on and not accepted:
            conn.topics.discard(topic)
            conn.wanted.clear()

    def _left(self, conn: _Accepted) -> None:
        was_peer = conn in self.peers
        super()._left(conn)
        if was_peer:
            topics, conn.topics = conn.topics, set()
            for topic in topics:
                self.on_subscription(None, topic, False)


class _Accepted(zmtp._Connection):
    """One accepted connection: the server's side of the greeting and handshake, then frames."""

    owner: _Listener  # type: ignore[assignment]

    def __init__(self, owner: _Listener) -> None:
        super().__init__(owner)  # type: ignore[arg-type]
        self._plain = owner.authenticate is not None
        self._welcomed = False
        self.user: str | None = None
        self.props: dict[bytes, bytes] = {}
        self.ident: bytes | None = None  # a Router's routing id for it
        self.topics: set[bytes] = set()  # an XPub's: the prefixes it subscribed to
        self.wanted: dict[bytes, bool] = {}  # an XPub's: topic -> whether a subscription covers it
        self._paused = False
        self._held: deque[bytes] = deque()  # bytes read while paused (uvloop reads a new connection once anyway)
        self._backlog: deque[list[bytes]] = deque()  # messages parsed after a pause, from the read that paused
        self._turn = 0  # messages handed up since this connection's turn of the loop began
        self._yielded = False  # paused by TURN_QUOTA, not by the owner: resumed on the next turn of the loop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        owner = self.owner
        owner._all.add(self)
        self._start_timer()
        out = zmtp.greeting(b"PLAIN" if self._plain else b"NULL", as_server=self._plain)
        if not self._plain:
            out += self._ready()
        self.transport.write(out)
        if isinstance(owner, Router) and owner.paused:
            self.pause()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.owner._left(self)

    def pause(self) -> None:
        """Hand up no more messages until resume(): the rest of the current read waits too."""
        if self._paused or self.transport is None or self.transport.is_closing():
            return
        self._paused = True
        self.transport.pause_reading()
        if self._timer is not None:  # a peer held back by us is not a peer that fails to shake hands
            self._timer.cancel()
            self._timer = None

    def resume(self) -> None:
        if not self._paused or self.transport is None or self.transport.is_closing():
            return
        self._paused = False
        self._yielded = False
        if not self.open and not self._dead:
            self._start_timer()
        while self._backlog and not self._paused:
            self._hand_up(self._backlog.popleft())
        while self._held and not self._paused:
            super().data_received(self._held.popleft())
        if not self._paused:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if self._paused:  # read anyway (uvloop starts reading after connection_made even if paused)
            self._held.append(data)
            if self.transport is not None:
                self.transport.pause_reading()
            return
        self._turn = 0  # a read is a new turn
        super().data_received(data)

    def _hand_up(self, parts: list[bytes]) -> None:
        """One message to the owner; past TURN_QUOTA in this turn, the rest of the read waits for the next turn
        of the loop, so that the other connections' messages go in between: one peer sending faster than the
        server answers (a flood, a fuzzer) delays the others by a quota of its messages, not by a whole read
        of them (up to 256 KiB: thousands of small frames, hundreds of milliseconds).

        A message that fails is logged and the next one goes up, here as in _parse: from resume() (the rest of
        a read after a yield or a pause) an exception would leave the connection unpaused with its reading
        stopped and its backlog never handed up."""
        try:
            self.owner._message(self, parts)
        except Exception:  # one bad message must not stop the reading
            log.exception("%s: handling a message failed", self.owner.name)
        self._turn += 1
        if self._turn >= TURN_QUOTA and not self._paused and self.transport is not None:
            self.pause()
            if self._paused:
                self._yielded = True
                self.owner._loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        if not self._yielded:
            return  # resumed meanwhile (by the owner)
        self._yielded = False
        self._turn = 0
        if getattr(self.owner, "paused", False):
            return  # the Router paused every connection meanwhile: its resume_reading() resumes this one
        self.resume()

    def _ready(self) -> bytes:
        return zmtp.command(b"READY", zmtp.properties({b"Socket-Type": self.owner.SOCKET_TYPE}))

    def _deliver(self, parts: list[bytes]) -> None:
        if self._paused:  # paused by an earlier message of the same read
            self._backlog.append(parts)
            return
        self._hand_up(parts)

    def _command(self, body: bytes) -> None:
        name, data = zmtp.split_command(body)
        if name == b"ERROR":
            raise ProtocolError(f"the peer gave up: {data[1:1 + data[0]].decode(errors='replace') if data else ''}")
        assert self.transport is not None
        if self.open:
            if name == b"PING":
                self.transport.write(zmtp.command(b"PONG", data[2:]))
            else:
                self.owner._command(self, name, data)
            return
        if self._plain and not self._welcomed:
            if name != b"HELLO":
                raise ProtocolError(f"expected HELLO (PLAIN), got {name.decode(errors='replace')}")
            self._hello(data)
            return
        if name != (b"INITIATE" if self._plain else b"READY"):
            raise ProtocolError(f"unexpected {name.decode(errors='replace')} command in the handshake")
        try:
            self.props = zmtp.parse_properties(data)
        except ValueError as e:
            raise ProtocolError(f"malformed {name.decode()} command: {e}") from e
        peer = self.props.get(b"socket-type", b"")
        if peer not in self.owner.PEERS:
            raise ProtocolError(f"the peer is a {peer.decode(errors='replace') or 'socket of no type'}, "
                                f"not a {' or '.join(p.decode() for p in self.owner.PEERS)}")
        if self._plain:
            self.transport.write(self._ready())
        self._opened()
        self.owner._joined(self)

    def _hello(self, data: bytes) -> None:
        """PLAIN's HELLO: username and password, each with a one-byte size. WELCOME, or ERROR and close."""
        n = data[0] if data else 0
        user = data[1:1 + n]
        m = data[1 + n] if len(data) > 1 + n else -1
        password = data[2 + n:2 + n + m]
        if m < 0 or len(user) != n or len(password) != m or len(data) != 2 + n + m:
            raise ProtocolError("malformed HELLO command")
        assert self.owner.authenticate is not None and self.transport is not None
        try:
            who = self.owner.authenticate(user, password)
        except Exception:  # refused, not a crashed connection
            log.exception("%s: checking a PLAIN credential failed", self.owner.name)
            who = None
        if who is None:
            self.owner.refused += 1
            self.owner._failed("credential refused")
            self._dead = True
            self.open = False
            self.transport.write(zmtp.error_command("invalid credential"))
            self.transport.close()  # after the ERROR has gone out
            return
        self.user = who
        self._welcomed = True
        self.transport.write(zmtp.command(b"WELCOME"))
