"""zmtp_server.Router and XPub: the binding ends, against libzmq DEALER/SUB, our zmtp.Dealer/Subscriber and raw TCP peers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from control import zmtp, zmtp_server
from tests.helpers import wait_for

ANY = "tcp://127.0.0.1:*"
READY_DEALER = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"DEALER"}))
READY_SUB = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"SUB"}))
READY_PUB = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"PUB"}))
READY_ROUTER = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"ROUTER"}))
READY_XPUB = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"XPUB"}))


def _alice(user: bytes, password: bytes) -> str | None:
    return "alice" if (user, password) == (b"token", b"s3cret") else None


# -- helpers -----------------------------------------------------------------------------------------
async def _close(*things: zmtp_server.Router | zmtp_server.XPub | zmtp.Subscriber | zmtp.Dealer | None) -> None:
    """Close listeners and endpoints, then wait until each has; raise the first failure after all are closed."""
    for t in things:
        if t is not None:
            t.close()
    failures: list[Exception] = []
    for t in things:
        if t is not None:
            try:
                await t.wait_closed()  # an endpoint raises here if its task died of an exception
            except Exception as e:
                failures.append(e)
    if failures:
        raise failures[0]


@contextlib.asynccontextmanager
async def _libzmq(*ours: zmtp_server.Router | zmtp_server.XPub | zmtp.Subscriber | zmtp.Dealer | None) -> AsyncIterator[zmq.Context]:
    """A context for the test's libzmq sockets; at the end every one of its sockets and `ours` are closed."""
    ctx = zmq.Context()
    try:
        yield ctx
    finally:
        ctx.destroy(linger=0)
        await _close(*ours)


@contextlib.asynccontextmanager
async def _raw_peer(endpoint: zmtp_server.Router | zmtp_server.XPub, *, start: bool = False) -> AsyncIterator[_Raw]:
    """A hand-speaking TCP peer connected to `endpoint` (started first if asked); at the end both are closed."""
    raw = None
    try:
        if start:
            await endpoint.start()
        raw = await _Raw.connect(endpoint.address)
        yield raw
    finally:
        if raw is not None:
            await raw.close()
        await _close(endpoint)


def _zsocket(ctx: zmq.Context, kind: int, address: str, **options: int | bytes) -> zmq.Socket:
    """A libzmq socket connected to `address`, options set first."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    for name, value in options.items():
        sock.setsockopt(getattr(zmq, name), value)
    sock.connect(address)
    return sock


def _drain(sock: zmq.Socket, into: list[list[bytes]]) -> list[list[bytes]]:
    while sock.poll(0):
        into.append(sock.recv_multipart())
    return into


async def _happens(cond: Callable[[], object], within: float) -> bool:
    """Whether cond() becomes true within `within` seconds: only for checking that something does NOT happen."""
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class _Raw:
    """A TCP peer that speaks ZMTP by hand (or does not)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, address: str) -> _Raw:
        host, port = zmtp.split_address(address)
        return cls(*await asyncio.open_connection(host, port))

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def read_exactly(self, n: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(n), 5)

    async def frame(self) -> tuple[int, bytes]:
        flags = (await self.read_exactly(1))[0]
        size = int.from_bytes(await self.read_exactly(8 if flags & 0x02 else 1), "big")
        return flags, await self.read_exactly(size)

    async def message(self) -> list[bytes]:
        parts = []
        while True:
            flags, body = await self.frame()
            assert not flags & 0x04, f"a command where a message was expected: {body!r}"
            parts.append(body)
            if not flags & 0x01:
                return parts

    async def handshake(self, ready: bytes) -> bytes:
        """NULL: our greeting and READY; returns the server's READY body after checking its greeting."""
        self.write(zmtp.greeting(b"NULL") + ready)
        theirs = await self.read_exactly(64)
        assert theirs == zmtp.greeting(b"NULL")
        flags, body = await self.frame()
        assert flags == 0x04 and body.startswith(b"\x05READY")
        return body

    async def dropped(self) -> bool:
        """Read (and discard) until the server hangs up: True on EOF or a reset within 5 s."""
        try:
            async with asyncio.timeout(5):
                while await self.reader.read(65536):
                    pass
        except ConnectionError:
            return True
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def _echo_router(**kw: object) -> tuple[zmtp_server.Router, list[list[bytes]]]:
    """A started Router that records every request and sends it straight back."""
    got: list[list[bytes]] = []
    router: zmtp_server.Router

    def on_message(frames: list[bytes]) -> None:
        got.append(frames)
        router.send(frames)

    router = zmtp_server.Router(ANY, on_message, name="test", **kw)
    try:
        await router.start()
    except BaseException:
        router.close()
        raise
    return router, got


async def _round_trip(address: str) -> None:
    """A zmtp.Dealer gets its request echoed back: the listener (an _echo_router) still serves."""
    answers: list[list[bytes]] = []
    dealer = zmtp.Dealer(address, answers.append, name="good")
    try:
        dealer.send([b"still", b"serving"])
        await wait_for(lambda: answers == [[b"still", b"serving"]], timeout=5, what="the good dealer's answer")
        assert dealer.errors == 0
    finally:
        await _close(dealer)


# -- Router with libzmq DEALERs ------------------------------------------------------------------------
async def test_router_hands_requests_up_with_a_routing_id_and_answers_reach_the_libzmq_dealer() -> None:
    """A request arrives as [routing id, *frames] (frames kept apart, long ones too); send() answers that dealer."""
    got: list[list[bytes]] = []
    router = zmtp_server.Router(ANY, got.append, name="test")
    async with _libzmq(router) as ctx:
        await router.start()
        assert router.address.startswith("tcp://127.0.0.1:") and not router.address.endswith(":*")
        dealer = _zsocket(ctx, zmq.DEALER, router.address)
        dealer.send(b"ping")
        await wait_for(lambda: got, timeout=5, what="the request")
        [(ident, payload)] = got
        assert payload == b"ping"
        assert len(ident) == 5 and ident[0] == 0  # one made up, as libzmq's
        assert router.send([ident, b"pong"]) is True
        answers: list[list[bytes]] = []
        await wait_for(lambda: _drain(dealer, answers), timeout=5, what="the answer")
        assert answers == [[b"pong"]]

        dealer.send_multipart([b"a", b"", b"c" * 300, b"d" * 70_000])
        await wait_for(lambda: len(got) == 2, timeout=5, what="the multipart request")
        assert got[1] == [ident, b"a", b"", b"c" * 300, b"d" * 70_000]
        assert router.send([ident, b"x", b"", b"y" * 1000])
        await wait_for(lambda: len(_drain(dealer, answers)) == 2, timeout=5, what="the multipart answer")
        assert answers[1] == [b"x", b"", b"y" * 1000]
        assert router.handshakes == 1 and router.errors == 0 and router.dropped == 0 and len(router.peers) == 1


