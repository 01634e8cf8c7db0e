"""Keeping the dashboard responsive: full garbage collections run between keystrokes, not during them."""

from __future__ import annotations

import gc
import time


class IdleCollector:
    """Full garbage collections while the user is idle, never in the middle of a keypress.

    With 10,000 pods cached, a generation-2 collection walks every cached dict (100-300 ms); Python
    starts one whenever enough objects survive, which under 2,000 events/s means every few seconds.
    The automatic one is held back and run between keystrokes instead (at the latest every minute,
    so memory stays bounded).
    """

    IDLE = 2.0  # seconds without input before a collection may run
    EVERY = 10.0  # at most this often when idle
    AT_LEAST = 60.0  # and at least this often, idle or not

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._last_input = self._last_full = time.monotonic()

    def open(self) -> None:
        self._saved = gc.get_threshold()
        gc.set_threshold(self._saved[0], self._saved[1], 1_000_000)

    def close(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def input_seen(self) -> None:
        self._last_input = time.monotonic()

    def maybe_collect(self) -> None:
        now = time.monotonic()
        idle = now - self._last_input >= self.IDLE and now - self._last_full >= self.EVERY
        if self._saved is not None and (idle or now - self._last_full >= self.AT_LEAST):
            gc.collect()
            self._last_full = time.monotonic()
