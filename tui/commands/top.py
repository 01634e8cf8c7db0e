"""`kube-tui top node|pod [NAME]`: CPU and memory in use, as kubectl top prints them.

There is no metrics-server here: each kubelet publishes what its pods' processes use (summed over each
container's process tree) in its Node's kube-tui.io/usage annotation, every few seconds, and this
reads it. A node's figure is the sum of its pods' (the node's own processes are not counted); its
percentages are of the node's allocatable CPU and memory, as kubectl's are.
"""

from __future__ import annotations

import argparse
import sys

from control.api import kinds, quantity
from control.api.meta import node_ready, usage_of
from control.client import Client
from tui.commands.common import add_client_args, fail, with_client
from tui.printers.tabwriter import tabwrite


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("kind", help="node (nodes, no) or pod (pods, po)")
    p.add_argument("name", nargs="?", help="one object")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-A", "--all-namespaces", action="store_true")
    add_client_args(p)


def _mib(n: int) -> str:
    return f"{n // (1024 * 1024)}Mi"


def node_table(nodes: list[dict]) -> str:
    rows = [["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]]
    for node in nodes:
        if not node_ready(node):  # as kubectl top shows a node metrics-server has nothing fresh for
            rows.append([node["metadata"]["name"], "<unknown>", "<unknown>", "<unknown>", "<unknown>"])
            continue
        used = usage_of(node).values()
        cpu, mem = sum(u[0] for u in used), sum(u[1] for u in used)
        alloc = (node.get("status") or {}).get("allocatable") or {}
        cpu_alloc = quantity.milli(alloc.get("cpu", 0)) or 1
        mem_alloc = quantity.to_int(alloc.get("memory", 0)) or 1
        rows.append([node["metadata"]["name"], f"{cpu}m", f"{cpu * 100 // cpu_alloc}%", _mib(mem),
                     f"{mem * 100 // mem_alloc}%"])
    return tabwrite("\n".join("\t".join(r) for r in rows), minwidth=6, padding=3)


def pod_table(usage: dict[str, tuple[int, int]], namespaces: bool) -> str:
    rows = [["NAMESPACE"] * namespaces + ["NAME", "CPU(cores)", "MEMORY(bytes)"]]
    for key in sorted(usage):
        ns, _, name = key.partition("/")
        cpu, mem = usage[key]
        rows.append([ns] * namespaces + [name, f"{cpu}m", _mib(mem)])
    return tabwrite("\n".join("\t".join(r) for r in rows), minwidth=6, padding=3)


async def top(client: Client, args: argparse.Namespace, kind: str) -> int:
    nodes = (await client.list("nodes"))["items"]
    if kind == "Node":
        if args.name:
            nodes = [n for n in nodes if n["metadata"]["name"] == args.name]
            if not nodes:
                return fail(f'Error from server (NotFound): nodes "{args.name}" not found')
        print(node_table(nodes))
        return 0
    usage: dict[str, tuple[int, int]] = {}
    for node in nodes:
        usage.update(usage_of(node, ready_only=True))
    ns = None if args.all_namespaces else args.namespace
    usage = {k: v for k, v in usage.items() if (ns is None or k.partition("/")[0] == ns)
             and (not args.name or k.partition("/")[2] == args.name)}
    if not usage:
        if args.name:
            return fail(f'error: metrics not available yet for pod {ns or "default"}/{args.name}')
        print(f"No resources found in {ns} namespace." if ns else "No resources found", file=sys.stderr)
        return 0
    print(pod_table(usage, ns is None))
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        kind = kinds.lookup(args.kind).kind
    except Exception as e:
        return fail(f"error: {e}")
    if kind not in ("Node", "Pod"):
        return fail(f'error: unknown command "{args.kind}" for "kube-tui top": use node or pod')
    result = with_client(args, lambda c: top(c, args, kind))
    return result if isinstance(result, int) else 0