async def test_two_libzmq_dealers_get_distinct_routing_ids_and_only_their_own_answers() -> None:
    """Interleaved requests from two DEALERs, echoed: each gets exactly its own answers, in order."""
    router, got = await _echo_router()
    async with _libzmq(router) as ctx:
        dealers = [_zsocket(ctx, zmq.DEALER, router.address) for _ in range(2)]
        for i in range(100):
            for n, d in enumerate(dealers):
                d.send_multipart([b"d%d" % n, b"%d" % i])
        answers: list[list[list[bytes]]] = [[], []]
        await wait_for(lambda: all(len(_drain(d, a)) >= 100 for d, a in zip(dealers, answers, strict=True)),
                       timeout=5, what="every answer")
        for n in range(2):
            assert answers[n] == [[b"d%d" % n, b"%d" % i] for i in range(100)]
        ids = {frames[0] for frames in got}
        assert len(ids) == 2
        by_id = {frames[0]: frames[1] for frames in got}
        assert sorted(by_id.values()) == [b"d0", b"d1"]
        assert all(frames[1] == by_id[frames[0]] for frames in got)  # one routing id per connection
        assert router.dropped == 0 and router.errors == 0


async def test_a_dealer_routing_id_is_used_and_a_second_connection_with_it_takes_it_over() -> None:
    """ROUTING_ID b'worker-1' is the routing id; a second DEALER with it gets the answers from then on."""
    router, got = await _echo_router()
    async with _libzmq(router) as ctx:
        old = _zsocket(ctx, zmq.DEALER, router.address, ROUTING_ID=b"worker-1")
        old.send(b"from-old")
        await wait_for(lambda: got, timeout=5, what="the first request")
        assert got == [[b"worker-1", b"from-old"]]
        old_answers = await wait_for(lambda: _drain(old, []), timeout=5, what="the old dealer's answer")
        assert old_answers == [[b"from-old"]]

        new = _zsocket(ctx, zmq.DEALER, router.address, ROUTING_ID=b"worker-1")
        await wait_for(lambda: router.handshakes == 2, timeout=5, what="the second connection's handshake")
        assert router.send([b"worker-1", b"to-whoever-has-it"])
        new_answers = await wait_for(lambda: _drain(new, []), timeout=5, what="the answer at the new dealer")
        assert new_answers == [[b"to-whoever-has-it"]]
        assert not old.poll(100)  # not (also) to the old one

        zero = _zsocket(ctx, zmq.DEALER, router.address, ROUTING_ID=b"\x00mine")
        zero.send(b"z")
        await wait_for(lambda: got[-1][1:] == [b"z"], timeout=5, what="the request of the zero-led id")
        ident = got[-1][0]
        assert ident != b"\x00mine" and len(ident) == 5 and ident[0] == 0  # libzmq reserves those: one made up
        assert await wait_for(lambda: _drain(zero, []), timeout=5, what="its answer") == [[b"z"]]
        assert router.errors == 0


async def test_after_a_handover_the_replaced_connection_no_longer_speaks_for_the_routing_id() -> None:
    """As libzmq's ROUTER_HANDOVER: the old connection's pipe is ended, so what it still sends is not
    handed up as coming from the id (whose answers now go to the new connection)."""
    router, got = await _echo_router()
    old = new = None
    ready = zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"DEALER", b"Identity": b"worker-1"}))
    try:
        old = await _Raw.connect(router.address)
        await old.handshake(ready)
        new = await _Raw.connect(router.address)
        await new.handshake(ready)
        await wait_for(lambda: router.handshakes == 2, timeout=5, what="both handshakes")
        new.write(zmtp.frame(b"from-new"))
        assert await new.message() == [b"from-new"]
        with contextlib.suppress(ConnectionError):
            # then a frame with reserved flag bits: once the Router has dropped the old connection for
            # it, it has read (and dealt with) the request before it
            old.write(zmtp.frame(b"from-old") + bytes((0x80, 1)) + b"x")
        await wait_for(lambda: router.errors == 1, timeout=5, what="the old connection's bad frame to be read")
        assert [b"worker-1", b"from-old"] not in got, (
            "the old connection's request was handed up as worker-1's: its answer went to the new connection")
    finally:
        for r in (old, new):
            if r is not None:
                await r.close()
        await _close(router)


async def test_send_to_an_unknown_or_departed_routing_id_returns_false_and_counts_dropped() -> None:
    """send() for an id never seen, or for a dealer that has gone, is dropped and counted, never raised."""
    router, got = await _echo_router()
    async with _libzmq(router) as ctx:
        assert router.send([b"nobody", b"answer"]) is False
        assert router.dropped == 1
        dealer = _zsocket(ctx, zmq.DEALER, router.address)
        dealer.send(b"hi")
        await wait_for(lambda: got, timeout=5, what="the request")
        ident = got[0][0]
        await wait_for(lambda: _drain(dealer, []), timeout=5, what="the echo")
        assert router.dropped == 1
        dealer.close(linger=0)
        await wait_for(lambda: not router.peers and ident not in router.routes, timeout=5, what="the dealer to go")
        assert router.send([ident, b"too late"]) is False
        assert router.dropped == 2 and router.errors == 0  # a peer going away is no protocol error


async def test_router_answers_a_libzmq_req_socket() -> None:
    """A REQ peer's empty delimiter frame comes up with the request and goes back with the answer."""
    got: list[list[bytes]] = []
    router = zmtp_server.Router(ANY, got.append, name="test")
    async with _libzmq(router) as ctx:
        await router.start()
        req = _zsocket(ctx, zmq.REQ, router.address)
        req.send(b"question")
        await wait_for(lambda: got, timeout=5, what="the request")
        [(ident, delimiter, body)] = got
        assert delimiter == b"" and body == b"question"
        assert router.send([ident, b"", b"answer"])
        assert await wait_for(lambda: _drain(req, []), timeout=5, what="the answer") == [[b"answer"]]


