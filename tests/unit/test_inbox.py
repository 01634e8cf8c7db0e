"""wire.Inbox: every message reaches the handler, in order, without a Future per message."""

from __future__ import annotations

import asyncio

import zmq

from control import wire
from tests.helpers import wait_for


def _pair(ctx: zmq.Context, address: str = "") -> tuple[zmq.Socket, zmq.Socket]:
    a = ctx.socket(zmq.ROUTER)
    a.setsockopt(zmq.LINGER, 0)
    if address:
        a.bind(address)
    else:
        address = f"tcp://127.0.0.1:{a.bind_to_random_port('tcp://127.0.0.1')}"
    b = ctx.socket(zmq.DEALER)
    b.setsockopt(zmq.LINGER, 0)
    b.connect(address)
    return a, b


async def test_messages_queued_before_and_after_are_all_delivered_in_order() -> None:
    ctx = zmq.Context()
    router, dealer = _pair(ctx)
    try:
        for i in range(5):
            dealer.send(b"%d" % i)
        await wait_for(lambda: router.poll(0), what="the first requests queued")
        got: list[bytes] = []
        inbox = wire.Inbox(router, lambda frames: got.append(frames[-1]), name="test")
        await wait_for(lambda: len(got) == 5, what="the queued requests")
        for i in range(5, 1000):
            dealer.send(b"%d" % i)
        await wait_for(lambda: len(got) == 1000, what="all requests")
        assert got == [b"%d" % i for i in range(1000)]
        inbox.close()
    finally:
        router.close()
        dealer.close()
        ctx.term()


async def test_replies_sent_from_the_handler_do_not_lose_the_wake_up() -> None:
    """Request/reply on the same socket: a send can consume the readiness of requests already queued."""
    ctx = zmq.Context()
    router, dealer = _pair(ctx)
    inboxes: list[wire.Inbox] = []
    answers: list[bytes] = []
    try:
        def serve(frames: list[bytes]) -> None:
            wire.send_now(router, [frames[0], b"re:" + frames[-1]], inboxes[0])

        inboxes.append(wire.Inbox(router, serve, name="server"))
        inboxes.append(wire.Inbox(dealer, lambda frames: answers.append(frames[-1]), name="client"))
        for round_ in range(50):  # bursts and single requests, interleaved with the answers
            for i in range(round_ % 7 + 1):
                wire.send_now(dealer, [b"%d.%d" % (round_, i)], inboxes[1])
            await asyncio.sleep(0)
        await wait_for(lambda: len(answers) == sum(r % 7 + 1 for r in range(50)), what="every answer")
        assert answers[0] == b"re:0.0" and answers[-1] == b"re:49.0"
    finally:
        for inbox in inboxes:
            inbox.close()
        router.close()
        dealer.close()
        ctx.term()


async def test_a_flood_is_read_in_batches_so_other_work_runs() -> None:
    ctx = zmq.Context()
    router, dealer = _pair(ctx, address="inproc://flood")  # inproc: what is sent is queued at once
    turns: list[int] = []
    got: list[bytes] = []
    try:
        for i in range(1000):
            dealer.send(b"%d" % i)
        inbox = wire.Inbox(router, lambda frames: got.append(frames[-1]), batch=100, name="test")

        async def other() -> None:
            while len(got) < 1000:
                turns.append(len(got))
                await asyncio.sleep(0)

        await asyncio.wait_for(other(), 10)
        # Between two turns of the other task at most one batch was read.
        assert len(turns) >= 9 and all(b - a <= 100 for a, b in zip(turns, turns[1:], strict=False))
        inbox.close()
    finally:
        router.close()
        dealer.close()
        ctx.term()


async def test_a_handler_error_does_not_stop_the_reading() -> None:
    ctx = zmq.Context()
    router, dealer = _pair(ctx)
    got: list[bytes] = []

    def fn(frames: list[bytes]) -> None:
        if frames[-1] == b"bad":
            raise ValueError("bad message")
        got.append(frames[-1])

    try:
        inbox = wire.Inbox(router, fn, name="test")
        for m in (b"1", b"bad", b"2"):
            dealer.send(m)
        await wait_for(lambda: got == [b"1", b"2"], what="the good messages")
        inbox.close()
    finally:
        router.close()
        dealer.close()
        ctx.term()
