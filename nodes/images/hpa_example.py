"""The built-in hpa-example image (registry.k8s.io/hpa-example), the app of the HorizontalPodAutoscaler
walkthrough: an HTTP server on port 80 of the pod IP (or on each `--listen PORT`: the container's ports) whose every request does a CPU-intensive computation
(square roots in a loop, as its index.php does; fewer of them, Python being slower) and answers "OK!". Load on it is what the HPA scales.

Run as `python nodes/images/hpa_example.py`; stdlib only (the runtime starts it with `python -I -S`).
Requests are answered one at a time, as a single PHP worker would: each pod is at most one busy core.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import sys

PORT = 80
ITERATIONS = 200_000


def compute() -> float:
    x = 0.0001
    for _ in range(ITERATIONS):
        x += math.sqrt(x)
    return x


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 65)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError, OSError):
        writer.close()
        return
    compute()  # on the loop's thread, on purpose: one request at a time burns the pod's CPU
    body = b"OK!"
    with contextlib.suppress(ConnectionError, OSError):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % len(body) + body)
        await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()
    del head


async def serve(ip: str, ports: list[int]) -> int:
    servers = [await asyncio.start_server(handle, ip, port, reuse_address=True) for port in ports]
    print(f"hpa-example serving on {ip}:{','.join(map(str, ports))}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    return 0


def main() -> int:
    args = sys.argv[1:]
    ports = [int(args[i + 1]) for i, a in enumerate(args[:-1]) if a == "--listen"] or [PORT]
    return asyncio.run(serve(os.environ.get("POD_IP") or "0.0.0.0", ports))


if __name__ == "__main__":
    sys.exit(main())
