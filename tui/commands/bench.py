"""`kube-tui bench store|watch|nodes|proxy|scheduler|startup|tui`: benchmarks that print numbers."""

from __future__ import annotations

import argparse
import importlib

BENCHES = {
    "store": "control.store.bench",
    "watch": "control.bench_watch",
    "nodes": "nodes.bench",
    "proxy": "nodes.bench",
    "scheduler": "control.bench_scheduler",
    "startup": "control.bench_startup",
    "tui": "tui.bench_tui",
}


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("bench", choices=sorted(BENCHES), help="which benchmark")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="the benchmark's own options (see kube-tui bench NAME --help)")


def run(args: argparse.Namespace) -> int:
    mod = importlib.import_module(BENCHES[args.bench])
    argv = list(args.rest)
    if args.bench in ("nodes", "proxy"):
        argv = [args.bench, *argv]
    return int(mod.main(argv) or 0)
