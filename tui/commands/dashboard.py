"""`kube-tui` / `kube-tui dashboard`: attach to the running cluster, or start demo.yaml's, and open the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from control import aio, config, gcpolicy
from tui import cluster as cluster_file
from tui.commands.common import fail

if TYPE_CHECKING:
    from tui.launcher import Launcher


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("-f", "--filename", default=None, help="cluster file to start when no cluster runs (default: ./demo.yaml if there is one, else the one installed with kube-tui)")
    p.add_argument("--server", "-s", default=None, help="attach to this API server")
    p.add_argument("--token", default=None)
    p.add_argument("--server-key", default=None, help="the API server's CURVE public key, when it encrypts")
    p.add_argument("--data-dir", default=None, help="the store's directory when starting a cluster (default ~/.kube-tui/data)")
    p.add_argument("--keep", action="store_true", help="leave the cluster running when the dashboard quits")
    p.add_argument("--watch", action="store_true", help="re-apply the cluster file's manifests whenever it changes")
    p.add_argument("--attach-only", action="store_true", help="wait for a cluster to answer instead of starting one")


@dataclass
class _Lifetime:
    """How the dashboard ends, and with it the cluster it started: `q`, a closed terminal (SIGHUP) or a
    SIGTERM stop that cluster (or record it, with --keep). Its processes run in sessions of their own, so
    without this they would outlive the dashboard, unrecorded."""

    keep: bool
    main: asyncio.Task
    launcher: Launcher | None = None  # the cluster this dashboard started, once it has
    phase: str = "starting"  # -> "running" (Textual has the terminal) -> "ending"
    signals: list[int] = field(default_factory=list)

    def on_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if self.phase == "ending":  # already stopping what was started: let that finish
            return
        if self.phase == "starting":  # the start's own clean-up stops what it started so far
            self.main.cancel()
            return
        self.phase = "ending"
        self._let_go()  # first, whatever happens to the terminal next
        if sig == signal.SIGHUP:
            os._exit(128 + sig)  # no terminal left to restore (and writing to it can hang Textual's shutdown)
        # SIGTERM: leave the terminal as `q` does, but not for longer than a few seconds.
        timer = threading.Timer(5.0, os._exit, (128 + sig,))
        timer.daemon = True
        timer.start()
        self.main.cancel()

    def finish(self) -> int:
        """After the dashboard (or its start) ended: stop or record the cluster unless a signal did; the
        exit code."""
        if self.phase != "ending":
            self.phase = "ending"
            self._let_go()
        return 128 + self.signals[0] if self.signals else 0

    def _let_go(self) -> None:
        if self.launcher is None:
            return
        if self.keep:
            self.launcher.record(config.home() / "cluster.json")
            _say(f"the cluster keeps running at {self.launcher.server}: `kube-tui down` stops it")
        else:
            _say("stopping the cluster ...")
            self.launcher.stop_all()


async def dashboard(args: argparse.Namespace) -> int:
    from control.client import Client
    from tui.app import run_dashboard
    from tui.launcher import answers

    gcpolicy.install()
    main = asyncio.current_task()
    assert main is not None
    life = _Lifetime(keep=args.keep, main=main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGHUP, signal.SIGTERM):
        loop.add_signal_handler(sig, life.on_signal, sig)
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
            life.launcher = await start_cluster(spec, data_dir, quiet=True, tied=not args.keep)
            cfg = config.resolve(life.launcher.server)
            apply_paths = [str(spec.path)] if args.watch else []
        client = Client(cfg.server, token=cfg.token, server_key=cfg.server_key, identity="dashboard",
                        retry_for=60.0 if args.attach_only else 10.0)
        try:
            await client.connect()
            life.phase = "running"
            await run_dashboard(client, launcher=life.launcher, apply_paths=apply_paths, watch_files=args.watch)
        finally:
            await client.close()
    except asyncio.CancelledError:
        if not life.signals:
            raise
    finally:
        code = life.finish()
        for sig in (signal.SIGHUP, signal.SIGTERM):  # only now: a signal meanwhile must not cut finish() short
            loop.remove_signal_handler(sig)
    return code


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
