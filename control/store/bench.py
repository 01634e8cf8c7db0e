"""`kube-tui bench store`: durable writes per second and ack latency, at several client counts.

Writes/fsync shows group commit at work: with many clients one fsync acknowledges many writes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from control import aio
from control.store.store import Store


async def _run_once(data_dir: Path | None, seconds: float, clients: int, value_size: int,
                    fsync: bool) -> dict:
    store = Store(data_dir, fsync=fsync)
    await store.open()
    value = b"v" * value_size
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        i = 0
        clock = time.perf_counter
        record = latencies.append
        while True:
            start = clock()
            if start >= deadline:
                return
            # Pod-shaped keys; a client rewrites its own 1,000 keys, like status updates.
            await store.put(f"/registry/pods/bench/c{n}-{i % 1000}", value)
            record(clock() - start)
            i += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - started
        stats = store.stats()
    finally:
        await store.close()
    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(n - 1, int(p * n))] * 1000 if n else 0.0

    fsyncs = stats["fsyncs"]
    return {
        "clients": clients, "writes": n, "seconds": round(elapsed, 3),
        "writes_per_s": round(n / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(pct(0.50), 3), "p99_ms": round(pct(0.99), 3),
        "fsyncs": fsyncs, "batches": stats["batches"],
        "writes_per_fsync": round(n / fsyncs, 2) if fsyncs else 0.0,
        "snapshots": stats["snapshots"],
    }


async def bench_store(data_dir: str | Path | None, seconds: float = 5.0, clients: tuple[int, ...] = (1, 50),
                      value_size: int = 256, fsync: bool = True) -> list[dict]:
    """One run per client count, each in a fresh directory under `data_dir` (removed afterwards).
    data_dir=None measures the in-memory store."""
    results = []
    for c in clients:
        if data_dir is None:
            results.append(await _run_once(None, seconds, c, value_size, fsync))
            continue
        run_dir = Path(tempfile.mkdtemp(prefix=f"bench-store-{c}-", dir=data_dir))
        try:
            results.append(await _run_once(run_dir, seconds, c, value_size, fsync))
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
    return results


def format_table(results: list[dict]) -> str:
    cols = ("clients", "writes_per_s", "p50_ms", "p99_ms", "fsyncs", "writes_per_fsync")
    heads = ("CLIENTS", "WRITES/S", "P50 MS", "P99 MS", "FSYNCS", "WRITES/FSYNC")
    rows = [heads] + [tuple(str(r[c]) for c in cols) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    return "\n".join("   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kube-tui bench store", description=__doc__)
    parser.add_argument("--data-dir", default=".",
                        help="where to put the temporary store (a real disk, not tmpfs); default: current dir")
    parser.add_argument("--memory", action="store_true", help="no disk at all (the in-memory store)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each run")
    parser.add_argument("--clients", default="1,50", help="comma-separated concurrent writer counts")
    parser.add_argument("--value-size", type=int, default=256, help="bytes per value")
    parser.add_argument("--no-fsync", action="store_true", help="write the WAL but skip fdatasync")
    args = parser.parse_args(argv)
    clients = tuple(int(c) for c in args.clients.split(",") if c.strip())
    results = aio.run(bench_store(None if args.memory else args.data_dir, args.seconds, clients,
                                      args.value_size, fsync=not args.no_fsync))
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