# -- Router with our zmtp.Dealer -----------------------------------------------------------------------
async def test_router_and_a_zmtp_dealer_round_trip_in_order() -> None:
    """1,000 requests from zmtp.Dealer, echoed: back in order; a multipart one keeps its frames."""
    router, got = await _echo_router()
    answers: list[list[bytes]] = []
    dealer = None
    try:
        dealer = zmtp.Dealer(router.address, answers.append, name="test")
        for i in range(1000):
            dealer.send([b"r%d" % i])
        dealer.send([b"a", b"", b"c" * 300])
        await wait_for(lambda: len(answers) == 1001, timeout=5, what="every answer")
        assert answers == [[b"r%d" % i] for i in range(1000)] + [[b"a", b"", b"c" * 300]]
        assert len({frames[0] for frames in got}) == 1
        assert dealer.errors == 0 and router.errors == 0 and router.handshakes == 1 == dealer.handshakes
    finally:
        await _close(dealer, router)


# -- XPub ----------------------------------------------------------------------------------------------
class _Subs:
    """on_subscription that records its calls and refuses the topics in `refuse`."""

    def __init__(self, refuse: tuple[bytes, ...] = ()) -> None:
        self.calls: list[tuple[str | None, bytes, bool]] = []
        self.refuse = refuse

    def __call__(self, user: str | None, topic: bytes, on: bool) -> bool:
        self.calls.append((user, topic, on))
        return topic not in self.refuse


async def test_xpub_with_libzmq_subs_delivers_by_prefix_and_reports_subscriptions() -> None:
    """Subscriptions reach on_subscription (user None with NULL); each message goes to the subscribers of a
    prefix of its topic, b'' to all; an unsubscribed topic stops; a closed SUB's topics are cancelled."""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, name="test")
    async with _libzmq(xpub) as ctx:
        await xpub.start()
        pods = _zsocket(ctx, zmq.SUB, xpub.address, SUBSCRIBE=b"pods\x00")
        pods.setsockopt(zmq.SUBSCRIBE, b"nodes\x00n1")
        everything = _zsocket(ctx, zmq.SUB, xpub.address, SUBSCRIBE=b"")
        await wait_for(lambda: len(subs.calls) == 3, timeout=5, what="three subscriptions")
        assert sorted(subs.calls) == [(None, b"", True), (None, b"nodes\x00n1", True), (None, b"pods\x00", True)]

        assert xpub.send([b"pods\x00", b"p1"]) == 2
        assert xpub.send([b"pods\x00default/x", b"p2"]) == 2  # a longer topic: pods\x00 is a prefix of it
        assert xpub.send([b"nodes\x00n2", b"n2"]) == 1
        assert xpub.send([b"nodes\x00n1", b"n1"]) == 2
        assert xpub.send([b"pods", b"no separator"]) == 1
        assert xpub.sent == 8
        got_pods: list[list[bytes]] = []
        got_all: list[list[bytes]] = []
        await wait_for(lambda: len(_drain(pods, got_pods)) >= 3 and len(_drain(everything, got_all)) >= 5,
                       timeout=5, what="the messages")
        assert got_pods == [[b"pods\x00", b"p1"], [b"pods\x00default/x", b"p2"], [b"nodes\x00n1", b"n1"]]
        assert [m[1] for m in got_all] == [b"p1", b"p2", b"n2", b"n1", b"no separator"]

        pods.setsockopt(zmq.UNSUBSCRIBE, b"pods\x00")
        await wait_for(lambda: (None, b"pods\x00", False) in subs.calls, timeout=5, what="the cancellation")
        assert xpub.send([b"pods\x00", b"p3"]) == 1  # only `everything` now
        assert xpub.send([b"nodes\x00n1", b"n1-again"]) == 2
        await wait_for(lambda: len(_drain(pods, got_pods)) >= 4, timeout=5, what="the topic still subscribed")
        assert got_pods[3:] == [[b"nodes\x00n1", b"n1-again"]]

        before = len(subs.calls)
        pods.close(linger=0)
        await wait_for(lambda: len(subs.calls) == before + 1, timeout=5, what="the closed SUB's cancellations")
        assert subs.calls[before:] == [(None, b"nodes\x00n1", False)]
        assert len(xpub.peers) == 1 and xpub.send([b"nodes\x00n1", b"n1-3"]) == 1
        assert xpub.errors == 0 and xpub.dropped == 0 and xpub.handshakes == 2


async def test_xpub_with_zmtp_subscribers_delivers_by_prefix_and_cancels_on_disconnect() -> None:
    """Our zmtp.Subscriber: subscribe, receive by prefix, unsubscribe; on close every topic is cancelled (user None)."""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, name="test")
    got: list[list[bytes]] = []
    sub = None
    try:
        await xpub.start()
        sub = zmtp.Subscriber(xpub.address, got.append, name="test")
        sub.subscribe(b"a")
        sub.subscribe(b"b\x00")
        await wait_for(lambda: len(subs.calls) == 2, timeout=5, what="the subscriptions")
        assert sorted(subs.calls) == [(None, b"a", True), (None, b"b\x00", True)]
        for topic in (b"a", b"ab", b"b\x00", b"b", b"c"):
            xpub.send([topic, b"x", b"y"])
        await wait_for(lambda: len(got) == 3, timeout=5, what="three messages")
        assert got == [[b"a", b"x", b"y"], [b"ab", b"x", b"y"], [b"b\x00", b"x", b"y"]]
        sub.unsubscribe(b"a")
        await wait_for(lambda: len(subs.calls) == 3, timeout=5, what="the cancellation")
        assert subs.calls[2] == (None, b"a", False)
        assert xpub.send([b"a", b"gone"]) == 0 and xpub.send([b"b\x00", b"still"]) == 1
        await wait_for(lambda: len(got) == 4, timeout=5, what="the topic still subscribed")
        assert got[3] == [b"b\x00", b"still"]
        sub.close()
        await sub.wait_closed()
        await wait_for(lambda: len(subs.calls) == 4, timeout=5, what="the disconnect's cancellation")
        assert subs.calls[3] == (None, b"b\x00", False)
        assert not xpub.peers and xpub.errors == 0
    finally:
        await _close(sub, xpub)


