"""`kube-tui scheduler` / `kube-tui controller-manager`: one control-plane component in its own process."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys

from control import aio, gcpolicy
from tui.commands.common import add_client_args, make_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--leader-elect", action=argparse.BooleanOptionalAction, default=True,
                   help="take part in leader election through a Lease in kube-system (default on)")
    p.add_argument("--identity", default=None, help="this candidate's name (default: hostname_pid)")
    p.add_argument("--timings", default=None, help="a cluster file whose timings to use (e.g. demo.yaml)")
    add_client_args(p)


async def serve(args: argparse.Namespace) -> int:
    from tui.commands.control import load_timings

    timings = load_timings(args.timings)
    identity = args.identity or f"{socket.gethostname()}_{__import__('os').getpid()}"
    client = make_client(args, identity=args.command)
    gcpolicy.install()
    await client.connect()
    if args.command == "scheduler":
        from control.scheduler.scheduler import run_scheduler

        main = run_scheduler(client, timings=timings, leader_elect=args.leader_elect, identity=identity)
    else:
        from control.controllers.manager import run_controller_manager

        main = run_controller_manager(client, timings=timings, leader_elect=args.leader_elect, identity=identity)
    task = asyncio.create_task(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    print(f"{args.command} {identity} running against {client.server}", flush=True)
    try:
        await task
    except asyncio.CancelledError:
        pass
    finally:
        await client.close()
    print(f"{args.command} stopped", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    return aio.run(serve(args))
