"""zmtp.Subscriber: a SUB socket's receiving end in asyncio, against libzmq PUB/XPUB and malformed fake peers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable

import pytest
import zmq

from control import zmtp
from tests.helpers import TIMER_SLACK, free_port_pair, wait_for

READY_PUB = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"PUB"}))


# -- libzmq publishers ---------------------------------------------------------------------------------
def _publisher(ctx: zmq.Context, kind: int = zmq.PUB, **options: int) -> tuple[zmq.Socket, str]:
    sock = ctx.socket(kind)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 0)  # the test sends in bursts while the event loop is not reading
        for name, value in options.items():
            sock.setsockopt(getattr(zmq, name), value)
        port = sock.bind_to_random_port("tcp://127.0.0.1")
    except BaseException:
        sock.close(linger=0)  # else ctx.term() would wait for it
        raise
    return sock, f"tcp://127.0.0.1:{port}"


async def _close_endpoints(*endpoints: zmtp.Subscriber | zmtp.Dealer | None) -> None:
    for e in endpoints:
        if e is not None:
            e.close()
            await e.wait_closed()  # raises if the task died of an exception


async def _expect(xpub: zmq.Socket, message: bytes) -> None:
    """The next (un)subscription message the XPUB reads is `message`."""
    await wait_for(lambda: xpub.poll(0), timeout=5, what=f"{message!r} at the publisher")
    assert xpub.recv() == message


async def _expect_all(xpub: zmq.Socket, messages: set[bytes]) -> None:
    """The next (un)subscription messages the XPUB reads are `messages`, in any order."""
    seen: set[bytes] = set()
    for _ in messages:
        await wait_for(lambda: xpub.poll(0), timeout=5, what=f"{messages - seen!r} at the publisher")
        seen.add(xpub.recv())
    assert seen == messages


async def _send_until_received(pub: zmq.Socket, frames: list[bytes], got: list[list[bytes]]) -> None:
    """Publish `frames` again and again until the subscriber has it (subscriptions reach a PUB late)."""
    def probe() -> bool:
        pub.send_multipart(frames)
        return frames in got

    await wait_for(probe, timeout=5, what=f"{frames!r} to arrive")


class _Zap(threading.Thread):
    """A ZAP handler (RFC 27) on the context: PLAIN credentials are accepted with the one right password."""

    def __init__(self, ctx: zmq.Context, password: bytes) -> None:
        super().__init__(name="zap", daemon=True)
        self.password = password
        self.requests: list[tuple[bytes, bytes]] = []
        self._done = threading.Event()
        self.sock = ctx.socket(zmq.REP)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind("inproc://zeromq.zap.01")  # before the server socket, which asks it

    def run(self) -> None:
        while not self._done.is_set():
            if not self.sock.poll(20):
                continue
            version, request_id, _domain, _address, _identity, mechanism, *creds = self.sock.recv_multipart()
            user, password = creds if mechanism == b"PLAIN" else (b"", b"")
            self.requests.append((user, password))
            ok = password == self.password
            self.sock.send_multipart([version, request_id, b"200" if ok else b"400",
                                      b"OK" if ok else b"wrong password", user if ok else b"", b""])

    def close(self) -> None:
        self._done.set()
        if self.is_alive():
            self.join(5)
        self.sock.close()


# -- fake publishers: a plain TCP server playing the other end --------------------------------------
class _FakePub:
    """Runs `script(reader, writer)` for every connection the subscriber makes, then hangs up; counts them."""

    def __init__(self, script: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]) -> None:
        self.script = script
        self.connections = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.server: asyncio.Server | None = None
        self.address = ""

    async def start(self, port: int = 0) -> _FakePub:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.address = f"tcp://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.append(task)
        try:
            await self.script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for w in self._writers:
            w.close()  # the scripts waiting for the subscriber to hang up read the end now
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=5)
            for t in stuck:
                t.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()


def _sends(data: bytes, chunk: int = 0) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A script that sends `data` at once, or `chunk` bytes per write with a loop turn between the writes."""
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in range(0, len(data), chunk or len(data)):
            writer.write(data[i:i + (chunk or len(data))])
            await writer.drain()
            if chunk:  # two loop turns: the subscriber reads each piece on its own
                await asyncio.sleep(0)
                await asyncio.sleep(0)
        await reader.read()  # until the subscriber hangs up
    return script


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    flags = (await reader.readexactly(1))[0]
    size = int.from_bytes(await reader.readexactly(8 if flags & 0x02 else 1), "big")
    return flags, await reader.readexactly(size)


def _message(*frames: bytes) -> bytes:
    return b"".join(zmtp.frame(f, 0x01 if i < len(frames) - 1 else 0) for i, f in enumerate(frames))


