"""`kube-tui taint nodes NODE key=value:Effect ... | key:Effect- | key- [--overwrite]`, as kubectl taint.

A taint with the key and effect of one the node has is refused without --overwrite; `key:Effect-`
removes that taint and `key-` every taint with the key (one that is not there is an error). NoExecute
taints get timeAdded, which tolerationSeconds count from. The node's spec.taints is patched whole.
"""

from __future__ import annotations

import argparse

from control.api import kinds, meta
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("kind", help="nodes (no, node)")
    p.add_argument("node", help="the node's name")
    p.add_argument("taints", nargs="+", help="key=value:Effect or key:Effect to add, key:Effect- or key- to remove")
    p.add_argument("--overwrite", action="store_true", help="let a taint replace one with the same key and effect")
    add_client_args(p)


def parse_taints(specs: list[str]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Taints to add and (key, effect or "") pairs to remove, in kubectl's syntax."""
    add: list[dict] = []
    remove: list[tuple[str, str]] = []
    for spec in specs:
        if spec.endswith("-"):
            key, _, effect = spec[:-1].partition(":")
            key = key.partition("=")[0]  # key=value:Effect- names the taint by key and effect, as kubectl reads it
            if effect and effect not in EFFECTS:
                raise ValueError(f"error: invalid taint effect: {effect}, unsupported taint effect")
            remove.append((key, effect))
            continue
        head, sep, effect = spec.rpartition(":")
        if not sep or not head:
            raise ValueError(f"error: invalid taint spec: {spec}: use key=value:Effect, key:Effect, key:Effect- or key-")
        if effect not in EFFECTS:
            raise ValueError(f"error: invalid taint effect: {effect}, unsupported taint effect")
        key, _, value = head.partition("=")
        taint = {"key": key, "effect": effect}
        if value:
            taint["value"] = value
        add.append(taint)
    return add, remove


def retaint(taints: list[dict], add: list[dict], remove: list[tuple[str, str]], node: str, overwrite: bool) -> list[dict]:
    """The node's taints with `remove` taken out and `add` put in; ValueError with kubectl's words."""
    out = list(taints)
    for key, effect in remove:
        kept = [t for t in out if not (t.get("key") == key and (not effect or t.get("effect") == effect))]
        if len(kept) == len(out):
            raise ValueError(f'error: taint "{key}{":" + effect if effect else ""}" not found')
        out = kept
    for taint in add:
        same = [t for t in out if t.get("key") == taint["key"] and t.get("effect") == taint["effect"]]
        if same and not overwrite:
            raise ValueError(f"error: node {node} already has {taint['key']} taint(s) with same effect(s) "
                             "and --overwrite is false")
        if taint["effect"] == "NoExecute":
            taint = dict(taint, timeAdded=meta.now())
        out = [t for t in out if t not in same] + [taint]
    return out


async def taint(client: Client, node: str, add: list[dict], remove: list[tuple[str, str]], overwrite: bool) -> str:
    for _ in range(5):
        cur = await client.get("nodes", node, None)
        new = retaint(list((cur.get("spec") or {}).get("taints") or []), add, remove, node, overwrite)
        # The list is written whole: only over the version it was made from (the node lifecycle
        # controller adds and removes taints too), else again.
        patch = {"metadata": {"resourceVersion": cur["metadata"]["resourceVersion"]}, "spec": {"taints": new or None}}
        try:
            await client.patch("nodes", node, patch, None)
        except ApiError as e:
            if e.reason == "Conflict":
                continue
            raise
        return f"node/{node} {'tainted' if add else 'untainted'}"
    raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on nodes "{node}": the object keeps changing; try again')


def run(args: argparse.Namespace) -> int:
    try:
        if kinds.lookup(args.kind).kind != "Node":
            return fail(f'error: invalid resource type {args.kind}, only node types are supported')
        add, remove = parse_taints(args.taints)
    except ValueError as e:
        return fail(str(e))
    except Exception as e:  # an unknown kind
        return fail(f"error: {e}")

    async def go(client: Client) -> int:
        try:
            print(await taint(client, args.node, add, remove, args.overwrite))
        except ValueError as e:
            return fail(str(e))
        return 0

    result = with_client(args, go)
    return result if isinstance(result, int) else 0