async def test_a_subscription_refused_by_on_subscription_gets_nothing() -> None:
    """on_subscription returning False: the topic is not subscribed; the allowed one is; a later one is asked again."""
    subs = _Subs(refuse=(b"secret",))
    xpub = zmtp_server.XPub(ANY, subs, name="test")
    ctx = zmq.Context()
    theirs = None
    ours = None
    got_ours: list[list[bytes]] = []
    try:
        await xpub.start()
        theirs = _zsocket(ctx, zmq.SUB, xpub.address, SUBSCRIBE=b"secret")
        theirs.setsockopt(zmq.SUBSCRIBE, b"public")
        ours = zmtp.Subscriber(xpub.address, got_ours.append, name="test")
        ours.subscribe(b"secret")
        ours.subscribe(b"public")
        await wait_for(lambda: len(subs.calls) == 4, timeout=5, what="four subscriptions")
        assert xpub.send([b"secret", b"s"]) == 0
        assert xpub.send([b"secret-too", b"s"]) == 0
        assert xpub.send([b"public", b"p"]) == 2
        got_theirs = await wait_for(lambda: _drain(theirs, []), timeout=5, what="the libzmq SUB's message")
        await wait_for(lambda: got_ours, timeout=5, what="the zmtp.Subscriber's message")
        assert got_theirs == [[b"public", b"p"]] and got_ours == [[b"public", b"p"]]
        assert all(c.topics == {b"public"} for c in xpub.peers)
        assert xpub.dropped == 0  # refused is not dropped: it was never wanted
    finally:
        if theirs is not None:
            theirs.close(linger=0)
        ctx.term()
        await _close(ours, xpub)


async def test_zmtp_3_1_subscribe_and_cancel_commands_work_like_subscription_messages() -> None:
    """SUBSCRIBE/CANCEL commands (ZMTP 3.1) from a raw SUB peer; other messages from it are ignored."""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, name="test")
    async with _raw_peer(xpub, start=True) as raw:
        ready = await raw.handshake(READY_SUB)
        assert zmtp.parse_properties(ready[6:]) == {b"socket-type": b"XPUB"}
        raw.write(zmtp.command(b"SUBSCRIBE", b"t") + zmtp.frame(b"junk") + zmtp.message([b"\x01multi", b"part"]))
        await wait_for(lambda: subs.calls, timeout=5, what="the SUBSCRIBE command")
        assert xpub.send([b"t1", b"x"]) == 1
        assert await raw.message() == [b"t1", b"x"]
        raw.write(zmtp.command(b"CANCEL", b"t"))
        await wait_for(lambda: len(subs.calls) == 2, timeout=5, what="the CANCEL command")
        assert subs.calls == [(None, b"t", True), (None, b"t", False)]
        assert xpub.send([b"t1", b"y"]) == 0 and xpub.errors == 0


# -- PLAIN ---------------------------------------------------------------------------------------------
async def test_plain_xpub_lets_a_libzmq_sub_with_the_right_password_in_as_its_user() -> None:
    """PLAIN_USERNAME/PLAIN_PASSWORD accepted by authenticate(): messages flow, on_subscription sees 'alice'."""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, authenticate=_alice, name="test")
    async with _libzmq(xpub) as ctx:
        await xpub.start()
        sub = _zsocket(ctx, zmq.SUB, xpub.address, PLAIN_USERNAME=b"token", PLAIN_PASSWORD=b"s3cret",
                       SUBSCRIBE=b"w")
        await wait_for(lambda: subs.calls, timeout=5, what="the subscription")
        assert subs.calls == [("alice", b"w", True)]
        assert xpub.send([b"w", b"1"]) == 1
        assert await wait_for(lambda: _drain(sub, []), timeout=5, what="the message") == [[b"w", b"1"]]
        assert xpub.handshakes == 1 and xpub.refused == 0 and xpub.errors == 0
        sub.close(linger=0)
        await wait_for(lambda: len(subs.calls) == 2, timeout=5, what="the cancellation")
        assert subs.calls[1] == (None, b"w", False)  # as libzmq's own, without a user


async def test_plain_xpub_refuses_a_libzmq_sub_with_a_wrong_password() -> None:
    """A wrong password: `refused` counts each attempt, no subscription reaches on_subscription, nothing arrives."""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, authenticate=_alice, name="test")
    async with _libzmq(xpub) as ctx:
        await xpub.start()
        sub = _zsocket(ctx, zmq.SUB, xpub.address, PLAIN_USERNAME=b"token", PLAIN_PASSWORD=b"wrong",
                       SUBSCRIBE=b"")
        # libzmq takes the ERROR as a protocol error and does not reconnect: one refusal.
        await wait_for(lambda: xpub.refused >= 1 and not xpub._all, timeout=5, what="the refusal")
        assert xpub.errors == xpub.refused and xpub.last_error == "credential refused"
        assert subs.calls == [] and xpub.handshakes == 0 and not xpub.peers
        assert xpub.send([b"w", b"never"]) == 0
        assert not sub.poll(0)


async def test_plain_xpub_with_zmtp_subscribers_right_and_wrong_password() -> None:
    """Our Subscriber with username/password: the right one gets messages as alice; the wrong one's
    last_error says it was refused, and it gets nothing."""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, authenticate=_alice, name="test")
    good_got: list[list[bytes]] = []
    bad_got: list[list[bytes]] = []
    good = bad = None
    try:
        await xpub.start()
        good = zmtp.Subscriber(xpub.address, good_got.append, username=b"token", password=b"s3cret", name="good")
        good.subscribe(b"w")
        bad = zmtp.Subscriber(xpub.address, bad_got.append, username=b"token", password=b"nope", name="bad")
        bad.subscribe(b"w")
        await wait_for(lambda: subs.calls and bad.errors >= 1, timeout=5, what="the subscription and the refusal")
        assert "refused" in (bad.last_error or "") and "invalid credential" in (bad.last_error or "")
        assert subs.calls == [("alice", b"w", True)]
        assert xpub.send([b"w", b"1"]) == 1
        await wait_for(lambda: good_got, timeout=5, what="the message")
        assert good_got == [[b"w", b"1"]] and bad_got == [] and bad.handshakes == 0
        assert xpub.refused >= 1 and xpub.handshakes == 1 and good.errors == 0
    finally:
        await _close(good, bad, xpub)


