"""`kube-tui` / `kube-tui dashboard`: attach to the running cluster, or start demo.yaml's, and open the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from control import aio, config, gcpolicy
from tui import cluster as cluster_file
from tui.commands.common import fail


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("-f", "--filename", default=None, help="cluster file to start when no cluster runs (default: ./demo.yaml)")
    p.add_argument("--server", "-s", default=None, help="attach to this API server")
    p.add_argument("--token", default=None)
    p.add_argument("--server-key", default=None, help="the API server's CURVE public key, when it encrypts")
    p.add_argument("--data-dir", default=None, help="the store's directory when starting a cluster (default ~/.kube-tui/data)")
    p.add_argument("--keep", action="store_true", help="leave the cluster running when the dashboard quits")
    p.add_argument("--watch", action="store_true", help="re-apply the cluster file's manifests whenever it changes")
    p.add_argument("--attach-only", action="store_true", help="wait for a cluster to answer instead of starting one")


async def dashboard(args: argparse.Namespace) -> int:
    from control.client import Client
    from tui.app import run_dashboard
    from tui.launcher import Launcher, answers

    gcpolicy.install()
    # The terminal closing (SIGHUP) or a SIGTERM ends the dashboard as `q` does: what it started stops
    # too. Its processes run in their own sessions, so without this they would outlive it, unrecorded.
    hung_up: list[int] = []
    started: list[Launcher] = []  # the cluster this dashboard started, once it has
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert main is not None

    running: list[bool] = []  # the dashboard is up (Textual has the terminal)

    cleaning: list[bool] = []  # q was pressed: what was started is being stopped (or recorded)

    def end(sig: int) -> None:
        hung_up.append(sig)
        if cleaning:  # already stopping what was started: let that finish, then exit
            return
        if not running:  # still starting: the start's own clean-up stops what it started
            main.cancel()
            return
        if started and args.keep:  # first, whatever happens to the terminal next
            started[0].record(config.home() / "cluster.json")
        elif started:
            started[0].stop_all()
        if sig == signal.SIGHUP:
            os._exit(128 + sig)  # no terminal left to restore (and writing to it can hang Textual's shutdown)
        # SIGTERM: leave the terminal as `q` does, but not for longer than a few seconds.
        timer = threading.Timer(5.0, os._exit, (128 + sig,))
        timer.daemon = True
        timer.start()
        main.cancel()

    for sig in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(sig, end, sig)
    try:
        cfg = config.resolve(args.server, args.token, args.server_key)
        apply_paths: list[str] = []
        if args.attach_only or args.server or await answers(cfg.server, cfg.token, 0.7, cfg.server_key):
            print(f"attaching to the cluster at {cfg.server}", file=sys.stderr)
            if args.filename:
                apply_paths = [args.filename]
        else:
            from tui.commands.up import start_cluster

            spec = cluster_file.load(args.filename)
            data_dir = Path(args.data_dir) if args.data_dir else config.default_data_dir()
            print(f"no cluster answers at {cfg.server}: starting {spec.path} ({len(spec.nodes)} nodes) ...", file=sys.stderr)
            started.append(await start_cluster(spec, data_dir, quiet=True, tied=not args.keep))
            cfg = config.resolve(started[0].server)
            apply_paths = [str(spec.path)] if args.watch else []
        client = Client(cfg.server, token=cfg.token, server_key=cfg.server_key, identity="dashboard",
                        retry_for=60.0 if args.attach_only else 10.0)
        try:
            await client.connect()
            running.append(True)
            await run_dashboard(client, launcher=started[0] if started else None, apply_paths=apply_paths,
                                watch_files=args.watch)
        finally:
            await client.close()
    except asyncio.CancelledError:
        if not hung_up:
            raise
    finally:
        cleaning.append(True)
        if started and not (hung_up and running):  # else end() has done this
            if args.keep:
                started[0].record(config.home() / "cluster.json")
                _say(f"the cluster keeps running at {started[0].server}: `kube-tui down` stops it")
            else:
                _say("stopping the cluster ...")
                started[0].stop_all()
        for sig in (signal.SIGHUP, signal.SIGTERM):  # only now: a signal meanwhile must not cut the above short
            loop.remove_signal_handler(sig)
    return 128 + hung_up[0] if hung_up else 0


def _say(text: str) -> None:
    """To the terminal, if there still is one (after a hang-up, writing to it fails)."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        return aio.run(dashboard(args))
    except cluster_file.ClusterFileError as e:
        return fail(f"error: {e}")
    except RuntimeError as e:
        return fail(f"error: {e}")
