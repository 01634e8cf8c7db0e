"""`kube-tui control`: the control plane in the foreground; prints the address and the node join command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from control import aio, config, curve
from control.apiserver import ranges
from control.faults import Faults
from control.plane import ControlPlane, is_loopback, tune_gc
from control.store.errors import StoreError
from control.timings import Timings
from tui.commands.common import stop_on_signal
from tui.commands.components import add_scheduler_config_args, load_scheduler_config


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--listen", default=config.DEFAULT_SERVER, help="request address (watch is port + 1); default %(default)s")
    p.add_argument("--data-dir", default=None, help="where the store and credentials live (default ~/.kube-tui/data)")
    p.add_argument("--no-scheduler", action="store_true", help="do not run the scheduler in this process")
    add_scheduler_config_args(p, "--scheduler-config", "--scheduler-plugins")
    p.add_argument("--no-controllers", action="store_true", help="do not run the controller manager in this process")
    p.add_argument("--insecure", action="store_true", help="serve a non-loopback address without CurveZMQ encryption")
    p.add_argument("--curve", action="store_true", help="encrypt with CurveZMQ even on loopback (always on elsewhere)")
    p.add_argument("--faults", default=None, help="inject watch faults, e.g. drop=0.05,duplicate=0.01,delay=0.01")
    p.add_argument("--bookmark-interval", type=float, default=1.0, help="seconds between bookmarks on idle topics")
    p.add_argument("--timings", default=None, help="a cluster file whose timings to use (e.g. demo.yaml)")
    p.add_argument("--https", default=config.DEFAULT_REST, metavar="HOST:PORT",
                   help="serve the Kubernetes REST API here (HTTPS) for the real kubectl; "
                        "'' turns it off; default %(default)s")
    p.add_argument("--ingress", default=config.DEFAULT_INGRESS, metavar="HOST:PORT",
                   help="where the ingress controller serves the Ingresses of the class kube-tui over HTTP; "
                        "'' turns it off; default %(default)s")
    p.add_argument("--service-cluster-ip-range", default=None, metavar="CIDR",
                   help="where ClusterIPs come from, inside 127.0.0.0/8 (default: a free /16 of 127.96.0.0/12, "
                        "chosen when the cluster is created; or $KUBE_TUI_SERVICE_CLUSTER_IP_RANGE)")
    p.add_argument("--cluster-cidr", default=None, metavar="CIDR",
                   help="the pods' range, a /24 of it per node (default: a free /12 of 127.128.0.0/9, chosen when "
                        "the cluster is created; or $KUBE_TUI_CLUSTER_CIDR)")
    p.add_argument("--service-node-port-range", default=None, metavar="FIRST-LAST",
                   help="where NodePorts come from (default 30000-32767; or $KUBE_TUI_SERVICE_NODE_PORT_RANGE)")
    p.add_argument("--no-fsync", action="store_true", help=argparse.SUPPRESS)


def load_timings(path: str | None) -> Timings:
    if not path:
        return Timings()
    from tui import cluster

    return cluster.load(path).timings


async def serve(args: argparse.Namespace) -> int:
    if args.curve and args.insecure:
        print("error: --curve and --insecure contradict each other: choose one", file=sys.stderr)
        return 2
    use_curve = args.curve or (not is_loopback(args.listen) and not args.insecure)
    if use_curve and not curve.available():
        print("error: this libzmq has no CURVE support, so a non-loopback address cannot be encrypted; "
              "listen on 127.0.0.1, or pass --insecure to serve in plaintext anyway", file=sys.stderr)
        return 2
    if not is_loopback(args.listen) and args.insecure:
        print(f"WARNING: serving {args.listen} without encryption (--insecure): anyone on the network can read "
              "the traffic, including credentials, and impersonate this server", file=sys.stderr, flush=True)
    data_dir = Path(args.data_dir) if args.data_dir else config.default_data_dir()
    if args.no_scheduler and (args.scheduler_config or args.scheduler_plugins):
        print("error: --scheduler-config and --scheduler-plugins configure the scheduler that --no-scheduler turns off: "
              "drop one", file=sys.stderr)
        return 2
    sched_config = load_scheduler_config(args, quiet=True)
    try:
        network = ranges.Requested.parse(args.service_cluster_ip_range, args.cluster_cidr, args.service_node_port_range)
        network = network.avoiding(config.other_networks(data_dir))  # this user's other clusters, stopped ones too
    except ranges.RangeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    plane = ControlPlane(
        data_dir,
        args.listen,
        scheduler=not args.no_scheduler,
        scheduler_config=sched_config,
        controllers=not args.no_controllers,
        faults=Faults.parse(args.faults) if args.faults else None,
        bookmark_interval=args.bookmark_interval,
        timings=load_timings(args.timings),
        fsync=not args.no_fsync,
        curve=use_curve,
        rest_listen=args.https or None,
        ingress_listen=args.ingress or None,
        network=network,
    )
    stopped = stop_on_signal()  # a SIGTERM from now on, while the plane starts too, stops it cleanly
    try:
        await plane.start()
    except ranges.RangeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except StoreError as e:  # the data dir's LOCK is held: another control plane runs on this cluster's store
        print(f"error: {e}: is a control plane of this cluster already running? Attach to it (kube-tui), stop it "
              "(kube-tui down), or start another cluster with --data-dir DIR", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    assert plane.server is not None and plane.store is not None and plane.credentials is not None
    tune_gc()
    config.record(plane.server.address, plane.credentials.admin, data_dir, plane.server.server_key)
    print("kube-tui control plane is running", flush=True)
    print(f"  API server: {plane.server.address}  (watch {plane.server.watch_address})")
    print(f"  data dir:   {data_dir}  (revision {plane.store.revision})")
    net = plane.server.api.network if plane.server.api is not None else None
    if net is not None:
        config.remember_network(data_dir, net.to_dict())
        print(f"  networks:   Services {net.service_cidr}, pods {net.cluster_cidr} (a /24 per node), "
              f"NodePorts {net.node_ports[0]}-{net.node_ports[1]}")
    if plane.server.server_key:
        print(f"  CurveZMQ:   on (server key {plane.server.server_key})")
    if plane.rest is not None:
        kubeconfig = config.write_kubeconfig(plane.rest.address, plane.credentials.admin, plane.rest.ca_pem)
        print(f"  kubectl:    {plane.rest.address}  (export KUBECONFIG={kubeconfig})")
    elif plane.rest_error:
        print(f"  kubectl:    not served ({plane.rest_error}; choose another port with --https HOST:PORT)")
    if plane.ingress is not None:
        print(f"  ingress:    {plane.ingress.url}  (IngressClass kube-tui; curl -H 'Host: HOST' {plane.ingress.url}/PATH)")
    elif plane.ingress_error:
        print(f"  ingress:    not served ({plane.ingress_error}; choose another port with --ingress HOST:PORT)")
    print(f"  components: store, apiserver{', scheduler' if plane.scheduler else ''}{', controller-manager' if plane.controllers else ''}"
          f"{', ingress-controller' if plane.ingress is not None else ''}")
    if sched_config is not None:
        for w in sched_config.warnings:
            print(f"Warning: scheduler configuration: {w}", file=sys.stderr)
        for prof in sched_config.profiles:
            print(f"  scheduler profile {prof.describe()}")
    print("\nTo add a node, run this in another terminal:")
    print(f"  {plane.join_command()}", flush=True)
    try:
        await stopped.wait()
    finally:
        print("\nstopping the control plane", file=sys.stderr, flush=True)
        await plane.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    return aio.run(serve(args))
