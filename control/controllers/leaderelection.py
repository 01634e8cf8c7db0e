"""Lease-based leader election like client-go's tools/leaderelection, for the controller manager and scheduler.

Candidates race to write their identity into a coordination.k8s.io/v1 Lease (compare-and-swap on its
resourceVersion). The holder renews it every retry period; a candidate takes over once it has seen the
same record, unchanged, for a whole lease duration. `run_with_leader_election` runs a coroutine only
while leading and cancels it the moment leadership is lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from control.aio import cancel_and_wait
from control.api import meta
from control.client import Client
from control.errors import ApiError

log = logging.getLogger("kube_tui.leaderelection")

# client-go / kube-controller-manager defaults.
LEASE_DURATION = 15.0
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
JITTER_FACTOR = 1.2


def default_identity() -> str:
    """`<hostname>_<uuid>`, what kube-controller-manager and kube-scheduler use."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


class LeaderElector:
    """One candidate for one Lease; all durations are already scaled (seconds, may be fractional)."""

    def __init__(
        self,
        client: Client,
        lease_name: str,
        identity: str,
        *,
        namespace: str = "kube-system",
        lease_duration: float = LEASE_DURATION,
        renew_deadline: float = RENEW_DEADLINE,
        retry_period: float = RETRY_PERIOD,
        on_new_leader: Callable[[str], None] | None = None,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period * JITTER_FACTOR:
            raise ValueError(
                "leader election: need lease_duration > renew_deadline > retry_period * 1.2, got "
                f"{lease_duration:g}, {renew_deadline:g}, {retry_period:g}"
            )
        self.client = client
        self.lease_name = lease_name
        self.identity = identity
        self.namespace = namespace
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_new_leader = on_new_leader
        self.observed: dict | None = None  # the Lease spec we last saw
        self.observed_rv: str | None = None
        self.observed_time = 0.0  # monotonic time the observed record last changed
        self.leader: str | None = None  # who holds it, as far as we know

    def is_leader(self) -> bool:
        return bool(self.observed) and (self.observed or {}).get("holderIdentity") == self.identity

    def _lease_valid(self, now: float) -> bool:
        # Validity is judged on our own clock from when the record last changed, never on the holder's
        # timestamps, so clock skew between machines doesn't matter (client-go's observedTime).
        return self.observed_time + self.lease_duration > now

    def _observe(self, spec: dict, rv: str | None) -> None:
        if spec != self.observed:
            self.observed = spec
            self.observed_time = time.monotonic()
        self.observed_rv = rv
        holder = spec.get("holderIdentity") or None
        if holder != self.leader:
            self.leader = holder
            if holder and self.on_new_leader is not None:
                self.on_new_leader(holder)

    def _lease(self, spec: dict, rv: str | None = None) -> dict:
        md: dict[str, Any] = {"name": self.lease_name, "namespace": self.namespace}
        if rv:
            md["resourceVersion"] = rv
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": md, "spec": spec}

    async def try_acquire_or_renew(self) -> bool:
        """One attempt, client-go's tryAcquireOrRenew: create, renew, or take over an expired lease."""
        now = meta.now_micro()
        record: dict[str, Any] = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.lease_duration)),
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        }
        try:
            cur = await self.client.get("Lease", self.lease_name, self.namespace)
        except ApiError as e:
            if e.code != 404:
                return False
            try:
                created = await self.client.create(self._lease(record))
            except ApiError:
                return False
            self._observe(dict(created.get("spec") or record), created["metadata"].get("resourceVersion"))
            return True
        old = dict(cur.get("spec") or {})
        self._observe(old, cur["metadata"].get("resourceVersion"))
        if old.get("holderIdentity") and self._lease_valid(time.monotonic()) and not self.is_leader():
            return False
        if self.is_leader():
            record["acquireTime"] = old.get("acquireTime") or now
            record["leaseTransitions"] = int(old.get("leaseTransitions") or 0)
        else:
            record["leaseTransitions"] = int(old.get("leaseTransitions") or 0) + 1
        try:
            updated = await self.client.update(self._lease(record, cur["metadata"].get("resourceVersion")))
        except ApiError:
            return False  # someone else wrote first (409) or the server is away
        self._observe(dict(updated.get("spec") or record), updated["metadata"].get("resourceVersion"))
        return True

    async def _attempt(self, limit: float) -> bool:
        try:
            return await asyncio.wait_for(self.try_acquire_or_renew(), limit)
        except (TimeoutError, ApiError):
            return False

    async def acquire(self) -> None:
        """Block until this candidate holds the lease."""
        while True:
            if await self._attempt(self.renew_deadline):
                log.info("%s: acquired lease %s/%s", self.identity, self.namespace, self.lease_name)
                return
            await asyncio.sleep(self.retry_period * (1 + random.random() * JITTER_FACTOR))

    async def renew_until_lost(self) -> None:
        """Renew every retry period; return when a renewal could not succeed within the renew deadline."""
        while True:
            await asyncio.sleep(self.retry_period)
            deadline = time.monotonic() + self.renew_deadline
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("%s: failed to renew lease %s/%s: timed out", self.identity, self.namespace, self.lease_name)
                    return
                if await self._attempt(left):
                    if not self.is_leader():
                        return
                    break
                await asyncio.sleep(min(self.retry_period, max(0.0, deadline - time.monotonic())))

    async def release(self) -> None:
        """Give the lease up (holder cleared, duration 1 s) so another candidate need not wait it out."""
        if not self.is_leader() or self.observed is None:
            return
        now = meta.now_micro()
        record = {
            "holderIdentity": "",
            "leaseDurationSeconds": 1,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": int(self.observed.get("leaseTransitions") or 0),
        }
        try:
            await asyncio.wait_for(self.client.update(self._lease(record, self.observed_rv)), self.retry_period * 2)
        except (TimeoutError, ApiError) as e:
            log.debug("%s: releasing the lease failed: %s", self.identity, e)
            return
        self.observed = record


