"""The kubelet's own endpoint answers only requests the API server proved it sent (kubelet_proxy.request_proof)."""

from __future__ import annotations

import asyncio

import pytest
import zmq
import zmq.asyncio

from control import wire
from control.apiserver.kubelet_proxy import (
    FRESH_FOR,
    KUBELET_ENDPOINT,
    KUBELET_KEY,
    KubeletProxy,
    ProofChecker,
    fresh,
    request_proof,
)
from control.errors import ApiError
from nodes.kubelet import KubeletServer

KEY = "node.0123456789abcdef0123456789abcdef"


async def _ask(address: str, frame: bytes) -> dict:
    ctx = zmq.asyncio.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        sock.connect(address)
        await sock.send(frame)
        assert await sock.poll(5000), "the kubelet endpoint did not answer"
        return wire.unpack(await sock.recv())
    finally:
        sock.close(linger=0)


async def test_only_proved_requests_are_served() -> None:
    asked: list[dict] = []

    def handler(body: dict) -> dict:
        asked.append(body)
        return {"text": "hello\n", "offset": 6}

    server = KubeletServer(handler, key=lambda: KEY)
    address = server.bind("tcp://127.0.0.1:*")
    body = fresh({"namespace": "default", "name": "web-1"})
    try:
        for token in (None, "", KEY, request_proof("node.other", 1, "logs", body),
                      request_proof(KEY, 2, "logs", body),  # a proof of another request (replayed id)
                      request_proof(KEY, 1, "logs", {**body, "name": "secret-pod"})):  # of another body
            got = await _ask(address, wire.request(1, "logs", body, token))
            assert got["code"] == 401, (token, got)
            assert "not from this cluster's API server" in got["body"]["message"]
        assert asked == []  # nothing was read for any of them
        proved = wire.request(1, "logs", body, request_proof(KEY, 1, "logs", body))
        got = await _ask(address, proved)
        assert got["code"] == 200 and got["body"]["text"] == "hello\n" and asked == [body]
        # The same request again (captured on the wire, say): refused, even though its proof is right.
        got = await _ask(address, proved)
        assert got["code"] == 401 and "already served once (replayed)" in got["body"]["message"] and len(asked) == 1
        for stale in ({**body, "sent": body["sent"] - FRESH_FOR - 5, "nonce": "n1"},
                      {k: v for k, v in body.items() if k != "nonce"}):
            got = await _ask(address, wire.request(5, "logs", stale, request_proof(KEY, 5, "logs", stale)))
            assert got["code"] == 401 and len(asked) == 1, got
        got = await _ask(address, b"\xc1 not msgpack")
        assert got["code"] == 400
        attach = fresh(body)
        got = await _ask(address, wire.request(3, "attach", attach, request_proof(KEY, 3, "attach", attach)))
        assert got["code"] == 400 and 'unknown kubelet verb "attach": use logs, exec or portforward' in got["body"]["message"]
        run = fresh(body)
        got = await _ask(address, wire.request(4, "exec", run, request_proof(KEY, 4, "exec", run)))
        assert got["code"] == 400 and "simulated containers" in got["body"]["message"]  # no exec handler
    finally:
        await server.stop()


async def test_a_slow_exec_holds_up_no_other_request() -> None:
    """Each exec is answered from a task of its own: a logs request asked meanwhile is answered first."""
    release = asyncio.Event()

    async def exec_handler(body: dict) -> dict:
        await release.wait()
        return {"exitCode": 0, "output": "done\n"}

    server = KubeletServer(lambda body: {"text": "log\n", "offset": 4}, key=lambda: KEY, exec_handler=exec_handler)
    address = server.bind("tcp://127.0.0.1:*")
    body = fresh({"namespace": "default", "name": "web-1", "command": ["sleep", "9"]})
    logs = fresh(body)
    try:
        slow = asyncio.create_task(_ask(address, wire.request(1, "exec", body, request_proof(KEY, 1, "exec", body))))
        got = await _ask(address, wire.request(2, "logs", logs, request_proof(KEY, 2, "logs", logs)))
        assert got["code"] == 200 and got["body"]["text"] == "log\n" and not slow.done()
        release.set()
        got = await slow
        assert got["id"] == 1 and got["code"] == 200 and got["body"] == {"exitCode": 0, "output": "done\n"}
    finally:
        await server.stop()


