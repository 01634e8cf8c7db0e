"""`kube-tui describe KIND NAME`: kubectl describe's layout, with the object's events."""

from __future__ import annotations

import argparse
from typing import Any

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui import printers
from tui.commands.common import add_client_args, with_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("kind", help="kind or KIND/NAME")
    p.add_argument("names", nargs="*", help="object names (default: all of the kind)")
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


async def describe(client: Client, args: argparse.Namespace) -> int:
    kind, names = args.kind, list(args.names)
    if "/" in kind:
        kind, _, n = kind.partition("/")
        names.insert(0, n)
    info = kinds.lookup(kind)
    ns = args.namespace if info.namespaced else None
    if names:
        objs = [await client.get(info.kind, n, ns) for n in names]
    else:
        objs = (await client.list(info.kind, ns))["items"]
    out = []
    for obj in objs:
        md = obj["metadata"]
        fs = f"involvedObject.name={md['name']},involvedObject.kind={info.kind}"
        events = (await client.list("Event", md.get("namespace") or "default", field_selector=fs))["items"]
        out.append(printers.describe(obj, events, **await related(client, info.kind, obj)))
    print("\n\n".join(out))
    return 0


async def related(client: Client, kind: str, obj: dict) -> dict[str, Any]:
    """What kubectl describe fetches besides the object: a Node's pods and Lease, a Deployment's ReplicaSets,
    a ReplicaSet's, DaemonSet's or StatefulSet's pods, a Service's Endpoints."""
    md = obj["metadata"]
    ns, name, uid = md.get("namespace"), md["name"], md.get("uid")

    def owned(items: list[dict]) -> list[dict]:
        return [o for o in items if any(r.get("uid") == uid for r in (o.get("metadata") or {}).get("ownerReferences") or [])]

    try:
        if kind == "Node":
            pods = (await client.list("Pod", None, field_selector=f"spec.nodeName={name}"))["items"]
            try:
                lease = await client.get("Lease", name, "kube-node-lease")
            except ApiError:
                lease = None
            return {"pods": pods, "lease": lease}
        if kind == "Deployment":
            return {"replicasets": owned((await client.list("ReplicaSet", ns))["items"])}
        if kind in ("ReplicaSet", "DaemonSet", "StatefulSet"):
            return {"pods": owned((await client.list("Pod", ns))["items"])}
        if kind == "PersistentVolumeClaim":  # Used By
            return {"pods": (await client.list("Pod", ns))["items"]}
        if kind == "Service":
            try:
                return {"endpoints": await client.get("Endpoints", name, ns)}
            except ApiError:
                return {"endpoints": None}
    except ApiError:  # a user allowed to read the object but not the rest: describe what there is
        return {}
    return {}


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: describe(c, args))
    return result if isinstance(result, int) else 0