# -- against libzmq ------------------------------------------------------------------------------------
async def test_subscribed_topic_arrives_in_order_and_other_topics_do_not() -> None:
    """NULL against a libzmq PUB: multipart messages of the subscribed prefix only, in order."""
    ctx = zmq.Context()
    pub, address = _publisher(ctx)
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(address, got.append, name="test")
        sub.subscribe(b"pods\x00")  # before the connection: sent with the handshake
        await wait_for(lambda: sub.ready, timeout=5, what="the handshake")
        assert sub.handshakes == 1 and sub.topics == {b"pods\x00"}
        await _send_until_received(pub, [b"pods\x00", b"probe"], got)
        pub.send_multipart([b"nodes\x00", b"n1"])
        pub.send_multipart([b"pods", b"no separator"])
        for i in range(100):
            pub.send_multipart([b"pods\x00", b"p%d" % i])
            if i == 50:
                pub.send_multipart([b"nodes\x00pods\x00", b"n2"])
        pub.send_multipart([b"pods\x00x", b"end"])
        await wait_for(lambda: got[-1][-1] == b"end", timeout=5, what="the last message")
        assert [m for m in got if m[1] != b"probe"] == [
            *([b"pods\x00", b"p%d" % i] for i in range(100)), [b"pods\x00x", b"end"]]
        assert sub.errors == 0 and sub.last_error is None
    finally:
        await _close_endpoints(sub)
        pub.close()
        ctx.term()


async def test_long_frames_and_many_messages_arrive_intact_and_in_order() -> None:
    """Frames of 255/256/300,000 bytes (several TCP reads) and 5,000 messages arrive whole and in order."""
    ctx = zmq.Context()
    xpub, address = _publisher(ctx, zmq.XPUB)
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(address, got.append, name="test")
        sub.subscribe(b"t")
        await _expect(xpub, b"\x01t")
        big = os.urandom(300_000)
        sent = [[b"t", b"a" * 255], [b"t", b"b" * 256], [b"t", big, b"tail"], [b"t" + b"c" * 1000]]
        sent += [[b"t", b"%d" % i] for i in range(5000)]
        sent.append([b"t", os.urandom(70_000), os.urandom(300)])
        for m in sent:
            xpub.send_multipart(m)
        await wait_for(lambda: len(got) >= len(sent), timeout=8, what="every message")
        assert len(got) == len(sent)
        assert got[:4] == sent[:4]  # compared apart first: a failure prints less
        assert got == sent
        assert sub.errors == 0
    finally:
        await _close_endpoints(sub)
        xpub.close()
        ctx.term()


async def test_plain_with_the_right_password_gets_messages() -> None:
    """PLAIN against an XPUB with PLAIN_SERVER and a ZAP handler: the right password is let in."""
    ctx = zmq.Context()
    zap = _Zap(ctx, b"s3cret")
    zap.start()
    xpub = None
    sub = None
    got: list[list[bytes]] = []
    try:
        xpub, address = _publisher(ctx, zmq.XPUB, PLAIN_SERVER=1)
        sub = zmtp.Subscriber(address, got.append, username=b"token", password=b"s3cret", name="test")
        sub.subscribe(b"w")
        await _expect(xpub, b"\x01w")
        assert zap.requests == [(b"token", b"s3cret")]
        xpub.send_multipart([b"w", b"1"])
        xpub.send_multipart([b"w", b"2"])
        await wait_for(lambda: len(got) == 2, timeout=5, what="the messages")
        assert got == [[b"w", b"1"], [b"w", b"2"]]
        assert sub.handshakes == 1 and sub.errors == 0
    finally:
        await _close_endpoints(sub)
        if xpub is not None:
            xpub.close()
        zap.close()
        ctx.term()


async def test_plain_with_a_wrong_password_delivers_nothing_and_is_retried_without_raising() -> None:
    """A refused PLAIN credential counts an error per attempt, delivers nothing, and is tried again."""
    ctx = zmq.Context()
    zap = _Zap(ctx, b"s3cret")
    zap.start()
    xpub = None
    sub = None
    got: list[list[bytes]] = []
    try:
        xpub, address = _publisher(ctx, zmq.XPUB, PLAIN_SERVER=1)
        sub = zmtp.Subscriber(address, got.append, username=b"token", password=b"wrong", name="test")
        sub.subscribe(b"")

        def refused_thrice() -> bool:
            xpub.send_multipart([b"w", b"never"])  # nothing subscribed: dropped by the XPUB
            return sub.errors >= 3

        await wait_for(refused_thrice, timeout=5, what="three refusals")
        assert sub.last_error
        assert len(zap.requests) >= 3 and {p for _, p in zap.requests} == {b"wrong"}
        assert got == [] and sub.handshakes == 0 and not sub.ready
        assert not xpub.poll(0)  # no subscription got through
    finally:
        if sub is not None:
            sub.close()
            await sub.wait_closed()  # raises if the task died of an exception
        if xpub is not None:
            xpub.close()
        zap.close()
        ctx.term()


async def test_a_refused_plain_credential_is_reported_as_refused() -> None:
    """After libzmq's ZAP handler says 400, last_error says the server refused us."""
    ctx = zmq.Context()
    zap = _Zap(ctx, b"s3cret")
    zap.start()
    xpub = None
    sub = None
    try:
        xpub, address = _publisher(ctx, zmq.XPUB, PLAIN_SERVER=1)
        sub = zmtp.Subscriber(address, lambda frames: None, username=b"token", password=b"wrong", name="test")
        await wait_for(lambda: sub.errors >= 1, timeout=5, what="the refusal")
        assert "refused" in (sub.last_error or "")
    finally:
        await _close_endpoints(sub)
        if xpub is not None:
            xpub.close()
        zap.close()
        ctx.term()


