"""The kubelet's back-off for restarting crashed containers and retrying image pulls."""

from __future__ import annotations


class Backoff:
    """client-go's flowcontrol.Backoff for one key: doubling from `base` to `cap`, forgotten after `reset`."""

    def __init__(self, base: float, cap: float, reset: float) -> None:
        self.base = base
        self.cap = cap
        self.reset = reset
        self.duration = 0.0
        self.last_update: float | None = None

    def _expired(self, now: float) -> bool:
        return self.last_update is None or now - self.last_update > self.reset

    def next(self, now: float) -> None:
        if self._expired(now):
            self.duration = self.base
        else:
            self.duration = min(self.duration * 2, self.cap)
        self.last_update = now

    def retry_at(self, event_time: float) -> float | None:
        """When a restart is allowed for a failure at `event_time`; None if right away."""
        if self.last_update is None or self._expired(event_time):
            return None
        if event_time - self.last_update < self.duration:
            return self.last_update + self.duration
        return None


def go_duration(seconds: float) -> str:
    """A duration as Go's time.Duration.String() prints it: 10s, 1m20s, 5m0s, 50ms."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        ms = seconds * 1000
        return f"{ms:g}ms" if ms >= 1 else f"{seconds * 1e6:g}µs"
    total = round(seconds, 9)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text
