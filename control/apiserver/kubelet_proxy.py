"""Requests the API server forwards to a kubelet (logs, exec), over a DEALER to the kubelet's own endpoint."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable

import zmq
import zmq.asyncio

from control import errors, wire
from control.api import remotecommand

KUBELET_ENDPOINT = "kube-tui.io/kubelet-endpoint"  # Node annotation the kubelet sets to its address
KUBELET_KEY = "kube-tui.io/kubelet-curve-key"  # and to its endpoint's CURVE public key, in a CURVE cluster
PROOF_PREFIX = "proof."


def request_proof(key: str, req_id: int, verb: str, body: dict) -> str:
    """What the API server sends a kubelet in place of a token: an HMAC of the request under a secret both
    hold (the node's credential; for a pool of simulated nodes, which have none, the admin credential the
    pool runs with). The kubelet checks it; the secret itself never goes to the address a Node advertises."""
    msg = wire.pack([req_id, verb, body])
    return PROOF_PREFIX + hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


# A proof is good for this long either side of the kubelet's clock, and each once: the body the HMAC
# covers carries the time it was made ("sent") and a random "nonce", so a captured request cannot be
# sent again (an exec would run its command again).
FRESH_FOR = 120.0


def fresh(body: dict) -> dict:
    """The body with what makes its proof good once and for a short while."""
    return dict(body, sent=time.time(), nonce=secrets.token_hex(16))


class ProofChecker:
    """Kubelet side: request_proof(key, ...) for exactly this request, made recently, not seen before."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._seen: set[str] = set()  # the nonces served, while their requests could still pass as fresh
        self._expiry: deque[tuple[float, str]] = deque()  # (when a nonce may be forgotten, nonce), in that order

    def check(self, key: str, msg: dict) -> None:
        token = msg.get("token")
        want = request_proof(key, msg["id"], msg["verb"], msg["body"])
        if not isinstance(token, str) or not hmac.compare_digest(token, want):
            raise errors.unauthorized("kubelet: the request is not from this cluster's API server "
                                      "(no valid proof of the node's credential)")
        body, now = msg["body"], self.clock()
        sent, nonce = body.get("sent"), body.get("nonce")
        if not isinstance(sent, int | float) or isinstance(sent, bool) or not isinstance(nonce, str) or not nonce:
            raise errors.unauthorized("kubelet: the request's proof has no time and nonce (an API server too old?)")
        if abs(now - sent) > FRESH_FOR:
            when = f"{now - sent:.0f}s ago" if now >= sent else f"{sent - now:.0f}s in the future"
            raise errors.unauthorized(f"kubelet: the request is dated {when}, more than {FRESH_FOR:.0f}s from this "
                                      "node's clock: replayed, or the clocks of the API server and this node differ")
        # Forget the nonces whose requests could no longer pass as fresh anyway: constant time per request
        # however many there are (a streamed exec polls many times a second).
        while self._expiry and self._expiry[0][0] < now:
            self._seen.discard(self._expiry.popleft()[1])
        if nonce in self._seen:
            raise errors.unauthorized("kubelet: the request was already served once (replayed)")
        self._seen.add(nonce)
        self._expiry.append((max(now, float(sent)) + FRESH_FOR, nonce))


class KubeletProxy:
    def __init__(self, ctx: zmq.asyncio.Context, key: Callable[[str], str], timeout: float = 5.0, *,
                 curve: bool = False) -> None:
        self.ctx = ctx
        self.key = key  # node name -> the secret its kubelet checks proofs with
        self.timeout = timeout
        # A CURVE API server talks to kubelets encrypted only: logs, exec input and output are not sent in
        # clear to a node that publishes no key. Its own key here is ephemeral: the kubelet authenticates
        # the request by its proof, not by who encrypts it.
        self.curve = curve
        self._keys = zmq.curve_keypair() if curve else None
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def logs(self, node: dict, body: dict) -> dict:
        return await self.call(node, "logs", body, self.timeout)

    async def exec(self, node: dict, body: dict) -> dict:
        """The command's own time limit, a session request's wait, or a start (the runtime allows a shim
        10 s to report), and a little more for the answer to come back."""
        if "session" in body:
            limit = float(body.get("wait") or 0.0)
        elif remotecommand.is_session(body):
            limit = 15.0
        else:
            limit = float(body.get("timeout") or 60.0)
        return await self.call(node, "exec", body, limit + 5.0)

    async def port_forward(self, node: dict, body: dict) -> dict:
        """A connection's start (the kubelet allows itself 5 s to connect) or a stream request's wait."""
        limit = float(body.get("wait") or 0.0) if "session" in body else 5.0
        return await self.call(node, "portforward", body, limit + 5.0)

    async def call(self, node: dict, verb: str, body: dict, timeout: float) -> dict:  # noqa: ASYNC109 - per verb
        addr = ((node.get("metadata") or {}).get("annotations") or {}).get(KUBELET_ENDPOINT)
        name = node["metadata"]["name"]
        if not addr:
            raise errors.unavailable(f'node "{name}" does not publish a kubelet endpoint: is its kubelet running?')
        server_key = ((node.get("metadata") or {}).get("annotations") or {}).get(KUBELET_KEY)
        if self.curve and not server_key:
            raise errors.unavailable(f'node "{name}" publishes no CURVE key for its kubelet endpoint, and this API '
                                     "server talks to kubelets encrypted only: restart the node with --server-key")
        # A short-lived DEALER per call: logs and execs are rare, and a dead kubelet must not wedge a shared socket.
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            if self._keys is not None:
                try:
                    sock.setsockopt(zmq.CURVE_SERVERKEY, str(server_key).encode())
                except zmq.ZMQError:
                    raise errors.unavailable(f'node "{name}" publishes a malformed CURVE key for its kubelet '
                                             "endpoint: restart the node") from None
                sock.setsockopt(zmq.CURVE_PUBLICKEY, self._keys[0])
                sock.setsockopt(zmq.CURVE_SECRETKEY, self._keys[1])
            sock.connect(addr)
            req_id = next(self._ids)
            body = fresh(body)
            # A proof, never a credential: the address comes from the Node object, which the node itself
            # writes, so a compromised node could point it at a listener of its own.
            await sock.send(wire.request(req_id, verb, body, request_proof(self.key(name), req_id, verb, body)))
            if not await sock.poll(int(timeout * 1000)):
                raise errors.unavailable(f'node "{name}" kubelet at {addr} did not answer within {timeout:.0f}s')
            msg = wire.unpack(await sock.recv())
            if not isinstance(msg, dict):
                raise errors.internal(f"kubelet {name} answered a malformed frame")
            if msg.get("code", 500) >= 400:
                raise errors.ApiError.from_status(msg.get("body") or {})
            return msg.get("body") or {}
        finally:
            sock.close(linger=0)

    async def close(self) -> None:
        return None