async def test_unsubscribe_stops_delivery_on_a_live_connection() -> None:
    """subscribe()/unsubscribe() on an open connection reach the XPUB at once; a cancelled topic stops."""
    ctx = zmq.Context()
    xpub, address = _publisher(ctx, zmq.XPUB, XPUB_VERBOSER=1)
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(address, got.append, name="test")
        await wait_for(lambda: sub.ready, timeout=5, what="the handshake")
        sub.subscribe(b"a")
        sub.subscribe(b"b")
        sub.subscribe(b"a")  # already subscribed: nothing sent
        await _expect(xpub, b"\x01a")
        await _expect(xpub, b"\x01b")
        xpub.send_multipart([b"a", b"1"])
        xpub.send_multipart([b"b", b"1"])
        await wait_for(lambda: len(got) == 2, timeout=5, what="both topics")
        sub.unsubscribe(b"a")
        sub.unsubscribe(b"zzz")  # never subscribed: nothing sent
        await _expect(xpub, b"\x00a")
        assert not xpub.poll(0)
        xpub.send_multipart([b"a", b"2"])
        xpub.send_multipart([b"b", b"2"])
        await wait_for(lambda: len(got) == 3, timeout=5, what="the topic still subscribed")
        assert got == [[b"a", b"1"], [b"b", b"1"], [b"b", b"2"]]
        assert sub.topics == {b"b"}
    finally:
        await _close_endpoints(sub)
        xpub.close()
        ctx.term()


async def test_reconnects_to_a_new_publisher_on_the_same_port_and_resubscribes() -> None:
    """When the publisher goes away, a new one on the same port gets the connection and the topics again."""
    ctx = zmq.Context()
    xpub, address = _publisher(ctx, zmq.XPUB)
    xpub2 = None
    got: list[list[bytes]] = []
    opened: list[int] = []
    sub = None
    try:
        sub = zmtp.Subscriber(address, got.append, name="test", on_open=lambda: opened.append(sub.handshakes))
        sub.subscribe(b"t")
        sub.subscribe(b"u")
        await _expect_all(xpub, {b"\x01t", b"\x01u"})
        assert opened == [1]  # on_open: after each handshake
        xpub.send_multipart([b"t", b"before"])
        await wait_for(lambda: got == [[b"t", b"before"]], timeout=5, what="the first message")
        xpub.close()
        await wait_for(lambda: not sub.ready, timeout=5, what="the connection to drop")
        xpub2 = ctx.socket(zmq.XPUB)
        xpub2.setsockopt(zmq.LINGER, 0)

        def bound() -> bool:  # libzmq closes the old listener on its I/O thread, a moment later
            try:
                xpub2.bind(address)
            except zmq.ZMQError as e:
                if e.errno != zmq.EADDRINUSE:
                    raise
                return False
            return True

        await wait_for(bound, timeout=5, what="the port to be free again")
        await wait_for(lambda: sub.handshakes == 2, timeout=5, what="the reconnect")
        await _expect_all(xpub2, {b"\x01t", b"\x01u"})
        xpub2.send_multipart([b"u", b"after"])
        await wait_for(lambda: len(got) == 2, timeout=5, what="a message from the new publisher")
        assert got == [[b"t", b"before"], [b"u", b"after"]]
        assert opened == [1, 2]
        assert sub.errors == 0  # a publisher going away is no protocol error
    finally:
        await _close_endpoints(sub)
        xpub.close()
        if xpub2 is not None:
            xpub2.close()
        ctx.term()


async def test_a_frame_over_max_message_drops_the_connection_and_later_messages_arrive() -> None:
    """A frame above max_message counts an error naming the limit; after the reconnect delivery goes on."""
    ctx = zmq.Context()
    pub, address = _publisher(ctx)
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(address, got.append, max_message=1000, name="test")
        sub.subscribe(b"t")
        await _send_until_received(pub, [b"t", b"x" * 999], got)  # at the limit (1 + 999 bytes) is fine
        pub.send_multipart([b"t", b"y" * 5000])
        await wait_for(lambda: sub.errors == 1, timeout=5, what="the connection to be dropped")
        assert "limit of 1000 bytes" in (sub.last_error or "") and "5000" in (sub.last_error or "")
        await _send_until_received(pub, [b"t", b"small"], got)
        assert sub.handshakes == 2 and sub.errors == 1
        assert all(m[1] != b"y" * 5000 for m in got)
    finally:
        await _close_endpoints(sub)
        pub.close()
        ctx.term()


async def test_a_whole_message_over_max_message_drops_the_connection() -> None:
    """max_message bounds a whole message as documented: [60 bytes, 60 bytes] with a limit of 100 is dropped."""
    server = await _FakePub(_sends(zmtp.greeting(b"NULL") + READY_PUB + _message(b"t" * 60, b"u" * 60)
                                   + _message(b"t", b"ok"))).start()
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(server.address, got.append, max_message=100, name="test")
        await wait_for(lambda: got or sub.errors, timeout=5, what="a message or an error")
        assert got == [] and sub.errors >= 1 and "100" in (sub.last_error or "")
    finally:
        await _close_endpoints(sub)
        await server.close()


# -- against fake publishers ---------------------------------------------------------------------------
def _bad_version() -> bytes:
    g = bytearray(zmtp.greeting(b"NULL"))
    g[10] = 2
    return bytes(g)


