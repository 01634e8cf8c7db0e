"""The kubelet's side of `kubectl port-forward`: one TCP connection from the node to a port of a pod.

kubectl forwards each local connection over the API server to the pod's kubelet, which connects to the
port inside the pod's network namespace. Here a pod's IP is an address of the node, so the kubelet
connects to POD_IP:PORT; the connection is then streamed as a session like an exec's
(nodes/remotecommand.py): input is what the local client sends, output what the pod answers, and the
session ends, with exit code 0, once the pod has closed its side and everything was read.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

from control import errors

CONNECT_TIMEOUT = 5.0


class PortConnection:
    """A connected socket, shaped as remotecommand.Stream: `input` and `output` are two fds of it."""

    tty = False
    error: int | None = None

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.output = sock.fileno()
        self.input: int | None = os.dup(self.output)  # closed apart from the socket: the end of input
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @property
    def exited(self) -> asyncio.Future[int]:
        return self._exited

    def outputs_ended(self) -> None:
        """The pod closed its side: nothing more will come, the connection is done."""
        if not self._exited.done():
            self._exited.set_result(0)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.outputs_ended()

    def resize(self, rows: int, cols: int) -> None:
        return None

    def close_input(self) -> None:
        """The local client sent all it will: the pod reads the end of its input (a half close)."""
        if self.input is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)
            os.close(self.input)
            self.input = None

    def close(self) -> None:
        if self.input is not None:
            with contextlib.suppress(OSError):
                os.close(self.input)
            self.input = None
        self.sock.close()
        self.output = -1
        self.outputs_ended()


async def connect(pod: str, ip: str, port: int) -> PortConnection:
    """A connection to ip:port for pod `pod` (namespace/name); BadRequest worded like the kubelet's when
    nothing answers there."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (ip, port)), CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as e:
        sock.close()
        why = "i/o timeout" if isinstance(e, TimeoutError) else f"connect: {os.strerror(e.errno or 0).lower()}"
        raise errors.bad_request(f"error forwarding port {port} to pod {pod}: dial tcp4 {ip}:{port}: {why}") from None
    except BaseException:  # cancelled (the kubelet stopping): the socket is nobody's
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return PortConnection(sock)
