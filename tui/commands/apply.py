"""`kube-tui apply -f` / `create -f`: send manifests to the API server, print kubectl's one-line results."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from control.client import Client
from control.errors import ApiError, CreateRefused
from tui import manifests
from tui.commands.common import (
    Printer,
    add_client_args,
    fail,
    kind_ref,
    output_format,
    print_template,
    report,
    with_client,
    with_source,
)

CSA_MANAGER = "kubectl-client-side-apply"  # kubectl's flag default; server-side it means "kubectl"
# kubectl's words after a server-side apply conflict (apply.go)
CONFLICT_HELP = """Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration).
See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"""
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
        p.add_argument("--server-side", action="store_true",
                       help="server-side apply: the API server merges the manifest and tracks who owns each field")
        p.add_argument("--force-conflicts", action="store_true",
                       help="with --server-side: take over fields another manager owns instead of failing")
        p.add_argument("--field-manager", default=CSA_MANAGER,
                       help="the name the API server records as this apply's field manager (kubectl's default)")
        p.add_argument("-o", "--output", metavar="FORMAT",
                       help="yaml | json | name | jsonpath=TEMPLATE | jsonpath-file=FILE: print the applied objects "
                            "so (all but name: one object, or a List of them, at the end)")
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
    field_manager: str | None = None,
    force: bool = False,
    output: str | None = None,
) -> int:
    """Create or apply each manifest; `field_manager`: a server-side apply by that manager. The errors come at
    the end, as kubectl's: one alone as kubectl words it ("The Pod "web" is invalid: ..."), several each as the
    server said it, of its file.

    `output` as kubectl's -o: name prints each object's kind/name; create prints each object as it is created
    (YAML documents apart); apply prints nothing per object and, at the end, the one object or a v1 List of
    them (kubectl's printObjects)."""
    errs: list[ApiError | str] = []
    printer = Printer(output) if output else None
    applied: list[dict] = []
    for m in items:
        obj = m.obj
        if namespace and isinstance(obj.get("metadata"), dict) and not obj["metadata"].get("namespace"):
            obj["metadata"]["namespace"] = namespace
        verb = "creating" if create_only else "applying"
        try:
            if create_only:
                stored = await client.create(obj, field_validation=field_validation)
                result = "created"
            elif field_manager:
                stored = await client.apply(obj, field_manager=field_manager, force=force, dry_run=dry_run,
                                            field_validation=field_validation)
                result = "serverside-applied"
            else:
                result, stored = await client.create_or_update(obj, dry_run=dry_run, field_validation=field_validation)
        except ApiError as e:
            if field_manager and e.code == 409 and e.reason == "Conflict" and (e.details or {}).get("causes"):
                errs.append(f"error: {e.message}\n{CONFLICT_HELP}")
                continue
            errs.append(with_source(e, "creating" if isinstance(e, CreateRefused) else verb, m.source))
            continue
        for w in client.last_warnings:
            print(f"Warning: {w}", file=sys.stderr)
        if printer is None:
            out(f"{kind_ref(stored)} {result}{' (server dry run)' if dry_run else ''}")
        elif create_only or output == "name":
            printer.show(stored, result)
        else:
            applied.append(stored)
    if printer is not None and len(applied) == 1:
        printer.show(applied[0], "")
    elif printer is not None and applied:
        from tui.printers.output import sorted_keys, to_json, to_yaml

        items = [sorted_keys(_without_managed_fields(o)) for o in applied]
        if output and output.startswith("jsonpath="):
            print_template(output, {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}})
        elif output == "yaml":
            print(to_yaml({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}}))
        else:  # a typed v1 List: Go's field order at the top, each item's keys sorted
            print(to_json({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}))
    return report(errs)


def _without_managed_fields(obj: dict) -> dict:
    md = obj.get("metadata") or {}
    return dict(obj, metadata={k: v for k, v in md.items() if k != "managedFields"}) if "managedFields" in md else obj


def run(args: argparse.Namespace) -> int:
    try:
        args.output = output_format(getattr(args, "output", None))
    except ValueError as e:
        return fail(f"error: {e}")
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
    server_side = getattr(args, "server_side", False)
    if getattr(args, "force_conflicts", False) and not server_side:
        return fail("error: --force-conflicts only works with --server-side")
    if server_side and getattr(args, "watch", False):
        return fail("error: --server-side and --watch cannot be used together")
    if getattr(args, "output", None) and getattr(args, "watch", False):
        return fail("error: -o and --watch cannot be used together")
    manager = None
    if server_side:  # kubectl's GetServerSideFieldManager: its client-side default becomes "kubectl"
        manager = "kubectl" if args.field_manager == CSA_MANAGER else args.field_manager
    if getattr(args, "watch", False):
        from tui.commands.watch_apply import watch_and_apply

        return watch_and_apply(args, items, field_validation=validation)
    result = with_client(args, lambda c: apply_all(c, items, create_only=create_only, namespace=args.namespace,
                                                   dry_run=dry_run, field_validation=validation,
                                                   field_manager=manager,
                                                   force=getattr(args, "force_conflicts", False),
                                                   output=getattr(args, "output", None)))
    return result if isinstance(result, int) else 0
