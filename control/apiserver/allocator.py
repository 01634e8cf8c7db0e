"""ClusterIP and NodePort allocation in the cluster's ranges (control/apiserver/ranges.py).

As kube-apiserver's bitmap allocators with the offset strategy: a range has a small lower band kept for
addresses a Service asks for by name and a larger upper band where the free ones are handed out at
random, so that two clusters on one machine, or a cluster before and after a restart, rarely hand out
the same address first. The used set is rebuilt from the stored Services at start.
"""

from __future__ import annotations

import ipaddress
import random


def _offset(size: int, lo: int, hi: int, step: int) -> int:
    """calculateRangeOffset: the size of the lower (static) band."""
    return min(max(lo, size // step), hi) if size > lo else 0


class _Bands:
    """Offsets 0..size-1 of a range, handed out at random, the upper band first."""

    def __init__(self, first: int, size: int, static_band: int, rng: random.Random | None = None) -> None:
        self.used: set[int] = set()
        self._first, self._size, self._static = first, size, static_band
        self._rng = rng or random.Random()

    def _pick(self) -> int | None:
        for lo, hi in ((self._static, self._size), (0, self._static)):
            n = hi - lo
            if n <= 0:
                continue
            start = self._rng.randrange(n)
            for i in range(n):  # from a random point: O(1) while the range is far from full
                v = self._first + lo + (start + i) % n
                if v not in self.used:
                    self.used.add(v)
                    return v
        return None


class IPAllocator(_Bands):
    """ClusterIPs of a network; neither the network address, its first address (the `kubernetes`
    Service's) nor the broadcast address is handed out at random."""

    def __init__(self, network: ipaddress.IPv4Network, rng: random.Random | None = None) -> None:
        self.network = network
        size = max(0, network.num_addresses - 3)  # .0, .1 and the broadcast address left out
        # the band as calculateRangeOffset sizes it: from the CIDR's whole size, not the usable addresses
        super().__init__(int(network.network_address) + 2, size, _offset(network.num_addresses, 16, 256, 16), rng)

    def contains(self, ip: str) -> bool:
        """Whether a Service may ask for `ip`: in the range, and neither its network nor its broadcast
        address (kube-apiserver's Range.contains leaves out the first and last addresses of the CIDR)."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return addr in self.network and addr not in (self.network.network_address, self.network.broadcast_address)

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
        n = self._pick()
        if n is None:
            raise RuntimeError(f"range {self.network} is full")
        return str(ipaddress.ip_address(n))


class PortAllocator(_Bands):
    def __init__(self, lo: int, hi: int, rng: random.Random | None = None) -> None:
        self.lo, self.hi = lo, hi
        size = hi - lo + 1
        super().__init__(lo, size, _offset(size, 16, 128, 32), rng)

    def contains(self, port: int) -> bool:
        return self.lo <= port <= self.hi

    def take(self, port: int) -> bool:
        if port in self.used:
            return False
        self.used.add(port)
        return True

    def release(self, port: int) -> None:
        self.used.discard(port)

    def allocate(self) -> int:
        p = self._pick()
        if p is None:
            raise RuntimeError(f"node port range {self.lo}-{self.hi} is full")
        return p
