"""The built-in kubernetes-bootcamp image, the app of the Kubernetes Basics tutorial: an HTTP server on
port 8080 of the pod IP answering every request with

    Hello Kubernetes bootcamp! | Running on: <pod name> | v=<version>

as the tutorial's Node.js app does (v1 and v2 exist; the version is the image's tag). Run as
`python nodes/images/bootcamp.py`; stdlib only (the runtime starts it with `python -I -S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys

PORT = 8080


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hostname: str, version: str) -> None:
    try:
        while True:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 65)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            lines = head.decode("latin-1").split("\r\n")
            length = next((int(v) for k, _, v in (ln.partition(":") for ln in lines[1:])
                           if k.strip().lower() == "content-length" and v.strip().isdigit()), 0)
            if length:
                await reader.readexactly(length)
            body = f"Hello Kubernetes bootcamp! | Running on: {hostname} | v={version}\n".encode()
            close = "connection: close" in head.decode("latin-1").lower() or lines[0].endswith("HTTP/1.0")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n"
                         % (len(body), b"Connection: close\r\n" if close else b"") + body)
            await writer.drain()
            print(f"Running On: {hostname} | Total Requests: 1 | App Uptime: - | Log Time: -", flush=True)
            if close:
                return
    except (ConnectionError, OSError):
        return
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def serve(ip: str, hostname: str, version: str) -> int:
    server = await asyncio.start_server(lambda r, w: handle(r, w, hostname, version), ip, PORT, reuse_address=True)
    print(f"Kubernetes Bootcamp App Started At: - | Running On:  {hostname}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    return 0


def main() -> int:
    ip = os.environ.get("POD_IP") or "0.0.0.0"
    hostname = os.environ.get("HOSTNAME") or socket.gethostname()
    return asyncio.run(serve(ip, hostname, os.environ.get("BOOTCAMP_VERSION") or "1"))


if __name__ == "__main__":
    sys.exit(main())
