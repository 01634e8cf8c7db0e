"""The garbage-collector policy of kube-tui's long-running processes: short pauses however big the caches grow.

Every component holds long-lived caches (the store's MVCC index, informer caches of up to tens of
thousands of objects) and allocates at a high rate while it serves. CPython's default collector walks
the whole old generation whenever it has grown by a quarter: with 15,000 pods cached that is a 50-100 ms
pause in the middle of delivering a watch event, and it comes back every few seconds under churn.

The policy, set up by install() at a process's entry point:

- what exists once the process has started (modules, a loaded store) is frozen (gc.freeze): the
  collector never walks it again;
- after every generation-1 (or full) collection everything still alive is frozen too, so the young
  generations are the only ones walked and a pause is bounded by what survived the last two young
  collections, not by the size of the caches;
- the thresholds stay small: an object freed by its reference count never counts towards a
  collection, so a young collection walks few objects and often is cheap. Generation 1 is collected
  (and frozen) every second young collection instead of CPython's every tenth: in a process that
  keeps what it receives, like an informer, nearly every young object survives, so a generation-1
  collection walks ten young generations' worth at CPython's default. Measured in `kube-tui bench
  watch` (10 informer processes, 1,000 events/s), the longest pause went from 6-13 ms to 1.3-1.9 ms
  and the p99 delivery latency from ~6 to ~5 ms (median of six runs each).

Processes that receive the same watch stream (ten informers of the same topic) allocate in lockstep, so
with the same thresholds they would all collect at the same event: in `kube-tui bench watch` every
111th event was late in all ten subscribers at once, the only periodic pattern in the slow deliveries.
Each process therefore draws its generation-0 threshold from GEN0_THRESHOLDS, and their collections
fall at different events.

The trade-off is garbage: a frozen object is never looked at by the collector, so one that later becomes
part of an unreachable reference cycle (an exception holding its traceback's frames, say) is not freed;
freezing at every second young collection freezes such objects sooner, so a little more of them.
Plain cache objects (msgpack dicts and lists) are trees and are freed by their reference count when the
cache drops them, frozen or not. To bound what cycles leak, the policy unfreezes everything every
RECLAIM_EVERY seconds and lets the next full collection walk the whole heap once (the pause CPython
would otherwise take every few seconds, taken every few minutes) before freezing again.
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import dataclass, field

THRESHOLDS = (700, 1, 10)  # CPython's are (700, 10, 10): see the module's docstring
GEN0_THRESHOLDS = (500, 900)  # each process draws its own generation-0 threshold from this range
RECLAIM_EVERY = 300.0  # seconds between full walks of the heap that free cycles among frozen objects


@dataclass
class GcStats:
    """What the policy has done in this process (pauses in milliseconds, per generation)."""

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    pause_ms: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    max_pause_ms: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    freezes: int = 0
    reclaims: int = 0
    reclaimed: int = 0  # unreachable objects found by the reclaiming full collections


class _Policy:
    def __init__(self, reclaim_every: float) -> None:
        self.reclaim_every = reclaim_every
        self.stats = GcStats()
        self._started = 0.0
        self._last_reclaim = time.monotonic()
        self._reclaiming = False

    def __call__(self, phase: str, info: dict) -> None:
        # Runs inside the collector: no allocation-heavy work, and gc.collect() would be a no-op here.
        gen = info["generation"]
        if phase == "start":
            self._started = time.perf_counter()
            return
        ms = (time.perf_counter() - self._started) * 1000
        s = self.stats
        s.collections[gen] += 1
        s.pause_ms[gen] += ms
        if ms > s.max_pause_ms[gen]:
            s.max_pause_ms[gen] = ms
        if gen == 0:
            return
        if self._reclaiming:
            if gen < 2:
                return  # wait for the full collection that walks what was unfrozen
            self._reclaiming = False
            s.reclaimed += info.get("collected", 0)
            self._last_reclaim = time.monotonic()
        elif self.reclaim_every and time.monotonic() - self._last_reclaim >= self.reclaim_every:
            # Unfrozen, the heap is in the oldest generation; CPython's next full collection (within
            # THRESHOLDS[2] generation-1 collections) walks all of it and frees cycles among it.
            gc.unfreeze()
            self._reclaiming = True
            s.reclaims += 1
            return
        gc.freeze()
        s.freezes += 1


_policy: _Policy | None = None


def install(*, reclaim_every: float = RECLAIM_EVERY) -> None:
    """Set the policy up for this process. Call once startup has loaded what lives long; a later call
    only changes reclaim_every."""
    global _policy
    if _policy is not None:
        _policy.reclaim_every = reclaim_every
        return
    gc.set_threshold(random.randint(*GEN0_THRESHOLDS), *THRESHOLDS[1:])
    gc.collect()
    gc.freeze()
    _policy = _Policy(reclaim_every)
    gc.callbacks.append(_policy)


def uninstall() -> None:
    """Back to CPython's own behaviour (for tests): nothing frozen, no callback."""
    global _policy
    if _policy is not None:
        gc.callbacks.remove(_policy)
        _policy = None
    gc.unfreeze()
    gc.set_threshold(*THRESHOLDS)


def stats() -> GcStats | None:
    """The policy's counters, or None when install() was not called in this process."""
    return _policy.stats if _policy is not None else None
