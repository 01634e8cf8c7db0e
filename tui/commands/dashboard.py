"""`kube-tui` / `kube-tui dashboard`: attach to the running cluster, or start demo.yaml's, and open the dashboard."""

from __future__ import annotations

import argparse
import sys
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
    from tui.launcher import answers

    gcpolicy.install()
    cfg = config.resolve(args.server, args.token, args.server_key)
    launcher = None
    spec = None
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
        launcher = await start_cluster(spec, data_dir, quiet=True)
        cfg = config.resolve(launcher.server)
        apply_paths = [str(spec.path)] if args.watch else []
    client = Client(cfg.server, token=cfg.token, server_key=cfg.server_key, identity="dashboard", retry_for=60.0 if args.attach_only else 10.0)
    try:
        await client.connect()
        await run_dashboard(client, launcher=launcher, apply_paths=apply_paths, watch_files=args.watch)
    finally:
        await client.close()
        if launcher is not None:
            if args.keep:
                launcher.record(config.home() / "cluster.json")
                print(f"the cluster keeps running at {launcher.server}: `kube-tui down` stops it", file=sys.stderr)
            else:
                print("stopping the cluster ...", file=sys.stderr)
                launcher.stop_all()
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return aio.run(dashboard(args))
    except cluster_file.ClusterFileError as e:
        return fail(f"error: {e}")
    except RuntimeError as e:
        return fail(f"error: {e}")