MALFORMED = {
    "bad-signature": (b"\x00" + zmtp.greeting(b"NULL")[1:], "bad greeting signature"),
    "zmtp-2": (_bad_version(), "ZMTP 2.x"),
    "mechanism-mismatch": (zmtp.greeting(b"PLAIN"), "wants the PLAIN security mechanism, we offered NULL"),
    "reserved-flags": (zmtp.greeting(b"NULL") + READY_PUB + bytes((0x08, 1)) + b"x", "reserved flag bits"),
    "message-before-ready": (zmtp.greeting(b"NULL") + zmtp.frame(b"early"), "before the handshake"),
    "ready-from-a-req": (zmtp.greeting(b"NULL") + zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"REQ"})),
                         "the peer is a REQ, not a PUB or XPUB"),
    "error-command": (zmtp.greeting(b"NULL") + zmtp.command(b"ERROR", b"\x0bgo away now"),
                      "refused by the server: go away now"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_peer_is_counted_dropped_and_retried_without_raising(case: str) -> None:
    """Each protocol violation: an error with a clear reason, no message, no exception, a new connection."""
    data, reason = MALFORMED[case]
    server = await _FakePub(_sends(data)).start()
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(server.address, got.append, reconnect_ivl=0.01, name="test")
        sub.subscribe(b"")
        await wait_for(lambda: server.connections >= 2 and sub.errors >= 2, timeout=5, what="a second failure")
        assert reason in (sub.last_error or "")
        assert got == []
    finally:
        if sub is not None:
            sub.close()
            await sub.wait_closed()  # raises if the task died of an exception
        await server.close()


async def test_a_silent_peer_is_dropped_after_the_handshake_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and never speaks is dropped with a 'no handshake' error, then retried."""
    monkeypatch.setattr(zmtp, "HANDSHAKE_TIMEOUT", 0.2)

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(64)  # our greeting comes, nothing goes back
        await reader.read()

    server = await _FakePub(silent).start()
    sub = None
    try:
        started = time.monotonic()
        sub = zmtp.Subscriber(server.address, lambda frames: None, name="test")
        await wait_for(lambda: sub.errors >= 1, timeout=5, what="the handshake timeout")
        assert time.monotonic() - started >= 0.15 - TIMER_SLACK
        assert "no handshake" in (sub.last_error or "")
        await wait_for(lambda: server.connections >= 2, timeout=5, what="a new connection")
    finally:
        await _close_endpoints(sub)
        await server.close()


@pytest.mark.parametrize("chunk", [1, 7, 0], ids=["one-byte", "seven-bytes", "all-at-once"])
async def test_frames_split_across_writes_are_reassembled(chunk: int) -> None:
    """Greeting, READY and messages cut at any byte (even inside a long size) give the same messages."""
    messages = [[b"t", b"short"], [b"t", bytes(range(256)) + b"!" * 44], [b"t", b"", b"x" * 255, b"three"], [b"t"]]
    data = (zmtp.greeting(b"NULL") + READY_PUB + zmtp.command(b"UNKNOWN", b"ignored")
            + b"".join(_message(*m) for m in messages))
    server = await _FakePub(_sends(data, chunk)).start()
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(server.address, got.append, name="test")
        await wait_for(lambda: len(got) == len(messages), timeout=5, what="every message")
        assert got == messages
        assert sub.errors == 0 and sub.handshakes == 1 and server.connections == 1
    finally:
        await _close_endpoints(sub)
        await server.close()


async def test_greets_as_a_sub_and_answers_ping_with_the_same_context() -> None:
    """We send a NULL greeting, READY Socket-Type SUB and our subscriptions; a PING gets a PONG with its context."""
    seen: dict[str, object] = {}

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        theirs = await reader.readexactly(64)
        seen["greeting"] = theirs
        writer.write(zmtp.greeting(b"NULL") + READY_PUB)
        flags, body = await _read_frame(reader)
        seen["ready"] = (flags, body)
        seen["subscription"] = await _read_frame(reader)
        writer.write(zmtp.command(b"PING", b"\x00\x64" + b"ctx-42"))
        seen["pong"] = await _read_frame(reader)
        writer.write(_message(b"t", b"after the ping"))
        await reader.read()

    server = await _FakePub(script).start()
    got: list[list[bytes]] = []
    sub = None
    try:
        sub = zmtp.Subscriber(server.address, got.append, name="test")
        sub.subscribe(b"t")
        await wait_for(lambda: got, timeout=5, what="the message after the ping")
        greeting = seen["greeting"]
        assert isinstance(greeting, bytes) and greeting == zmtp.greeting(b"NULL")
        assert greeting[0] == 0xFF and greeting[9] == 0x7F and greeting[10:12] == b"\x03\x00"
        flags, body = seen["ready"]  # type: ignore[misc]
        assert flags == 0x04 and body[:6] == b"\x05READY"
        assert zmtp.parse_properties(body[6:]) == {b"socket-type": b"SUB"}
        assert seen["subscription"] == (0, b"\x01t")
        assert seen["pong"] == (0x04, b"\x04PONG" + b"ctx-42")
        assert got == [[b"t", b"after the ping"]] and sub.errors == 0
    finally:
        await _close_endpoints(sub)
        await server.close()


async def test_a_handler_exception_does_not_stop_the_next_messages(caplog: pytest.LogCaptureFixture) -> None:
    """on_message raising for one message is logged; the messages after it are still delivered."""
    data = zmtp.greeting(b"NULL") + READY_PUB + b"".join(_message(b"t", m) for m in (b"1", b"bad", b"2", b"bad", b"3"))
    server = await _FakePub(_sends(data)).start()
    got: list[bytes] = []

    def handler(frames: list[bytes]) -> None:
        if frames[1] == b"bad":
            raise ValueError("bad message")
        got.append(frames[1])

    sub = None
    try:
        sub = zmtp.Subscriber(server.address, handler, name="test")
        await wait_for(lambda: got == [b"1", b"2", b"3"], timeout=5, what="the good messages")
        assert sub.ready and sub.errors == 0 and server.connections == 1
        assert sum("handling a message failed" in r.getMessage() for r in caplog.records) == 2
    finally:
        await _close_endpoints(sub)
        await server.close()


async def test_close_while_retrying_returns_promptly_and_stops_reconnecting(caplog: pytest.LogCaptureFixture) -> None:
    """close() during connection-refused retries ends at once, even in a long back-off; no attempt follows."""
    caplog.set_level(logging.DEBUG, logger="kube_tui.zmtp")
    probe = await _FakePub(_sends(b"")).start()
    try:
        address = probe.address
    finally:
        await probe.close()  # nothing listens on that port now
    port = int(address.rpartition(":")[2])

    def refusals(name: str) -> int:
        return sum(r.getMessage().startswith(f"{name}: cannot connect") for r in caplog.records)

    subs: list[zmtp.Subscriber] = []
    server = None
    greetings: list[bytes] = []
    try:
        fast = zmtp.Subscriber(address, lambda frames: None, username=b"u", password=b"p",
                               reconnect_ivl=0.01, reconnect_ivl_max=0.02, name="fast")
        slow = zmtp.Subscriber(address, lambda frames: None, reconnect_ivl=30.0, name="slow")
        subs += [fast, slow]
        await wait_for(lambda: refusals("fast") >= 3 and refusals("slow") >= 1, timeout=5, what="refused attempts")
        started = time.monotonic()
        fast.close()
        slow.close()  # in a 30 s back-off
        await asyncio.wait_for(asyncio.gather(fast.wait_closed(), slow.wait_closed()), 2)
        assert time.monotonic() - started < 0.5
        assert not fast.ready and fast.errors == 0  # a refused connection is no protocol error
        before = refusals("fast")

        # Something listens now. A NULL marker reconnecting at the pace `fast` had shows time has passed:
        # `fast` (PLAIN) would have connected several times meanwhile.
        async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            greetings.append(await reader.readexactly(64))

        server = await _FakePub(record).start(port)
        marker = zmtp.Subscriber(address, lambda frames: None, reconnect_ivl=0.01, reconnect_ivl_max=0.02,
                                 name="marker")
        subs.append(marker)
        await wait_for(lambda: len(greetings) >= 6, timeout=5, what="the marker's connections")
        assert all(g == zmtp.greeting(b"NULL") for g in greetings)  # none from `fast`
        assert refusals("fast") == before
    finally:
        for s in subs:
            s.close()
            await s.wait_closed()
        if server is not None:
            await server.close()


# -- helpers -------------------------------------------------------------------------------------------
async def test_only_tcp_host_port_is_spoken_and_other_addresses_are_rejected() -> None:
    """speaks/split_address take tcp://host:port (IPv6 in brackets); Subscriber() raises ValueError for the rest."""
    assert zmtp.speaks("tcp://127.0.0.1:5") and zmtp.split_address("tcp://127.0.0.1:5") == ("127.0.0.1", 5)
    assert zmtp.speaks("tcp://[::1]:7") and zmtp.split_address("tcp://[::1]:7") == ("::1", 7)
    assert zmtp.split_address("tcp://localhost:65535") == ("localhost", 65535)
    for address in ("ipc:///tmp/x.sock", "inproc://x", "tcp://localhost", "tcp://", "udp://1.2.3.4:5"):
        assert not zmtp.speaks(address), address
    tasks = asyncio.all_tasks()
    for address in ("ipc:///tmp/kube-tui-test.sock", "inproc://watch"):
        with pytest.raises(ValueError, match="only tcp://host:port"):
            zmtp.Subscriber(address, lambda frames: None)
    assert asyncio.all_tasks() == tasks  # no task left behind


async def test_subscriber_rejects_a_tcp_address_without_a_numeric_port() -> None:
    """speaks('tcp://127.0.0.1:http') is false and Subscriber() raises ValueError for it."""
    sub = None
    try:
        with pytest.raises(ValueError):
            sub = zmtp.Subscriber("tcp://127.0.0.1:http", lambda frames: None)
        assert not zmtp.speaks("tcp://127.0.0.1:http")
    finally:
        if sub is not None:
            sub.close()
            with contextlib.suppress(ValueError):  # the task's own failure, if it ran
                await sub.wait_closed()


def test_wire_helpers_encode_frames_commands_and_metadata() -> None:
    """frame() switches to an 8-byte size at 256; command() and properties() round-trip; truncation is caught."""
    assert zmtp.frame(b"ab", 0x01) == b"\x01\x02ab"
    assert zmtp.frame(b"x" * 255)[:2] == b"\x00\xff"
    assert zmtp.frame(b"x" * 256)[:9] == b"\x02" + (256).to_bytes(8, "big")
    assert zmtp.command(b"PING", b"\x00\x01") == b"\x04\x07\x04PING\x00\x01"
    assert zmtp.subscription(b"t") == b"\x00\x02\x01t" and zmtp.subscription(b"t", False) == b"\x00\x02\x00t"
    assert len(zmtp.greeting(b"PLAIN")) == 64 and zmtp.greeting(b"PLAIN")[12:17] == b"PLAIN"
    props = zmtp.properties({b"Socket-Type": b"PUB", b"Identity": b""})
    assert zmtp.parse_properties(props) == {b"socket-type": b"PUB", b"identity": b""}
    for cut in (1, 9, 18):  # inside the value, inside the name
        with pytest.raises(ValueError, match="truncated"):
            zmtp.parse_properties(zmtp.properties({b"Socket-Type": b"PUB"})[:-cut])


def test_metadata_cut_inside_a_value_size_is_rejected() -> None:
    """parse_properties() raises for a property whose 4-byte value size is incomplete."""
    for data in (b"\x0bSocket-Type\x00\x00\x00", b"\x0bSocket-Type", b"\x08Identity\x00"):
        with pytest.raises(ValueError, match="truncated"):
            zmtp.parse_properties(data)


# -- zmtp.Dealer against a libzmq ROUTER -------------------------------------------------------------
READY_ROUTER = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"ROUTER"}))


