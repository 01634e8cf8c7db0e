"""`kube-tui describe KIND [NAME_PREFIX...] [-l SELECTOR] [-n NS | -A]`: kubectl describe's layout, with the object's
events. As kubectl: a name that is not an object's describes every object whose name begins with it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from control.api import kinds
from control.api.endpointslice import SERVICE_NAME_LABEL
from control.client import Client
from control.errors import ApiError
from tui import printers
from tui.commands.common import add_client_args, fail, with_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("kind", help="kind or KIND/NAME")
    p.add_argument("names", nargs="*", help="object names or name prefixes (default: all of the kind)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument("-l", "--selector", default="", help="only the objects with these labels (app=web)")
    p.add_argument("--show-events", type=lambda v: v.lower() not in ("false", "0", "f"), nargs="?", const=True,
                   default=True, metavar="BOOL", help="with the objects' events (default true)")
    add_client_args(p)


async def describe(client: Client, args: argparse.Namespace) -> int:
    kind, names = args.kind, list(args.names)
    if "/" in kind:
        kind, _, n = kind.partition("/")
        names.insert(0, n)
    info = kinds.lookup(kind)
    if names and args.selector:
        return fail("error: name cannot be provided when a selector is specified")  # kubectl's words
    ns = None if args.all_namespaces or not info.namespaced else args.namespace
    matched = False  # described by name prefix: kubectl's DescribeMatchingResources puts one blank line between
    if names:
        objs = []
        for n in names:
            try:
                objs.append(await client.get(info.kind, n, ns or "default"))
            except ApiError as e:
                if e.code != 404:
                    raise
                # as kubectl's DescribeMatchingResources: the objects whose names begin with it, else NotFound
                listed = (await client.list(info.kind, ns if info.namespaced else None))["items"]
                matching = [o for o in listed if o["metadata"]["name"].startswith(n)]
                if not matching:
                    raise
                objs.extend(matching)
                matched = True
    else:
        objs = (await client.list(info.kind, ns, label_selector=args.selector))["items"]
        if not objs:
            print(printers.no_resources(ns if info.namespaced else None), file=sys.stderr)
            return 0
    out = []
    for obj in objs:
        md = obj["metadata"]
        events = None
        if args.show_events:
            fs = f"involvedObject.name={md['name']},involvedObject.kind={info.kind}"
            if info.kind != "Node" and md.get("uid"):
                # kubectl's searchEvents: this object's events, not those of an earlier one of the same name (a
                # Node's come from the kubelet, with its name as uid, and from controllers, with its uid: all shown)
                fs += f",involvedObject.uid={md['uid']}"
            events = (await client.list("Event", md.get("namespace") or "default", field_selector=fs))["items"]
        out.append(printers.describe(obj, events, **await related(client, info.kind, obj)))
    print(("\n\n" if matched else "\n\n\n").join(out))  # else kubectl's "\n\n" after each description's own
    return 0


async def related(client: Client, kind: str, obj: dict) -> dict[str, Any]:
    """What kubectl describe fetches besides the object: a Node's pods and Lease, a Deployment's ReplicaSets,
    a ReplicaSet's, DaemonSet's or StatefulSet's pods, a Service's EndpointSlices, an Ingress's Services and
    EndpointSlices."""
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
        if kind == "Ingress":  # its backends' Services and EndpointSlices
            return {"services": (await client.list("Service", ns))["items"],
                    "endpointslices": (await client.list("EndpointSlice", ns))["items"]}
        if kind == "Service":  # its EndpointSlices, by label as kubectl lists them
            selector = f"{SERVICE_NAME_LABEL}={name}"
            return {"endpointslices": (await client.list("EndpointSlice", ns, label_selector=selector))["items"]}
    except ApiError:  # a user allowed to read the object but not the rest: describe what there is
        return {}
    return {}


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: describe(c, args))
    return result if isinstance(result, int) else 0
