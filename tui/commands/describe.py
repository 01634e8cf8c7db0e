"""`kube-tui describe KIND NAME`: kubectl describe's layout, with the object's events."""

from __future__ import annotations

import argparse

from control.api import kinds
from control.client import Client
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
        out.append(printers.describe(obj, events))
    print("\n\n".join(out))
    return 0


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: describe(c, args))
    return result if isinstance(result, int) else 0
