"""`kube-tui scale deployment|replicaset|statefulset/NAME --replicas N`: patch spec.replicas, like kubectl scale."""

from __future__ import annotations

import argparse

from control.api import kinds
from control.client import Client
from tui.commands.common import add_client_args, fail, with_client

SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("target", help="KIND/NAME, e.g. deployment/web")
    p.add_argument("name", nargs="?", help="NAME when KIND is given separately")
    p.add_argument("--replicas", type=int, required=True)
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


async def scale(client: Client, info: kinds.KindInfo, name: str, args: argparse.Namespace) -> int:
    await client.patch(info.kind, name, {"spec": {"replicas": args.replicas}}, args.namespace)
    print(f"{info.singular}.{info.group}/{name} scaled")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.name:
        kind, name = args.target, args.name
    elif "/" in args.target:
        kind, _, name = args.target.partition("/")
    else:
        return fail(f'error: specify the object as KIND/NAME, e.g. deployment/{args.target}')
    try:
        info = kinds.lookup(kind)
    except Exception as e:
        return fail(f"error: {e}")
    if info.kind not in SCALABLE:
        return fail(f'error: {info.resource} "{name}" cannot be scaled: only deployments, replicasets and statefulsets have replicas')
    if args.replicas < 0:
        return fail("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    result = with_client(args, lambda c: scale(c, info, name, args))
    return result if isinstance(result, int) else 0
