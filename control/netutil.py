"""Loopback ports for local clusters: the demo, the soak and the integration tests listen on free ones."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port_pair() -> int:
    """A loopback port p with p and p + 1 both free (requests and watch), chosen below the ephemeral port
    range: a port there is one the kernel may give any outgoing connection between our choosing it and the
    control plane binding it (a parallel test run lost one that way: "address already in use")."""
    return stable_port_pair()


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
