"""Leases: TTL'd ids that keys attach to; when one expires or is revoked, its keys are deleted."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Lease:
    id: int
    ttl: float  # seconds, as granted
    deadline: float  # time.monotonic() after which it expires

    def remaining(self, now: float) -> float:
        return max(0.0, self.deadline - now)


class LeaseTable:
    """The applied lease state. Deadlines live only in memory: after a restart every surviving
    lease gets a fresh TTL, as etcd does when a new leader takes over."""

    __slots__ = ("leases", "next_id")

    def __init__(self) -> None:
        self.leases: dict[int, Lease] = {}
        self.next_id = 1

    def new_id(self) -> int:
        while self.next_id in self.leases:
            self.next_id += 1
        lease_id = self.next_id
        self.next_id += 1
        return lease_id

    def grant(self, lease_id: int, ttl: float, now: float) -> Lease:
        lease = Lease(lease_id, ttl, now + ttl)
        self.leases[lease_id] = lease
        self.next_id = max(self.next_id, lease_id + 1)
        return lease

    def expired(self, now: float) -> list[int]:
        return [lease.id for lease in self.leases.values() if lease.deadline <= now]

    def undo(self, entry: tuple) -> None:
        """Take back a journaled grant ("grant", id) or revoke ("revoke", Lease)."""
        if entry[0] == "grant":
            self.leases.pop(entry[1], None)
        else:
            lease: Lease = entry[1]
            self.leases[lease.id] = lease

    def committed(self, journal: list) -> dict[int, Lease]:
        """The durable lease state: the applied one with the pending grants/revokes taken back."""
        leases = dict(self.leases)
        for entry in reversed(journal):
            if isinstance(entry, tuple):
                if entry[0] == "grant":
                    leases.pop(entry[1], None)
                else:
                    leases[entry[1].id] = entry[1]
        return leases
