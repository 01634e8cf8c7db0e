"""Fault injection on the watch channel (drop, duplicate, delay events) so recovery paths get exercised."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Faults:
    drop: float = 0.0  # fraction of published events silently dropped
    duplicate: float = 0.0  # fraction sent twice
    delay: float = 0.0  # fraction held back and sent after the next few (reordering)
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "delay"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"faults: {name} must be a fraction between 0 and 1, got {v}")
        self.rng = random.Random(self.seed)
        self.dropped = 0
        self.duplicated = 0
        self.delayed = 0

    @property
    def active(self) -> bool:
        return bool(self.drop or self.duplicate or self.delay)

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """Parse "drop=0.05,duplicate=0.01,delay=0.02,seed=1" (the --faults flag / KUBE_TUI_FAULTS)."""
        f: dict[str, float | int] = {}
        for part in (spec or "").split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key = {"dup": "duplicate"}.get(key.strip(), key.strip())
            if not sep or key not in ("drop", "duplicate", "delay", "seed"):
                raise ValueError(f"faults: cannot read {part!r}; use drop=F,duplicate=F,delay=F,seed=N")
            f[key] = int(value) if key == "seed" else float(value)
        return cls(**f)  # type: ignore[arg-type]

    def plan(self) -> str:
        """What to do with one event: "send", "drop", "dup" or "delay"."""
        r = self.rng.random()
        if r < self.drop:
            self.dropped += 1
            return "drop"
        r -= self.drop
        if r < self.duplicate:
            self.duplicated += 1
            return "dup"
        r -= self.duplicate
        if r < self.delay:
            self.delayed += 1
            return "delay"
        return "send"