def _router(ctx: zmq.Context) -> tuple[zmq.Socket, str]:
    return _publisher(ctx, zmq.ROUTER, RCVHWM=0)


def _echo(router: zmq.Socket, seen: list[list[bytes]] | None = None) -> int:
    """Answer every message waiting at the ROUTER with its own payload (recorded in `seen`); return how many."""
    n = 0
    while router.poll(0):
        routing_id, *payload = router.recv_multipart()
        if seen is not None:
            seen.append(payload)
        router.send_multipart([routing_id, *payload])
        n += 1
    return n


async def _received(router: zmq.Socket, count: int) -> list[list[bytes]]:
    """The next `count` messages the ROUTER reads, routing id first, without answering them."""
    got: list[list[bytes]] = []

    def probe() -> bool:
        while len(got) < count and router.poll(0):
            got.append(router.recv_multipart())
        return len(got) == count

    await wait_for(probe, timeout=5, what=f"{count} message(s) at the router")
    return got


async def _bind_when_free(sock: zmq.Socket, address: str) -> None:
    def bound() -> bool:  # libzmq closes an old listener on its I/O thread, a moment later
        try:
            sock.bind(address)
        except zmq.ZMQError as e:
            if e.errno != zmq.EADDRINUSE:
                raise
            return False
        return True

    await wait_for(bound, timeout=5, what=f"{address} to be free")


