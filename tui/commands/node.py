"""`kube-tui node` (one node: kubelet + kube-proxy) and `kube-tui nodes` (many simulated nodes, like KWOK)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from control import aio, config, gcpolicy
from control.api import quantity
from control.timings import Timings
from nodes.nodestatus import NodeConfig, parse_labels, parse_taints
from tui.commands.common import add_client_args


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    add_client_args(p)
    if name == "node":
        p.add_argument("--name", required=True, help="the node's name (a DNS-1123 subdomain)")
        p.add_argument("--runtime", choices=("process", "sim"), default="process",
                       help="process: real processes (default); sim: containers only pretend to run")
        p.add_argument("--data-dir", default=None, help="pod logs and the node's credential (default ~/.kube-tui/nodes/NAME)")
        p.add_argument("--no-proxy", action="store_true", help="do not run kube-proxy in this node")
    else:
        p.add_argument("--count", type=int, required=True, help="how many simulated nodes to run")
        p.add_argument("--name-prefix", default="sim-", help="node names are PREFIX0, PREFIX1, ... (default %(default)s)")
        p.add_argument("--runtime", choices=("sim",), default="sim", help="only the simulated runtime can host thousands")
        p.add_argument("--start-delay", type=float, default=0.5, help="seconds a simulated container takes to start")
    p.add_argument("--cpu", default="4", help="CPU capacity (default %(default)s)")
    p.add_argument("--memory", default="8Gi", help="memory capacity (default %(default)s)")
    p.add_argument("--pods", type=int, default=110, help="pod capacity (default %(default)s)")
    p.add_argument("--ephemeral-storage", default=None,
                   help="ephemeral-storage capacity (default: the size of the data dir's file system, as the kubelet "
                        "reports its root dir's; a simulated node reports none without this)")
    p.add_argument("--labels", default="", help="extra node labels: k=v,k2=v2")
    p.add_argument("--taints", default="", help="taints to register with: key=value:Effect,key:Effect")
    p.add_argument("--timings", default=None, help="a cluster file whose timings to use (e.g. demo.yaml)")
    p.add_argument("--lease-duration", type=float, default=None, help="node Lease duration in seconds (default 40)")


def _timings(args: argparse.Namespace) -> Timings:
    from tui.commands.control import load_timings

    t = load_timings(args.timings)
    if args.lease_duration is not None:
        if args.lease_duration <= 0:
            raise ValueError("--lease-duration: must be a positive number of seconds")
        t.lease_duration = args.lease_duration
    return t


def _config(args: argparse.Namespace, name: str, runtime: str) -> NodeConfig:
    for flag, value in (("--cpu", args.cpu), ("--memory", args.memory), ("--ephemeral-storage", args.ephemeral_storage)):
        if value is not None and (not quantity.is_valid(value) or quantity.parse(value) <= 0):
            raise ValueError(f'{flag}: "{value}" is not a positive quantity (e.g. 4, 500m, 8Gi)')
    if args.pods <= 0:
        raise ValueError("--pods: must be > 0")
    return NodeConfig(name=name, cpu=args.cpu, memory=args.memory, pods=args.pods,
                      labels=parse_labels(args.labels), taints=parse_taints(args.taints), runtime=runtime,
                      ephemeral_storage=args.ephemeral_storage)


def _say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    cfg_client = config.resolve(args.server, args.token, args.server_key)
    try:
        timings = _timings(args)
        if args.command == "node":
            cfg = _config(args, args.name, args.runtime)
        else:
            if args.count <= 0:
                raise ValueError("--count: must be > 0")
            cfg = _config(args, args.name_prefix, "sim")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    gcpolicy.install()
    if args.command == "node":
        from nodes.node import NodeOptions, default_data_dir, run_node

        data_dir = Path(args.data_dir) if args.data_dir else default_data_dir(args.name)
        cfg.data_dir = str(data_dir)
        opts = NodeOptions(server=cfg_client.server, token=cfg_client.token, data_dir=data_dir, timings=timings,
                           proxy=not args.no_proxy, timings_from_server=not (args.timings or args.lease_duration),
                           server_key=cfg_client.server_key)
        return aio.run(run_node(cfg, opts, say=_say))
    from nodes.pool import PoolOptions, run_pool

    popts = PoolOptions(server=cfg_client.server, token=cfg_client.token, count=args.count, prefix=args.name_prefix,
                        timings=timings, start_delay=args.start_delay, server_key=cfg_client.server_key)
    return aio.run(run_pool(cfg, popts, say=_say))
