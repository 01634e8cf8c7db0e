"""`kube-tui autoscale deployment NAME --max N [--min N] [--cpu-percent N]`: create a HorizontalPodAutoscaler
for a deployment or replica set, as kubectl autoscale does (its checks and words; kubectl v1.32 sends an
autoscaling/v1 object, this the autoscaling/v2 one it converts to: one CPU utilization metric, none when
--cpu-percent is not given, so the server's default of 80 % applies)."""

from __future__ import annotations

import argparse
import sys

from control.api import horizontalpodautoscaler as hpas
from control.client import Client
from tui.commands.common import add_client_args, fail, kind_named, split_ref, with_client
from tui.printers.output import go_order, to_json, to_yaml

SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("target", help="KIND NAME or KIND/NAME: a deployment, replica set or stateful set")
    p.add_argument("name", nargs="?", help="NAME when KIND is given separately")
    p.add_argument("--max", type=int, default=-1, help="the upper limit for the number of pods (required)")
    p.add_argument("--min", type=int, default=-1, help="the lower limit for the number of pods (default: the server's, 1)")
    p.add_argument("--cpu-percent", type=int, default=-1,
                   help="the target average CPU utilization over all the pods, as a percent of their request "
                        "(default: the server's, 80)")
    p.add_argument("--name", dest="hpa_name", default="", help="the autoscaler's name (default: the target's)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("--dry-run", choices=("none", "client"), default="none", help="client: print the object, create nothing")
    p.add_argument("-o", "--output", choices=("yaml", "json", "name"), help="print the object")
    add_client_args(p)


def build(kind: str, name: str, args: argparse.Namespace) -> dict:
    """The object kubectl autoscale builds (in its v2 form)."""
    spec: dict = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name}, "maxReplicas": args.max}
    if args.min > 0:
        spec["minReplicas"] = args.min
    if args.cpu_percent >= 0:
        spec["metrics"] = [hpas.cpu_metric(args.cpu_percent)]
    return {"apiVersion": hpas.V2, "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": args.hpa_name or name, "namespace": args.namespace}, "spec": spec}


async def autoscale(client: Client | None, obj: dict, args: argparse.Namespace) -> int:
    out = obj
    if client is None:  # a dry run prints what kubectl v1.32 builds: the autoscaling/v1 object, as its typed form prints
        from tui.commands.imperative import kubectl_typed

        out = hpas.to_v1(obj)
        out["metadata"] = {k: v for k, v in out["metadata"].items() if k != "namespace"}  # kubectl sets none
        out = kubectl_typed(out)
        out.setdefault("status", {"currentReplicas": 0, "desiredReplicas": 0})
    if client is not None:
        out = await client.create(obj)
        for w in client.last_warnings:
            print(f"Warning: {w}", file=sys.stderr)
    if args.output == "yaml":
        print(to_yaml(out))
    elif args.output == "json":
        print(to_json(go_order(out)))
    else:
        suffix = " (dry run)" if client is None else ""
        print(f"horizontalpodautoscaler.autoscaling/{obj['metadata']['name']}" + ("" if args.output else f" autoscaled{suffix}"))
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        kind_word, name = (args.target, args.name) if args.name else split_ref(args.target, None)
    except ValueError as e:
        return fail(str(e))
    kind = kind_named(kind_word, SCALABLE)
    if kind is None:
        return fail(f'error: cannot autoscale a {kind_word}: only deployments, replicasets and statefulsets have a scale here')
    if args.max < 1:
        return fail(f"error: --max=MAXPODS is required and must be at least 1, max: {args.max}")
    if args.max < args.min:
        return fail(f"error: --max=MAXPODS must be larger or equal to --min=MINPODS, max: {args.max}, min: {args.min}")
    obj = build(kind, name, args)

    async def go(client: Client) -> int:
        await client.get(kind, name, args.namespace)  # as kubectl: the target must exist, for a dry run too
        return await autoscale(None if args.dry_run == "client" else client, obj, args)

    result = with_client(args, go)
    return result if isinstance(result, int) else 0
