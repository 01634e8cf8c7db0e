"""What a soak run did and what it checked, printed as it goes: every check has a name, a verdict and numbers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Check:
    scenario: str
    name: str
    ok: bool
    detail: str


@dataclass
class Report:
    say: Callable[[str], None] = print
    checks: list[Check] = field(default_factory=list)
    numbers: dict[str, dict[str, float]] = field(default_factory=dict)
    scenario: str = ""
    started: float = field(default_factory=time.monotonic)

    def begin(self, scenario: str, what: str) -> None:
        self.scenario = scenario
        self.say(f"\n== {scenario}: {what}")

    def did(self, text: str) -> None:
        self.say(f"   . {text}")

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks.append(Check(self.scenario, name, bool(ok), detail))
        self.say(f"   {'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
        return bool(ok)

    def number(self, name: str, value: float) -> None:
        self.numbers.setdefault(self.scenario, {})[name] = value

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        by: dict[str, list[Check]] = {}
        for c in self.checks:
            by.setdefault(c.scenario, []).append(c)
        lines = [f"\n== summary ({time.monotonic() - self.started:.0f} s)"]
        for scenario, checks in by.items():
            bad = [c for c in checks if not c.ok]
            lines.append(f"   {'PASS' if not bad else 'FAIL'} {scenario}: {len(checks) - len(bad)}/{len(checks)} checks"
                         + (f" (failed: {', '.join(c.name for c in bad)})" if bad else ""))
        lines.append(f"   {'ALL CHECKS PASSED' if self.ok else f'{len(self.failures())} CHECK(S) FAILED'}")
        return "\n".join(lines)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[min(98, max(0, int(p) - 1))] if p < 100 else max(values)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
