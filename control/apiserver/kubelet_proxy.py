"""Requests the API server forwards to a kubelet (logs), over a DEALER to the kubelet's own endpoint."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import zmq
import zmq.asyncio

from control import errors, wire

KUBELET_ENDPOINT = "kube-tui.io/kubelet-endpoint"  # Node annotation the kubelet sets to its address


class KubeletProxy:
    def __init__(self, ctx: zmq.asyncio.Context, token: Callable[[str], str | None], timeout: float = 5.0) -> None:
        self.ctx = ctx
        self.token = token
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()

    async def logs(self, node: dict, body: dict) -> dict:
        addr = ((node.get("metadata") or {}).get("annotations") or {}).get(KUBELET_ENDPOINT)
        name = node["metadata"]["name"]
        if not addr:
            raise errors.unavailable(f'node "{name}" does not publish a kubelet endpoint: is its kubelet running?')
        # A short-lived DEALER per call: logs are rare, and a dead kubelet must not wedge a shared socket.
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(addr)
            req_id = next(self._ids)
            # The node's own credential, never the admin's: the address comes from the Node object, which the
            # node itself writes, so a compromised node could point it at a listener of its own.
            await sock.send(wire.request(req_id, "logs", body, self.token(name)))
            if not await sock.poll(int(self.timeout * 1000)):
                raise errors.unavailable(f'node "{name}" kubelet at {addr} did not answer within {self.timeout:.0f}s')
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
