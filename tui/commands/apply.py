"""`kube-tui apply -f` / `create -f`: send manifests to the API server, print kubectl's one-line results."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from control.client import Client
from control.errors import ApiError
from tui import manifests
from tui.commands.common import add_client_args, fail, kind_ref, with_client

VALIDATE = ("strict", "warn", "ignore", "true", "false")
FIELD_VALIDATION = {"strict": "Strict", "true": "Strict", "warn": "Warn", "ignore": "Ignore", "false": "Ignore"}


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("-f", "--filename", action="append", required=True, help="file, directory or - for stdin (repeatable)")
    p.add_argument("-n", "--namespace", help="namespace for objects that do not name one")
    p.add_argument("--validate", nargs="?", const="strict", default="strict", type=str.lower, choices=VALIDATE,
                   help="fields the schema does not have: strict (default, as kubectl: refused), warn, ignore "
                        "(true = strict, false = ignore)")
    if name == "apply":
        p.add_argument("--watch", action="store_true", help="keep running and re-apply the files whenever they change")
        p.add_argument("--dry-run", choices=("none", "server"), default="none",
                       help="server: the API server admits each object in full and stores nothing")
    add_client_args(p)


async def apply_all(
    client: Client,
    items: list[manifests.Manifest],
    *,
    create_only: bool,
    namespace: str | None,
    out: Callable[[str], None] = print,
    dry_run: bool = False,
    field_validation: str | None = None,
) -> int:
    failures = 0
    for m in items:
        obj = m.obj
        if namespace and isinstance(obj.get("metadata"), dict) and not obj["metadata"].get("namespace"):
            obj["metadata"]["namespace"] = namespace
        verb = "creating" if create_only else "applying"
        try:
            if create_only:
                stored = await client.create(obj, field_validation=field_validation)
                result = "created"
            else:
                result, stored = await client.create_or_update(obj, dry_run=dry_run, field_validation=field_validation)
        except ApiError as e:
            failures += 1
            print(f"Error from server ({e.reason}): error when {verb} \"{m.source}\": {e.message}", file=sys.stderr)
            continue
        for w in client.last_warnings:
            print(f"Warning: {w}", file=sys.stderr)
        out(f"{kind_ref(stored)} {result}{' (server dry run)' if dry_run else ''}")
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    try:
        items = manifests.load(args.filename)
    except manifests.ManifestError as e:
        return fail(str(e))
    cluster, items = manifests.split_cluster(items)
    if cluster is not None:
        print("Note: skipped the kind: Cluster document (it is read by `kube-tui up` and `kube-tui`)", file=sys.stderr)
    create_only = args.command == "create"
    validation = FIELD_VALIDATION[getattr(args, "validate", "strict")]
    dry_run = getattr(args, "dry_run", "none") == "server"
    if dry_run and getattr(args, "watch", False):
        return fail("error: --dry-run=server and --watch cannot be used together")
    if getattr(args, "watch", False):
        from tui.commands.watch_apply import watch_and_apply

        return watch_and_apply(args, items, field_validation=validation)
    result = with_client(args, lambda c: apply_all(c, items, create_only=create_only, namespace=args.namespace,
                                                   dry_run=dry_run, field_validation=validation))
    return result if isinstance(result, int) else 0