async def run_with_leader_election(
    client: Client,
    lease_name: str,
    identity: str | None,
    fn: Callable[[], Awaitable[Any]],
    *,
    namespace: str = "kube-system",
    lease_duration: float = LEASE_DURATION,
    renew_deadline: float = RENEW_DEADLINE,
    retry_period: float = RETRY_PERIOD,
    scale: float = 1.0,
    release_on_cancel: bool = True,
    on_started_leading: Callable[[], None] | None = None,
    on_stopped_leading: Callable[[], None] | None = None,
    on_new_leader: Callable[[str], None] | None = None,
    elector_out: list[LeaderElector] | None = None,
) -> None:
    """Run `fn()` only while leading; cancel it when leadership is lost, then campaign again.

    Returns when fn returns by itself (the lease is released); runs until cancelled otherwise.
    `scale` multiplies the three durations (tests use ~0.1). Unlike kube-controller-manager, which exits
    when it loses the lease, a candidate here goes back to waiting: it shares its process with others.
    """
    elector = LeaderElector(
        client,
        lease_name,
        identity or default_identity(),
        namespace=namespace,
        lease_duration=lease_duration * scale,
        renew_deadline=renew_deadline * scale,
        retry_period=retry_period * scale,
        on_new_leader=on_new_leader,
    )
    if elector_out is not None:
        elector_out.append(elector)
    work: asyncio.Task[Any] | None = None
    renew: asyncio.Task[None] | None = None
    try:
        while True:
            await elector.acquire()
            if on_started_leading is not None:
                on_started_leading()
            work = asyncio.create_task(fn(), name=f"leading-{lease_name}")
            renew = asyncio.create_task(elector.renew_until_lost(), name=f"renew-{lease_name}")
            await asyncio.wait({work, renew}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                renew.cancel()
                await _reap(renew)
                await elector.release()
                work.result()  # re-raise what fn raised
                return
            log.warning("%s: leader election lost for %s/%s", elector.identity, namespace, lease_name)
            work.cancel()
            await _reap(work)
            work = renew = None
            if on_stopped_leading is not None:
                on_stopped_leading()
    finally:
        for t in (work, renew):
            if t is not None and not t.done():
                t.cancel()
                await _reap(t)
        if release_on_cancel:
            await elector.release()


async def _reap(task: asyncio.Task[Any]) -> None:
    """Wait for a cancelled task to end (see control.aio.cancel_and_wait)."""
    await cancel_and_wait([task])
