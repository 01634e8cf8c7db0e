"""Per-container and per-pod CPU (millicores) and memory (RSS bytes), as `kubectl top pod` shows them.

Read from one scan of /proc per sampling round (cached briefly), so that sampling every container
of a node costs one pass over the process table, not one per container.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True, slots=True)
class ProcStat:
    ppid: int
    cpu: float  # seconds: utime + stime of the process itself
    children_cpu: float  # seconds: cutime + cstime, the reaped descendants'
    rss: int  # bytes
    zombie: bool


def read_proc_table(proc: str = "/proc") -> dict[int, ProcStat]:
    """Every process's parent, CPU times and RSS, from /proc/<pid>/stat."""
    table: dict[int, ProcStat] = {}
    try:
        entries = os.listdir(proc)
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # Fields after the command name, which may itself contain spaces and ")".
        rest = data[data.rindex(b")") + 2:].split()
        # rest[0] is field 3 (state): utime/stime/cutime/cstime are fields 14-17, rss is field 24.
        table[int(entry)] = ProcStat(
            ppid=int(rest[1]),
            cpu=(int(rest[11]) + int(rest[12])) / _TICKS,
            children_cpu=(int(rest[13]) + int(rest[14])) / _TICKS,
            rss=int(rest[21]) * _PAGE,
            zombie=rest[0] == b"Z",
        )
    return table


class ProcTable:
    """A /proc snapshot reused for `max_age` seconds."""

    def __init__(self, max_age: float = 0.5) -> None:
        self.max_age = max_age
        self._taken = float("-inf")
        self._table: dict[int, ProcStat] = {}
        self._children: dict[int, list[int]] = {}

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._taken < self.max_age:
            return
        self._table = read_proc_table()
        children: dict[int, list[int]] = {}
        for pid, st in self._table.items():
            children.setdefault(st.ppid, []).append(pid)
        self._children = children
        self._taken = now

    def descendants(self, root: int) -> list[int]:
        self.refresh()
        out: list[int] = []
        stack = [root]
        while stack:
            for child in self._children.get(stack.pop(), []):
                out.append(child)
                stack.append(child)
        return out

    def tree_usage(self, root: int, *, include_root: bool = False) -> tuple[float, int]:
        """(cpu seconds, rss bytes) of the tree under `root`.

        The root's own time and memory are left out by default (the shim is not the container),
        but its reaped children's CPU time is counted: that is the container's past work.
        """
        self.refresh()
        root_stat = self._table.get(root)
        if root_stat is None:
            return 0.0, 0
        cpu = root_stat.children_cpu + (root_stat.cpu if include_root else 0.0)
        rss = root_stat.rss if include_root else 0
        for pid in self.descendants(root):
            st = self._table.get(pid)
            if st is None:
                continue
            # A live process's cutime only holds descendants that are gone from the tree: no double count.
            cpu += st.cpu + st.children_cpu
            if not st.zombie:
                rss += st.rss
        return cpu, rss


class CpuRate:
    """Turns cumulative CPU seconds into millicores over the interval since the last sample."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[float, float, int]] = {}

    def update(self, key: str, cpu_seconds: float, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        last = self._last.get(key)
        if last is None:
            # No interval yet: report nothing rather than an average since the process started.
            self._last[key] = (now, cpu_seconds, 0)
            return 0
        then, cpu_then, rate = last
        if now - then < 0.05:
            return rate
        rate = max(0, round((cpu_seconds - cpu_then) / (now - then) * 1000))
        self._last[key] = (now, cpu_seconds, rate)
        return rate

    def forget(self, key: str) -> None:
        self._last.pop(key, None)


def sum_usage(samples: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """A pod's usage: the sum over its containers, like metrics-server's pod metrics."""
    cpu = mem = 0
    for c, m in samples:
        cpu += c
        mem += m
    return cpu, mem


def format_top(cpu_millicores: int, memory_bytes: int) -> tuple[str, str]:
    """`kubectl top`'s CPU(cores) and MEMORY(bytes) cells: "12m", "34Mi"."""
    return f"{cpu_millicores}m", f"{memory_bytes // (1024 * 1024)}Mi"
