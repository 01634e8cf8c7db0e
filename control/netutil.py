"""Loopback ports for local clusters: the demo, the soak and the integration tests listen on free ones."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port_pair() -> int:
    """A loopback port p with p and p + 1 both free (requests and watch)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair on 127.0.0.1")


def stable_port_pair() -> int:
    """A free loopback port p with p + 1 free too, below the ephemeral port range, so that no reconnecting
    client's own local port can take it while the control plane is down (a restart on the same port)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randrange(10000, low - 2)
        try:
            for p in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports below the ephemeral range on 127.0.0.1")