async def test_dealer_requests_get_their_answers_in_order_and_frames_keep_their_boundaries() -> None:
    """1,000 requests echoed by a libzmq ROUTER come back in order as one-frame lists; [a, b, c] keeps its frames."""
    ctx = zmq.Context()
    router, address = _router(ctx)
    got: list[list[bytes]] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(address, got.append, name="test")
        await wait_for(lambda: dealer.ready, timeout=5, what="the handshake")
        for i in range(1000):
            dealer.send([b"ping-%d" % i])
        await wait_for(lambda: _echo(router) >= 0 and len(got) >= 1000, timeout=5, what="every answer")
        assert got == [[b"ping-%d" % i] for i in range(1000)]
        dealer.send([b"a", b"", b"c" * 300])
        [(routing_id, *frames)] = await _received(router, 1)
        assert routing_id and frames == [b"a", b"", b"c" * 300]
        router.send_multipart([routing_id, b"x", b"y"])
        await wait_for(lambda: len(got) == 1001, timeout=5, what="the multipart answer")
        assert got[-1] == [b"x", b"y"]
        assert dealer.handshakes == 1 and dealer.errors == 0 and dealer.last_error is None
    finally:
        await _close_endpoints(dealer)
        router.close()
        ctx.term()


async def test_dealer_large_request_and_answer_arrive_intact() -> None:
    """A 300 KB request reaches the ROUTER whole; a 5 MB answer (many TCP reads) comes back whole."""
    ctx = zmq.Context()
    router, address = _router(ctx)
    got: list[list[bytes]] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(address, got.append, name="test")
        request, answer = os.urandom(300_000), os.urandom(5_000_000)
        dealer.send([request])
        [(routing_id, *frames)] = await _received(router, 1)
        assert len(frames) == 1 and len(frames[0]) == len(request) and frames[0] == request
        router.send_multipart([routing_id, answer])
        await wait_for(lambda: got, timeout=5, what="the answer")
        assert len(got) == 1 and len(got[0]) == 1 and len(got[0][0]) == len(answer)
        assert got[0][0] == answer
        assert dealer.errors == 0
    finally:
        await _close_endpoints(dealer)
        router.close()
        ctx.term()


