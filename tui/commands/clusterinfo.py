"""`kube-tui cluster-info`: where the control plane is running (the ZeroMQ API server, and the Kubernetes
REST API for kubectl when it is served) and each cluster service (label kubernetes.io/cluster-service=true in
kube-system), in kubectl cluster-info's words, coloured as kubectl colours them on a terminal."""

from __future__ import annotations

import argparse
import os
import sys

from control.client import Client
from tui.commands.common import add_client_args, any_result, fail, with_client
from tui.printers import discovery as printer

CLUSTER_SERVICE = "kubernetes.io/cluster-service=true"


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("subcommand", nargs="*", help=argparse.SUPPRESS)  # `dump`, which kube-tui does not have
    p.add_argument("-n", "--namespace", default="kube-system", help="where to look for cluster services (default kube-system)")
    add_client_args(p)


def colour() -> bool:
    """kubectl's colours (go-colortext) are off for TERM=dumb; kube-tui's also when stdout is not a terminal."""
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def run(args: argparse.Namespace) -> int:
    if args.subcommand[:1] == ["dump"]:
        return fail("error: kube-tui does not support `cluster-info dump`: to see the cluster's state use "
                    "`kube-tui get all -A -o yaml`, `kube-tui get events -A`, `kube-tui describe KIND NAME` "
                    "and `kube-tui logs POD`")

    async def cluster_info(client: Client) -> int:
        found = await client.request("discovery", {})
        services = (await client.list("Service", args.namespace, label_selector=CLUSTER_SERVICE))["items"]
        print(printer.cluster_info(client.server, found["restAddress"], services, colour()))
        return 0

    return any_result(with_client(args, cluster_info))
