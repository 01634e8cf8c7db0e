"""`kube-tui soak [--minutes N]`: start a cluster of real processes, inject faults, print what was checked."""

from __future__ import annotations

import argparse
import logging

from control import aio


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--minutes", type=float, default=10.0, help="time budget; scenarios repeat while it lasts (default %(default)s)")
    p.add_argument("--pods", type=int, default=500, help="most pods the control-plane churn creates (default %(default)s)")
    p.add_argument("--rounds", type=int, default=20, help="kill -9 rounds of the control plane in the first cycle (default %(default)s)")
    p.add_argument("--freeze", type=float, default=30.0, help="seconds the frozen subscriber stays stopped (default %(default)s)")
    p.add_argument("--fuzz-frames", type=int, default=100_000, help="fuzzed frames sent at the API server (default %(default)s)")
    p.add_argument("--curve", action="store_true", help="run the cluster with CurveZMQ encryption")


def run(args: argparse.Namespace) -> int:
    from control.soak import run_soak

    logging.getLogger("kube_tui").setLevel(logging.CRITICAL)  # the report is the output; component logs are not
    report = aio.run(run_soak(args.minutes, pods=args.pods, rounds=args.rounds, freeze=args.freeze,
                                  fuzz_frames=args.fuzz_frames, curve=args.curve))
    return 0 if report.ok else 1