async def test_dealer_messages_sent_before_the_router_exists_go_out_after_the_handshake() -> None:
    """Three sends while nothing listens wait, then reach a ROUTER bound later, in order, after one handshake."""
    address = f"tcp://127.0.0.1:{free_port_pair()}"
    ctx = zmq.Context()
    router = None
    got: list[list[bytes]] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(address, got.append, reconnect_ivl=0.01, reconnect_ivl_max=0.05, name="test")
        for m in (b"first", b"second", b"third"):
            dealer.send([m])
        assert not dealer.ready and dealer.handshakes == 0
        router = ctx.socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        await _bind_when_free(router, address)
        received = await _received(router, 3)
        assert [frames for _, *frames in received] == [[b"first"], [b"second"], [b"third"]]
        assert len({routing_id for routing_id, *_ in received}) == 1
        assert dealer.handshakes == 1 and dealer.errors == 0
        router.send_multipart([received[0][0], b"answer"])
        await wait_for(lambda: got == [[b"answer"]], timeout=5, what="the answer")
    finally:
        await _close_endpoints(dealer)
        if router is not None:
            router.close()
        ctx.term()


async def test_dealer_raises_full_at_hwm_while_unconnected_and_after_close() -> None:
    """With nothing listening and hwm=2 the third send() raises Full; after close() every send() raises Full."""
    address = f"tcp://127.0.0.1:{free_port_pair()}"
    dealer = None
    try:
        dealer = zmtp.Dealer(address, lambda frames: None, hwm=2, name="test")
        dealer.send([b"1"])
        dealer.send([b"2", b"two frames"])
        with pytest.raises(zmtp.Full, match="2 messages wait for a connection"):
            dealer.send([b"3"])
        dealer.close()
        await dealer.wait_closed()
        with pytest.raises(zmtp.Full, match="closed"):
            dealer.send([b"4"])
        assert not dealer.ready and dealer.handshakes == 0 and dealer.errors == 0
    finally:
        await _close_endpoints(dealer)


async def test_dealer_send_raises_full_when_the_send_buffer_exceeds_max_buffer() -> None:
    """Against a ROUTER that never reads, send() raises Full once more than max_buffer bytes wait to be sent."""
    stop = asyncio.Event()

    async def deaf_router(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(zmtp.greeting(b"NULL") + READY_ROUTER)
        await stop.wait()  # reads no more than the StreamReader buffers by itself

    server = await _FakePub(deaf_router).start()
    dealer = None
    try:
        dealer = zmtp.Dealer(server.address, lambda frames: None, max_buffer=1_000_000, name="test")
        await wait_for(lambda: dealer.ready, timeout=5, what="the handshake")
        chunk = bytes(1_000_000)
        sent = 0
        with pytest.raises(zmtp.Full, match="1000000 bytes are waiting"):
            while sent < 200:  # the kernel's buffers take a few MB first
                dealer.send([chunk])
                sent += 1
        assert sent >= 1 and dealer.ready and dealer.errors == 0
    finally:
        stop.set()
        await _close_endpoints(dealer)
        await server.close()


async def test_dealer_send_right_after_close_on_a_live_connection_raises_full() -> None:
    """On a connected Dealer, send() called just after close() raises Full instead of dropping the message."""
    ctx = zmq.Context()
    router, address = _router(ctx)
    dealer = None
    try:
        dealer = zmtp.Dealer(address, lambda frames: None, name="test")
        await wait_for(lambda: dealer.ready, timeout=5, what="the handshake")
        dealer.close()
        with pytest.raises(zmtp.Full):
            dealer.send([b"after close"])
    finally:
        await _close_endpoints(dealer)
        router.close()
        ctx.term()


async def test_dealer_reconnects_to_a_new_router_on_the_same_port() -> None:
    """When the ROUTER goes away, the Dealer reconnects to a new one on the port: what was sent meanwhile goes out first."""
    ctx = zmq.Context()
    router, address = _router(ctx)
    router2 = None
    got: list[list[bytes]] = []
    lost: list[int] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(address, got.append, reconnect_ivl=0.01, reconnect_ivl_max=0.05, name="test",
                             on_lost=lost.append)
        assert dealer.send([b"queued"]) == 0  # no connection yet: it waits, on no connection
        await wait_for(lambda: dealer.ready, timeout=5, what="the handshake")
        assert dealer.send([b"before"]) == 1  # written on connection 1
        await wait_for(lambda: _echo(router) >= 0 and len(got) == 2, timeout=5, what="the first answers")
        assert got == [[b"queued"], [b"before"]] and lost == []
        router.close()
        await wait_for(lambda: not dealer.ready, timeout=5, what="the connection to drop")
        await wait_for(lambda: lost == [1], timeout=5, what="on_lost for connection 1")
        assert dealer.send([b"while-gone"]) == 0  # held for the next connection, not written to the dying one
        router2 = ctx.socket(zmq.ROUTER)
        router2.setsockopt(zmq.LINGER, 0)
        await _bind_when_free(router2, address)
        await wait_for(lambda: dealer.handshakes == 2, timeout=5, what="the reconnect")
        assert dealer.send([b"after"]) == 2
        seen: list[list[bytes]] = []
        await wait_for(lambda: _echo(router2, seen) >= 0 and len(got) == 4, timeout=5, what="the answers after it")
        assert seen == [[b"while-gone"], [b"after"]]
        assert got == [[b"queued"], [b"before"], [b"while-gone"], [b"after"]]
        assert dealer.errors == 0 and lost == [1]  # a ROUTER going away is no protocol error
    finally:
        await _close_endpoints(dealer)
        router.close()
        if router2 is not None:
            router2.close()
        ctx.term()


async def test_plain_credentials_longer_than_255_bytes_are_refused_at_once() -> None:
    """A PLAIN username or password over 255 bytes cannot be encoded: the constructor says so."""
    with pytest.raises(ValueError, match="255 bytes"):
        zmtp.Subscriber("tcp://127.0.0.1:9", lambda _m: None, username=b"token", password=b"x" * 256)


async def test_dealer_refuses_a_peer_that_is_not_a_router() -> None:
    """A peer whose READY says PUB is dropped with 'not a ROUTER'; the waiting request never goes to it."""
    reads: list[bytes] = []

    async def pub(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(zmtp.greeting(b"NULL") + READY_PUB)
        data = b""
        while chunk := await reader.read(65536):  # until the dealer hangs up
            data += chunk
        reads.append(data)

    server = await _FakePub(pub).start()
    got: list[list[bytes]] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(server.address, got.append, reconnect_ivl=0.01, name="test")
        dealer.send([b"request"])
        await wait_for(lambda: len(reads) >= 2 and dealer.errors >= 2, timeout=5, what="two refusals")
        assert "the peer is a PUB, not a ROUTER" in (dealer.last_error or "")
        ours = zmtp.greeting(b"NULL") + zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"DEALER"}))
        assert set(reads) == {ours}  # our greeting and READY, never the request
        assert got == [] and dealer.handshakes == 0 and not dealer.ready
    finally:
        await _close_endpoints(dealer)
        await server.close()