@pytest.mark.parametrize("client", ["libzmq", "zmtp"])
@pytest.mark.parametrize("server_plain", [True, False], ids=["null-client-plain-server", "plain-client-null-server"])
async def test_a_client_of_the_other_mechanism_is_dropped(server_plain: bool, client: str) -> None:
    """NULL against PLAIN and PLAIN against NULL: a mechanism mismatch, the connection dropped, nothing subscribed.
    (libzmq reads our whole greeting before it sends the rest of its own, so it is the one that sees the
    mismatch and hangs up; our Subscriber sends its greeting at once, so the listener sees it too.)"""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, authenticate=_alice if server_plain else None, name="test")
    ctx = zmq.Context()
    theirs = monitor = None
    ours = None
    client_mech, server_mech = ("NULL", "PLAIN") if server_plain else ("PLAIN", "NULL")
    try:
        await xpub.start()
        if client == "zmtp":
            creds: dict[str, bytes] = {} if server_plain else {"username": b"token", "password": b"s3cret"}
            ours = zmtp.Subscriber(xpub.address, lambda _m: None, name="test", **creds)
            ours.subscribe(b"")
            await wait_for(lambda: xpub.errors >= 1 and ours.errors >= 1, timeout=5, what="the mismatch")
            assert f"wants the {client_mech} security mechanism, we offered {server_mech}" in (xpub.last_error or "")
            assert f"wants the {server_mech} security mechanism" in (ours.last_error or "")
            assert ours.handshakes == 0
        else:
            theirs = ctx.socket(zmq.SUB)
            theirs.setsockopt(zmq.LINGER, 0)
            if not server_plain:
                theirs.setsockopt(zmq.PLAIN_USERNAME, b"token")
                theirs.setsockopt(zmq.PLAIN_PASSWORD, b"s3cret")
            theirs.setsockopt(zmq.SUBSCRIBE, b"")
            monitor = theirs.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_SUCCEEDED)
            theirs.connect(xpub.address)
            event = await wait_for(lambda: monitor.poll(0) and recv_monitor_message(monitor), timeout=5,
                                   what="the libzmq SUB's handshake to end")
            assert event["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            assert event["value"] == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
            await wait_for(lambda: not xpub._all, timeout=5, what="the connection to go")
        assert subs.calls == [] and xpub.handshakes == 0 and xpub.refused == 0 and not xpub.peers
        assert xpub.send([b"t", b"never"]) == 0
    finally:
        if theirs is not None:
            if monitor is not None:
                theirs.disable_monitor()
                monitor.close(linger=0)
            theirs.close(linger=0)
        ctx.term()
        await _close(ours, xpub)


# -- malformed peers -----------------------------------------------------------------------------------
def _with_version(major: int) -> bytes:
    g = bytearray(zmtp.greeting(b"NULL"))
    g[10] = major
    return bytes(g)


NULL = zmtp.greeting(b"NULL")
PLAIN = zmtp.greeting(b"PLAIN")
MALFORMED: dict[str, tuple[str, bytes, str]] = {
    # name: (listener, what the peer writes, what last_error says)
    "garbage": ("router", b"GET / HTTP/1.1\r\nHost: kube-tui\r\n\r\n".ljust(80, b"x"), "bad greeting signature"),
    # shorter than a greeting: dropped on its first byte, not after the 10 s handshake timeout
    "short-garbage": ("router", b"GET / HTTP/1.1\r\n\r\n", "bad greeting signature"),
    "short-bad-signature": ("router", b"\xff" + bytes(9), "bad greeting signature"),
    "zmtp-2": ("router", _with_version(2), "ZMTP 2.x"),
    "wrong-mechanism": ("router", zmtp.greeting(b"CURVE"), "wants the CURVE security mechanism, we offered NULL"),
    "plain-to-null": ("router", PLAIN, "wants the PLAIN security mechanism, we offered NULL"),
    "reserved-flags": ("router", NULL + READY_DEALER + bytes((0x08, 1)) + b"x", "reserved flag bits"),
    "reserved-flags-in-handshake": ("router", NULL + bytes((0x44, 1)) + b"x", "reserved flag bits"),
    "message-before-ready": ("router", NULL + zmtp.frame(b"early"), "before the handshake"),
    "pub-to-router": ("router", NULL + READY_PUB, "the peer is a PUB, not a DEALER or REQ or ROUTER"),
    "no-socket-type": ("router", NULL + zmtp.command(b"READY"), "socket of no type"),
    "truncated-metadata": ("router", NULL + zmtp.command(b"READY", zmtp.properties({b"Socket-Type": b"DEALER"})[:-2]),
                           "malformed READY command"),
    "hello-to-null": ("router", NULL + zmtp.command(b"HELLO", b"\x00\x00"), "unexpected HELLO command"),
    "malformed-command": ("router", NULL + zmtp.frame(b"\x09READY", 0x04), "malformed command frame"),
    "error-command": ("router", NULL + zmtp.command(b"ERROR", b"\x03bye"), "the peer gave up: bye"),
    "frame-over-max-message": ("router", NULL + READY_DEALER + zmtp.frame(b"x" * 5000),
                               "a frame of 5000 bytes exceeds the limit of 1000 bytes"),
    "message-over-max-message": ("router", NULL + READY_DEALER + zmtp.message([b"x" * 600, b"y" * 600]),
                                 "exceeds the limit"),
    "dealer-to-xpub": ("xpub", NULL + READY_DEALER, "the peer is a DEALER, not a SUB or XSUB"),
    "router-to-xpub": ("xpub", NULL + READY_ROUTER, "not a SUB or XSUB"),
    "null-to-plain": ("plain", NULL + READY_SUB, "wants the NULL security mechanism, we offered PLAIN"),
    "ready-instead-of-hello": ("plain", PLAIN + READY_SUB, "expected HELLO (PLAIN), got READY"),
    "malformed-hello": ("plain", PLAIN + zmtp.command(b"HELLO", b"\x05tok"), "malformed HELLO command"),
    "hello-with-extra-bytes": ("plain", PLAIN + zmtp.command(b"HELLO", b"\x05token\x06s3cretEXTRA"),
                               "malformed HELLO command"),
    "message-after-welcome": ("plain", PLAIN + zmtp.command(b"HELLO", b"\x05token\x06s3cret") + zmtp.frame(b"x"),
                              "before the handshake"),
    "initiate-from-a-pub": ("plain", PLAIN + zmtp.command(b"HELLO", b"\x05token\x06s3cret")
                            + zmtp.command(b"INITIATE", zmtp.properties({b"Socket-Type": b"PUB"})),
                            "the peer is a PUB, not a SUB or XSUB"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_peer_is_dropped_and_the_listener_keeps_serving(case: str) -> None:
    """Each protocol violation: the connection is dropped (the peer sees the end), `errors` counts it with a
    clear reason, nothing is handed up, and a good client is served afterwards."""
    kind, data, reason = MALFORMED[case]
    got: list[list[bytes]] = []
    subs = _Subs()
    listener: zmtp_server.Router | zmtp_server.XPub
    if kind == "router":
        listener, got = await _echo_router(max_message=1000)
    else:
        listener = zmtp_server.XPub(ANY, subs, authenticate=_alice if kind == "plain" else None, name="test")
        await listener.start()
    raw = good = None
    try:
        raw = await _Raw.connect(listener.address)
        raw.write(data)
        assert await raw.dropped(), "the server did not hang up"
        await wait_for(lambda: not listener._all, timeout=5, what="the connection to be forgotten")
        assert listener.errors == 1 and reason in (listener.last_error or ""), listener.last_error
        assert got == [] and subs.calls == [] and not listener.peers and listener.refused == 0
        if isinstance(listener, zmtp_server.Router):
            await _round_trip(listener.address)
        else:
            creds = {"username": b"token", "password": b"s3cret"} if kind == "plain" else {}
            good_got: list[list[bytes]] = []
            good = zmtp.Subscriber(listener.address, good_got.append, name="good", **creds)
            good.subscribe(b"t")
            await wait_for(lambda: subs.calls, timeout=5, what="the good subscription")
            assert listener.send([b"t", b"ok"]) == 1
            await wait_for(lambda: good_got == [[b"t", b"ok"]], timeout=5, what="the good subscriber's message")
        assert listener.errors == 1
    finally:
        if raw is not None:
            await raw.close()
        await _close(good, listener)


async def test_a_peer_that_never_finishes_the_handshake_is_dropped_after_the_timeout(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Half a greeting and then silence: dropped after HANDSHAKE_TIMEOUT with 'no handshake', counted."""
    monkeypatch.setattr(zmtp, "HANDSHAKE_TIMEOUT", 0.2)
    router, _ = await _echo_router()
    async with _raw_peer(router) as raw:
        started = time.monotonic()
        raw.write(NULL[:20])
        assert await raw.dropped()
        assert time.monotonic() - started >= 0.15
        await wait_for(lambda: router.errors == 1, timeout=5, what="the error to be counted")
        assert "no handshake within 0.2s" in (router.last_error or "")
        await _round_trip(router.address)


async def test_ping_after_the_handshake_gets_a_pong_with_its_context() -> None:
    """ZMTP 3.1 heartbeat: PING (TTL, context) is answered with PONG carrying the context; the session goes on."""
    router, got = await _echo_router()
    async with _raw_peer(router) as raw:
        await raw.handshake(READY_DEALER)
        raw.write(zmtp.command(b"PING", b"\x00\x64" + b"ctx-42"))
        assert await raw.frame() == (0x04, b"\x04PONG" + b"ctx-42")
        raw.write(zmtp.command(b"PING", b"\x00\x00"))  # no context
        assert await raw.frame() == (0x04, b"\x04PONG")
        raw.write(zmtp.command(b"UNKNOWN", b"ignored") + zmtp.frame(b"after the ping"))
        assert await raw.message() == [b"after the ping"]
        assert [f[1:] for f in got] == [[b"after the ping"]] and router.errors == 0


# -- back-pressure ---------------------------------------------------------------------------------------
async def test_xpub_drops_for_a_subscriber_that_does_not_read_while_a_reading_one_gets_everything() -> None:
    """max_buffer 64 KiB: a peer that subscribed by hand and never reads loses messages (`dropped`), stays
    connected, and never holds up the other subscriber, which gets every message in order."""
    subs = _Subs()
    xpub = zmtp_server.XPub(ANY, subs, max_buffer=64 * 1024, name="test")
    got: list[list[bytes]] = []
    arrived = asyncio.Event()

    def on_message(frames: list[bytes]) -> None:
        got.append(frames)
        arrived.set()

    good = None
    deaf = None
    loop = asyncio.get_running_loop()
    try:
        await xpub.start()
        good = zmtp.Subscriber(xpub.address, on_message, name="good")
        good.subscribe(b"t")
        deaf = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills sooner
        deaf.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(deaf, zmtp.split_address(xpub.address)), 5)
        await asyncio.wait_for(loop.sock_sendall(deaf, NULL + READY_SUB + zmtp.subscription(b"t")), 5)
        expected = NULL + READY_XPUB
        seen = b""
        while len(seen) < len(expected):  # the server's greeting and READY; after that it never reads
            seen += await asyncio.wait_for(loop.sock_recv(deaf, len(expected) - len(seen)), 5)
        assert seen == expected
        await wait_for(lambda: len(subs.calls) == 2, timeout=5, what="both subscriptions")

        payload = bytes(16 * 1024)
        sent = 0
        while xpub.dropped < 20:
            assert sent < 4000, f"nothing dropped after {sent} messages of 16 KiB"
            arrived.clear()
            assert xpub.send([b"t", b"%06d" % sent, payload]) >= 1
            sent += 1
            await asyncio.wait_for(arrived.wait(), 5)  # paced by the reader: its backlog never builds up
        assert len(got) == sent
        assert [m[1] for m in got] == [b"%06d" % i for i in range(sent)]
        assert all(m == [b"t", m[1], payload] for m in got)
        assert xpub.sent + xpub.dropped == 2 * sent  # each message reached or was dropped for the deaf peer
        assert len(xpub.peers) == 2 and xpub.errors == 0  # messages are dropped, not the connection
    finally:
        if deaf is not None:
            deaf.close()
        await _close(good, xpub)


async def test_router_send_drops_an_answer_for_a_dealer_that_does_not_read() -> None:
    """Router.send() returns False (counted in `dropped`) once more than max_buffer bytes wait for a peer."""
    got: list[list[bytes]] = []
    router = zmtp_server.Router(ANY, got.append, max_buffer=64 * 1024, name="test")
    async with _raw_peer(router, start=True) as raw:
        await raw.handshake(READY_DEALER)
        raw.writer.transport.pause_reading()  # reads no more from here on
        raw.write(zmtp.frame(b"request"))
        await wait_for(lambda: got, timeout=5, what="the request")
        ident = got[0][0]
        answer = bytes(64 * 1024)
        results = [router.send([ident, answer]) for _ in range(2000)]  # 128 MB at most: the kernel takes a few
        assert results[0] is True and results[-1] is False
        assert router.dropped == results.count(False) > 0
        assert router.errors == 0 and len(router.peers) == 1


# -- pause_reading / resume_reading ----------------------------------------------------------------------
async def test_router_pause_reading_holds_requests_until_resume() -> None:
    """While paused no request is handed up (answers still go out); after resume_reading() they arrive in order."""
    got: list[list[bytes]] = []
    router = zmtp_server.Router(ANY, got.append, name="test")
    answers: list[list[bytes]] = []
    dealer = None
    try:
        await router.start()
        dealer = zmtp.Dealer(router.address, answers.append, name="test")
        dealer.send([b"before"])
        await wait_for(lambda: got, timeout=5, what="the first request")
        ident = got[0][0]

        router.pause_reading()
        router.pause_reading()  # twice is once
        assert router.paused
        dealer.send([b"while-paused-1"])  # written to the socket now (the Dealer writes at once)
        dealer.send([b"while-paused-2", b"two frames"])
        for i in range(3):  # answers go out while paused: each round trip turns the loop many times
            assert router.send([ident, b"answer-%d" % i])
            await wait_for(lambda i=i: len(answers) == i + 1, timeout=5, what="an answer while paused")
        assert got == [[ident, b"before"]]

        router.resume_reading()
        router.resume_reading()
        assert not router.paused
        await wait_for(lambda: len(got) == 3, timeout=5, what="the held requests")
        assert got == [[ident, b"before"], [ident, b"while-paused-1"], [ident, b"while-paused-2", b"two frames"]]
        router.pause_reading()  # and again, after a resume
        dealer.send([b"while-paused-3"])
        assert router.send([ident, b"answer-3"])
        await wait_for(lambda: len(answers) == 4, timeout=5, what="an answer while paused again")
        assert len(got) == 3
        router.resume_reading()
        await wait_for(lambda: len(got) == 4, timeout=5, what="the request held the second time")
        assert got[3] == [ident, b"while-paused-3"] and router.errors == 0
    finally:
        await _close(dealer, router)


async def test_pause_reading_from_on_message_stops_at_that_message() -> None:
    """The API server pauses from inside on_message (MAX_IN_FLIGHT reached): the requests that came in the
    same read must wait for resume_reading() too, as the docstring says ("read no more requests")."""
    got: list[list[bytes]] = []
    router: zmtp_server.Router

    def on_message(frames: list[bytes]) -> None:
        got.append(frames)
        router.pause_reading()

    router = zmtp_server.Router(ANY, on_message, name="test")
    async with _raw_peer(router, start=True) as raw:
        await raw.handshake(READY_DEALER)
        raw.write(b"".join(zmtp.frame(b"req-%d" % i) for i in range(10)))  # one write: most likely one read
        await wait_for(lambda: got, timeout=5, what="the first request")
        ident = got[0][0]
        assert router.send([ident, b"answer"])  # a round trip: the loop turns while paused
        assert await raw.message() == [b"answer"]
        assert [f[1] for f in got] == [b"req-0"], "requests were handed up after pause_reading()"
        router.resume_reading()  # each message pauses again: one per resume
        await wait_for(lambda: len(got) == 2, timeout=5, what="the next request after a resume")


async def test_a_connection_accepted_while_paused_is_held_too() -> None:
    """A DEALER that connects while the Router is paused: its request waits for resume_reading() as well."""
    got: list[list[bytes]] = []
    router = zmtp_server.Router(ANY, got.append, name="test")
    answers: list[list[bytes]] = []
    dealer = later = None
    try:
        await router.start()
        dealer = zmtp.Dealer(router.address, answers.append, name="test")
        dealer.send([b"before"])
        await wait_for(lambda: got, timeout=5, what="the first request")
        ident = got[0][0]
        router.pause_reading()
        later = zmtp.Dealer(router.address, lambda _m: None, name="later")
        later.send([b"from-later"])
        # The later Dealer has our greeting and READY (sent unasked): it has written its READY and request.
        await wait_for(lambda: later.ready, timeout=5, what="the later dealer's side of the handshake")
        for i in range(3):  # the loop turns many times: a connection read meanwhile would have handed it up
            assert router.send([ident, b"answer-%d" % i])
            await wait_for(lambda i=i: len(answers) == i + 1, timeout=5, what="an answer while paused")
        assert got == [[ident, b"before"]], "a request was handed up while paused"
        assert router.handshakes == 1
        router.resume_reading()
        await wait_for(lambda: len(got) == 2, timeout=5, what="the later request after the resume")
        assert got[1][1:] == [b"from-later"] and got[1][0] != ident and router.handshakes == 2
    finally:
        await _close(dealer, later, router)


async def test_a_pause_longer_than_the_handshake_timeout_does_not_drop_a_healthy_dealer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """pause_reading() stops reading requests; a DEALER in the middle of its handshake did nothing wrong and
    must not be dropped (nor counted in `errors`) for a handshake the Router is not reading."""
    monkeypatch.setattr(zmtp, "HANDSHAKE_TIMEOUT", 0.2)
    got: list[list[bytes]] = []
    router = zmtp_server.Router(ANY, got.append, name="test")
    async with _raw_peer(router, start=True) as raw:
        raw.write(NULL)
        assert await raw.read_exactly(64) == NULL  # the server is reading (on either loop) and has greeted us
        router.pause_reading()
        raw.write(READY_DEALER + zmtp.frame(b"request"))
        assert not await _happens(lambda: router.errors > 0, within=0.6), router.last_error
        assert got == [] and router.handshakes == 0
        router.resume_reading()
        await wait_for(lambda: got, timeout=5, what="the request after the resume")
        assert router.handshakes == 1 and router.errors == 0


# -- addresses -------------------------------------------------------------------------------------------
async def test_binds_accepts_tcp_ip_star_and_localhost_and_refuses_the_rest() -> None:
    """binds(): tcp://IP|*|localhost:PORT|*; interface names, no port, named ports and other transports are
    libzmq's. A listener refuses those at once (ValueError)."""
    for address in ("tcp://127.0.0.1:7070", "tcp://*:0", "tcp://[::1]:*", "tcp://localhost:1", "tcp://*:*",
                    "tcp://0.0.0.0:5555", "tcp://[::]:5555"):
        assert zmtp_server.binds(address), address
    for address in ("ipc://x", "ipc:///tmp/kube-tui.sock", "inproc://x", "tcp://eth0:7070", "tcp://host",
                    "tcp://1.2.3.4:http", "tcp://127.0.0.1:", "tcp://:7070", "tcp://example.com:7070",
                    "udp://127.0.0.1:7070"):
        assert not zmtp_server.binds(address), address
        with pytest.raises(ValueError, match="only tcp://ADDRESS:PORT"):
            zmtp_server.Router(address, lambda _m: None)
        with pytest.raises(ValueError):
            zmtp_server.XPub(address)


async def test_a_port_out_of_range_is_refused() -> None:
    """tcp://127.0.0.1:65536 is no endpoint: binds() says so (as libzmq's bind does, with EINVAL)."""
    assert not zmtp_server.binds("tcp://127.0.0.1:65536")


async def test_the_bound_address_is_the_real_one_and_a_taken_port_raises_oserror() -> None:
    """After start() `address` holds the real port (IPv6 in brackets); a second listener on it raises OSError."""
    first, _ = await _echo_router()
    second = v6 = None
    try:
        port = int(first.address.rpartition(":")[2])
        assert first.address == f"tcp://127.0.0.1:{port}" and port > 0
        second = zmtp_server.XPub(first.address, name="second")
        with pytest.raises(OSError):
            await second.start()
        await _round_trip(first.address)  # the first still serves

        v6 = zmtp_server.Router("tcp://[::1]:*", lambda frames: v6.send(frames) if v6 else None, name="v6")
        await v6.start()
        assert v6.address.startswith("tcp://[::1]:") and not v6.address.endswith(":*")
        await _round_trip(v6.address)
    finally:
        await _close(second, v6, first)


async def test_a_flooding_peer_waits_its_turn_and_the_others_go_in_between() -> None:
    """A peer that sends thousands of requests in one read (a fuzzer, a runaway client) hands up TURN_QUOTA of
    them per turn of the loop: a request another peer sends meanwhile is handed up after a quota or two of the
    flood, not after all of it."""
    got: list[list[bytes]] = []
    router = zmtp_server.Router(ANY, got.append, name="test")
    other = None
    async with _raw_peer(router, start=True) as raw:
        await raw.handshake(READY_DEALER)
        other = zmtp.Dealer(router.address, lambda _m: None, name="other")
        other.send([b"hello"])
        await wait_for(lambda: any(f[1:] == [b"hello"] for f in got), timeout=5, what="the other peer's first request")
        got.clear()
        flood = 5000
        # Both written before the loop turns: the server reads them in the same turns (the flood, ~55 KB,
        # in one read or a few).
        raw.write(b"".join(zmtp.frame(b"flood-%d" % i) for i in range(flood)))
        other.send([b"mine"])
        await wait_for(lambda: len(got) == flood + 1, timeout=10, what="the flood and the other request")
        at = next(i for i, f in enumerate(got) if f[1:] == [b"mine"])
        assert at < flood - 1000, f"the other peer's request came after {at} of the flood's {flood}"
        flooded = [f[1] for f in got if f[1] != b"mine"]
        assert flooded == [b"flood-%d" % i for i in range(flood)]  # its own order is kept
        assert router.errors == 0
    await _close(other)


async def test_a_message_that_fails_past_the_quota_does_not_stop_the_connection() -> None:
    """on_message raising for a message handed up after a yield (from the backlog, on a later turn) is logged and
    the rest follow, as for one handed up straight from a read: the connection must not stay with its reading
    stopped and its backlog never handed up."""
    got: list[list[bytes]] = []
    bad = b"flood-%d" % (zmtp_server.TURN_QUOTA + 8)

    def on_message(frames: list[bytes]) -> None:
        if frames[1] == bad:
            raise RuntimeError("a bad request")
        got.append(frames)

    router = zmtp_server.Router(ANY, on_message, name="test")
    async with _raw_peer(router, start=True) as raw:
        await raw.handshake(READY_DEALER)
        flood = 10 * zmtp_server.TURN_QUOTA
        raw.write(b"".join(zmtp.frame(b"flood-%d" % i) for i in range(flood)))  # one write: yields on the way
        await wait_for(lambda: len(got) == flood - 1, timeout=5, what="every request but the bad one")
        assert [f[1] for f in got] == [b"flood-%d" % i for i in range(flood) if b"flood-%d" % i != bad]
        raw.write(zmtp.frame(b"after"))  # and the connection still reads
        await wait_for(lambda: got[-1][1:] == [b"after"], timeout=5, what="a request after the flood")


async def test_a_connection_that_yielded_while_the_router_paused_goes_on_when_it_resumes() -> None:
    """The Router pauses (MAX_IN_FLIGHT) between a connection's yield and its next turn, which then leaves it
    to resume_reading(); and pauses and resumes again before the next turn: every request arrives, in order."""
    got: list[list[bytes]] = []
    router: zmtp_server.Router
    loop = asyncio.get_running_loop()
    quota = zmtp_server.TURN_QUOTA

    def flip() -> None:
        router.pause_reading()
        router.resume_reading()

    def on_message(frames: list[bytes]) -> None:
        got.append(frames)
        if len(got) == quota:  # the yield comes right after: these run before its next turn
            loop.call_soon(router.pause_reading)
        elif len(got) == 3 * quota:
            loop.call_soon(flip)

    router = zmtp_server.Router(ANY, on_message, name="test")
    async with _raw_peer(router, start=True) as raw:
        await raw.handshake(READY_DEALER)
        flood = 10 * quota
        raw.write(b"".join(zmtp.frame(b"flood-%d" % i) for i in range(flood)))
        await wait_for(lambda: router.paused, timeout=5, what="the Router's pause")
        await asyncio.sleep(0.1)  # the connection's next turn has come and gone
        assert len(got) == quota, "requests were handed up while the Router was paused"
        router.resume_reading()
        await wait_for(lambda: len(got) == flood, timeout=5, what="the rest after resume_reading()")
        assert [f[1] for f in got] == [b"flood-%d" % i for i in range(flood)]
        assert router.errors == 0
