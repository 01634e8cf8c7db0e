"""IP and port allocation in 127/8: ClusterIPs, NodePorts and per-node pod ranges."""

from __future__ import annotations

import ipaddress

# All of 127.0.0.0/8 routes to lo on Linux, so every address below works without root.
SERVICE_CIDR = ipaddress.ip_network("127.96.0.0/12")  # ClusterIPs
POD_CIDR = ipaddress.ip_network("127.128.0.0/9")  # split into one /24 per node
NODE_PORT_RANGE = (30000, 32767)


class IPAllocator:
    """Hands out addresses of a network, skipping those in use (rebuilt from the store at start)."""

    def __init__(self, network: ipaddress.IPv4Network, reserved: int = 1) -> None:
        self.network = network
        self.used: set[int] = set()
        self._base = int(network.network_address)
        self._size = network.num_addresses
        self._next = reserved + 1  # skip the network address and the reserved ones

    def contains(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in self.network
        except ValueError:
            return False

    def take(self, ip: str) -> bool:
        n = int(ipaddress.ip_address(ip))
        if n in self.used:
            return False
        self.used.add(n)
        return True

    def release(self, ip: str) -> None:
        try:
            self.used.discard(int(ipaddress.ip_address(ip)))
        except ValueError:
            pass

    def allocate(self) -> str:
        for _ in range(self._size):
            offset = self._next
            self._next = self._next + 1 if self._next + 1 < self._size - 1 else 2
            n = self._base + offset
            if n not in self.used:
                self.used.add(n)
                return str(ipaddress.ip_address(n))
        raise RuntimeError(f"range {self.network} is full")


class PortAllocator:
    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi
        self.used: set[int] = set()
        self._next = lo

    def take(self, port: int) -> bool:
        if port in self.used:
            return False
        self.used.add(port)
        return True

    def release(self, port: int) -> None:
        self.used.discard(port)

    def allocate(self) -> int:
        for _ in range(self.hi - self.lo + 1):
            p = self._next
            self._next = p + 1 if p < self.hi else self.lo
            if p not in self.used:
                self.used.add(p)
                return p
        raise RuntimeError(f"node port range {self.lo}-{self.hi} is full")


def pod_cidr(index: int) -> str:
    """The index-th /24 of the cluster's pod range."""
    base = int(POD_CIDR.network_address) + index * 256
    if base + 255 > int(POD_CIDR.broadcast_address):
        raise RuntimeError("the pod range is exhausted")
    return f"{ipaddress.ip_address(base)}/24"
