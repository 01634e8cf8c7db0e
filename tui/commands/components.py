"""`kube-tui scheduler` / `kube-tui controller-manager`: one control-plane component in its own process."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from typing import Any

from control import aio, gcpolicy
from control.errors import ApiError
from tui.commands.common import add_client_args, make_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--leader-elect", action=argparse.BooleanOptionalAction, default=True,
                   help="take part in leader election through a Lease in kube-system (default on)")
    p.add_argument("--identity", default=None, help="this candidate's name (default: hostname_pid)")
    p.add_argument("--timings", default=None, help="a cluster file whose timings to use (e.g. demo.yaml)")
    if name == "scheduler":
        add_scheduler_config_args(p, "--config", "--plugins")
    else:  # kube-controller-manager's flags for the CSR signer's CA (`kube-tui control` keeps it in DATA_DIR/pki)
        p.add_argument("--cluster-signing-cert-file", default=None, metavar="FILE",
                       help="the CA certificate (PEM) CertificateSigningRequests are signed with, e.g. DATA_DIR/pki/ca.crt")
        p.add_argument("--cluster-signing-key-file", default=None, metavar="FILE",
                       help="its private key (PEM), e.g. DATA_DIR/pki/ca.key; without both, csrsigning does not run")
    add_client_args(p)


def signing_ca(args: argparse.Namespace) -> tuple[bytes, bytes] | None:
    """The CSR signer's CA from --cluster-signing-cert-file/--cluster-signing-key-file; SystemExit(2) with the
    reason when only one is given or a file cannot be read."""
    cert, key = args.cluster_signing_cert_file, args.cluster_signing_key_file
    if not cert and not key:
        return None
    if not cert or not key:
        print("error: --cluster-signing-cert-file and --cluster-signing-key-file go together: give both (the CA "
              "`kube-tui control` made is DATA_DIR/pki/ca.crt and ca.key)", file=sys.stderr)
        raise SystemExit(2)
    try:
        with open(cert, "rb") as c, open(key, "rb") as k:
            return c.read(), k.read()
    except OSError as e:
        print(f"error: cannot read the signing CA: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def add_scheduler_config_args(p: argparse.ArgumentParser, config_flag: str, plugins_flag: str) -> None:
    p.add_argument(config_flag, dest="scheduler_config", default=None, metavar="FILE",
                   help="a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): profiles, plugins, weights, "
                        "pluginConfig")
    p.add_argument(plugins_flag, dest="scheduler_plugins", action="append", default=[], metavar="FILE.py",
                   help="a Python file of your own scheduler plugins, which the configuration can enable by name "
                        "(repeatable)")


def load_scheduler_config(args: argparse.Namespace, *, quiet: bool = False) -> Any:
    """The scheduler configuration the flags name (None without them); prints its profiles and warnings.
    Raises SystemExit(2) with the error when it cannot be used."""
    if not args.scheduler_config and not args.scheduler_plugins:
        return None
    from control.scheduler import config as sc

    try:
        if args.scheduler_config:
            cfg = sc.load(args.scheduler_config, args.scheduler_plugins)
        else:  # plugins without a configuration: loaded (so checked), but only a configuration enables them
            cfg = sc.load_default(args.scheduler_plugins)
    except sc.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if not quiet:
        for w in cfg.warnings:
            print(f"Warning: scheduler configuration: {w}", file=sys.stderr)
        for prof in cfg.profiles:
            print(f"  scheduler profile {prof.describe()}", flush=True)
    return cfg


async def serve(args: argparse.Namespace) -> int:
    from tui.commands.control import load_timings

    timings = load_timings(args.timings)
    sched_config = load_scheduler_config(args) if args.command == "scheduler" else None
    if sched_config is not None and not sched_config.profile("default-scheduler") \
            and sched_config.lease_name == "kube-scheduler" and args.leader_elect and sched_config.leader_elect is not False:
        print("Warning: this scheduler has no default-scheduler profile but takes the Lease kube-system/kube-scheduler, "
              "which every `kube-tui scheduler` takes unless told otherwise: only one of them runs at a time. Set "
              "leaderElection.resourceName in its configuration, or pass --no-leader-elect", file=sys.stderr)
    identity = args.identity or f"{socket.gethostname()}_{__import__('os').getpid()}"
    ca = signing_ca(args) if args.command == "controller-manager" else None  # refused before connecting
    client = make_client(args, identity=args.command)
    gcpolicy.install()
    try:
        await client.connect()
    except ApiError as e:
        print(f"error: {e.message}; is `kube-tui control` running? (--server names another address)", file=sys.stderr)
        await client.close()
        return 1
    if args.command == "scheduler":
        from control.scheduler.scheduler import SCHEDULER_NAME, run_scheduler

        mine = [p.scheduler_name for p in sched_config.profiles] if sched_config is not None else [SCHEDULER_NAME]
        theirs = set((client.hello or {}).get("scheduler_profiles") or [])
        both = [n for n in mine if n in theirs]
        if both:  # the control plane's scheduler takes no Lease: two would place the same pods at once
            print(f"error: the control plane's own scheduler already runs profile(s) {', '.join(both)}: start "
                  "`kube-tui control --no-scheduler` to run them here (with leader election among several), or give "
                  "this scheduler only profiles of its own (a pod picks one with spec.schedulerName)", file=sys.stderr)
            await client.close()
            return 2

        main = run_scheduler(client, timings=timings, leader_elect=args.leader_elect, identity=identity,
                             config=sched_config)
    else:
        from control.controllers.manager import run_controller_manager

        main = run_controller_manager(client, timings=timings, leader_elect=args.leader_elect, identity=identity,
                                      signing_ca=ca)
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