async def test_a_kubelet_without_a_credential_serves_nobody() -> None:
    server = KubeletServer(lambda body: {"text": ""}, key=lambda: None)
    address = server.bind("tcp://127.0.0.1:*")
    try:
        body = fresh({"name": "x"})
        got = await _ask(address, wire.request(1, "logs", body, request_proof("", 1, "logs", body)))
        assert got["code"] == 401
    finally:
        await server.stop()


def _node(address: str, key: str | None) -> dict:
    notes = {KUBELET_ENDPOINT: address}
    if key:
        notes[KUBELET_KEY] = key
    return {"metadata": {"name": "node-1", "annotations": notes}}


async def test_in_a_curve_cluster_the_endpoint_is_encrypted_and_its_key_checked() -> None:
    """With --curve the API server reaches kubelets over CURVE only: against the key the node published,
    never in clear (exec input and output, logs), and not to an endpoint with another key."""
    server = KubeletServer(lambda body: {"text": "secret log\n", "offset": 11}, key=lambda: KEY)
    address = server.bind("tcp://127.0.0.1:*", curve=True)
    assert server.public_key and len(server.public_key) == 40
    ctx = zmq.asyncio.Context.instance()
    encrypted = KubeletProxy(ctx, lambda node: KEY, timeout=1.0, curve=True)
    plain = KubeletProxy(ctx, lambda node: KEY, timeout=1.0)
    body = {"namespace": "default", "name": "web-1"}
    try:
        got = await encrypted.call(_node(address, server.public_key), "logs", body, 2.0)
        assert got["text"] == "secret log\n"
        with pytest.raises(ApiError) as e:  # no key published: refused, not sent in clear
            await encrypted.call(_node(address, None), "logs", body, 2.0)
        assert e.value.code == 503 and "publishes no CURVE key" in e.value.message
        with pytest.raises(ApiError) as e:  # a key that is no key: said so, not a 500
            await encrypted.call(_node(address, "not-a-key"), "logs", body, 1.0)
        assert e.value.code == 503 and "malformed CURVE key" in e.value.message
        other = zmq.curve_keypair()[0].decode()
        with pytest.raises(ApiError) as e:  # another key: the handshake fails, nothing is answered
            await encrypted.call(_node(address, other), "logs", body, 1.0)
        assert e.value.code == 503 and "did not answer" in e.value.message
        with pytest.raises(ApiError) as e:  # a client in clear gets nothing from an encrypted endpoint
            await plain.call(_node(address, None), "logs", body, 1.0)
        assert e.value.code == 503 and "did not answer" in e.value.message
    finally:
        await server.stop()


def test_served_nonces_are_forgotten_once_stale_in_constant_time_each() -> None:
    """A streamed exec polls many times a second: the replay check must not slow down with the nonces
    it remembers, and may forget one only when its request could no longer pass as fresh."""
    now = [1000.0]
    checker = ProofChecker(clock=lambda: now[0])

    def ask(i: int, sent: float) -> None:
        body = {"name": "p", "sent": sent, "nonce": f"n{i}"}
        checker.check(KEY, {"id": i, "verb": "logs", "body": body, "token": request_proof(KEY, i, "logs", body)})

    for i in range(5000):
        ask(i, now[0])
        now[0] += 0.01  # 100 requests a second for 50 s
    assert len(checker._seen) == 5000
    with pytest.raises(ApiError, match="already served once"):
        ask(4999, now[0] - 0.01)
    now[0] += FRESH_FOR + 1
    ask(9999, now[0])
    assert len(checker._seen) == 1  # the stale ones are gone; replaying them fails the freshness check instead
    with pytest.raises(ApiError, match="more than 120s"):
        ask(10, 1000.1)
