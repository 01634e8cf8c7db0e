"""`kube-tui diff -f FILE|DIR|-`: what `apply` would change, as kubectl diff shows it.

Each object goes to the API server as apply would send it (the three-way merge patch, or a create), as a
server-side dry run: admission runs in full (defaults, validation, the controllers' fields kept) and
nothing is stored. The live object and the one that would be stored are printed as a unified diff of
their YAML (managedFields left out, as kubectl leaves them out). Exit 0: no differences, 1: differences,
2 or more: an error, as kubectl diff.
"""

from __future__ import annotations

import argparse
import difflib
import sys

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui import manifests, printers
from tui.commands.common import add_client_args, fail, with_client
from tui.printers.output import sorted_keys


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("-f", "--filename", action="append", required=True, help="file, directory or - for stdin (repeatable)")
    p.add_argument("-n", "--namespace", help="namespace for objects that do not name one")
    add_client_args(p)


def _yaml(obj: dict | None) -> list[str]:
    """The object as YAML with its keys sorted (as kubectl prints what it diffs), so that only values
    that change show, not the order a server happened to write them in."""
    if obj is None:
        return []
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return printers.to_yaml(sorted_keys(dict(obj, metadata=md))).splitlines(keepends=True)


def _label(obj: dict) -> str:
    """kubectl's file name for an object: GROUP.VERSION.KIND.NAMESPACE.NAME."""
    info = kinds.by_kind(obj["kind"])
    md = obj.get("metadata") or {}
    return ".".join(p for p in (info.api_version.replace("/", "."), info.kind, md.get("namespace") or "", md["name"]) if p)


async def diff(client: Client, items: list[manifests.Manifest], namespace: str | None) -> tuple[int]:
    """(exit code,): a tuple, so that it is told apart from with_client's own exit code for an error."""
    changed = errors = 0
    for m in items:
        obj = m.obj
        if namespace and isinstance(obj.get("metadata"), dict) and not obj["metadata"].get("namespace"):
            obj["metadata"]["namespace"] = namespace
        try:
            info = kinds.by_kind(obj.get("kind", ""))
            md = obj.get("metadata") or {}
            live = await _live(client, info, md)
            _, merged = await client.create_or_update(obj, dry_run=True)
        except ApiError as e:
            errors += 1
            print(f"Error from server ({e.reason}): error when diffing \"{m.source}\": {e.message}", file=sys.stderr)
            continue
        label = _label(merged)
        lines = list(difflib.unified_diff(_yaml(live), _yaml(merged), f"LIVE/{label}", f"MERGED/{label}"))
        if lines:
            changed += 1
            sys.stdout.write(f"diff -u -N LIVE/{label} MERGED/{label}\n" + "".join(lines))
    sys.stdout.flush()
    return (2 if errors else 1 if changed else 0),


async def _live(client: Client, info: kinds.KindInfo, md: dict) -> dict | None:
    try:
        return await client.get(info.kind, md.get("name") or "", (md.get("namespace") or "default") if info.namespaced else None)
    except ApiError as e:
        if e.code == 404:
            return None
        raise


def run(args: argparse.Namespace) -> int:
    try:
        items = manifests.load(args.filename)
    except manifests.ManifestError as e:
        return fail(str(e), 2)
    _, items = manifests.split_cluster(items)
    result = with_client(args, lambda c: diff(c, items, args.namespace))
    return result[0] if isinstance(result, tuple) else 2  # an int: with_client reported an error