async def test_dealer_drops_an_answer_over_max_message_and_works_after_the_reconnect() -> None:
    """An answer above max_message counts an error naming the limit; after the reconnect requests work again."""
    ctx = zmq.Context()
    router, address = _router(ctx)
    got: list[list[bytes]] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(address, got.append, max_message=1000, reconnect_ivl=0.01, name="test")
        dealer.send([b"x" * 1000])  # at the limit is fine
        await wait_for(lambda: _echo(router) >= 0 and got, timeout=5, what="the answer at the limit")
        dealer.send([b"big"])
        [(routing_id, _)] = await _received(router, 1)
        router.send_multipart([routing_id, b"y" * 5000])
        await wait_for(lambda: dealer.errors == 1, timeout=5, what="the connection to be dropped")
        assert "limit of 1000 bytes" in (dealer.last_error or "") and "5000" in (dealer.last_error or "")
        await wait_for(lambda: dealer.handshakes == 2, timeout=5, what="the reconnect")
        dealer.send([b"small"])
        await wait_for(lambda: _echo(router) >= 0 and len(got) == 2, timeout=5, what="the answer after the reconnect")
        assert got == [[b"x" * 1000], [b"small"]] and dealer.errors == 1
    finally:
        await _close_endpoints(dealer)
        router.close()
        ctx.term()


async def test_a_libzmq_dealer_and_a_zmtp_dealer_share_a_router_and_get_only_their_own_answers() -> None:
    """Interleaved requests from a libzmq DEALER and a zmtp.Dealer to one ROUTER: each gets only its answers."""
    ctx = zmq.Context()
    router, address = _router(ctx)
    theirs = ctx.socket(zmq.DEALER)
    got: list[list[bytes]] = []
    dealer = None
    try:
        theirs.setsockopt(zmq.LINGER, 0)
        theirs.connect(address)
        dealer = zmtp.Dealer(address, got.append, name="test")
        for i in range(200):
            dealer.send([b"zmtp", b"%d" % i])
            theirs.send_multipart([b"libzmq", b"%d" % i])
        their_answers: list[list[bytes]] = []

        def all_answered() -> bool:
            _echo(router)
            while theirs.poll(0):
                their_answers.append(theirs.recv_multipart())
            return len(got) >= 200 and len(their_answers) >= 200

        await wait_for(all_answered, timeout=5, what="both dealers' answers")
        assert got == [[b"zmtp", b"%d" % i] for i in range(200)]
        assert their_answers == [[b"libzmq", b"%d" % i] for i in range(200)]
        assert dealer.errors == 0
    finally:
        await _close_endpoints(dealer)
        theirs.close()
        router.close()
        ctx.term()


async def test_dealer_drops_a_connection_that_stays_silent_and_reconnects() -> None:
    """A ROUTER that shook hands and then says nothing (its host gone, a half-open connection): after a
    read, drop_if_silent(long) keeps the connection; once silent that long it is dropped, on_lost says
    which one, and the Dealer connects again by itself."""
    ctx = zmq.Context()
    router, address = _router(ctx)
    lost: list[int] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(address, lambda _m: None, reconnect_ivl=0.01, name="test", on_lost=lost.append)
        await wait_for(lambda: dealer.ready, timeout=5, what="the handshake")
        assert dealer.drop_if_silent(60.0) is False and dealer.ready
        assert dealer.send([b"never answered"]) == 1
        await wait_for(lambda: dealer.drop_if_silent(0.05), timeout=5, what="the connection to count as silent")
        await wait_for(lambda: lost == [1] and dealer.handshakes == 2, timeout=5, what="on_lost and the reconnect")
        assert dealer.errors == 0
    finally:
        await _close_endpoints(dealer)
        router.close()
        ctx.term()
