"""`kube-tui replace -f FILE`: put each manifest's whole object in place of the live one, as kubectl replace.

A replace is a PUT of the whole object: what the manifest leaves out is gone from the live object (the
last-applied annotation too, unless the manifest carries it or --save-config asks for it). An object that is
not there is NotFound; a manifest with a resourceVersion replaces only that version (else Conflict); one
without replaces whatever is stored. `--force` deletes every object instead, waits until each is gone, and
creates them again: the way to change what an update may not (most of a Pod's spec).
"""

from __future__ import annotations

import argparse
import sys

from control import aio
from control.api import kinds
from control.api.meta import LAST_APPLIED_ANNOTATION
from control.api.patch import with_last_applied
from control.client import Client
from control.errors import ApiError
from tui import manifests
from tui.commands import delete as delete_cmd
from tui.commands.apply import FIELD_VALIDATION, VALIDATE
from tui.commands.common import (
    Printer,
    add_client_args,
    fail,
    print_warnings,
    report,
    with_client,
    with_source,
)
from tui.commands.logs import duration

FORCE_TIMEOUT = 300.0  # seconds --force waits for the objects to be gone when --timeout is 0 (kubectl's 5 minutes)
DRY_RUN = ("none", "client", "server")
CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan", "true": "Background",
           "false": "Orphan"}  # kubectl's words only, case and all (kube-tui delete takes any case)


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("-f", "--filename", action="append", default=[], help="file, directory or - for stdin (repeatable)")
    p.add_argument("-R", "--recursive", action="store_true", help="with a directory in -f: its subdirectories too")
    p.add_argument("-n", "--namespace", help="namespace for objects that do not name one (one that names another "
                                             "is refused)")
    p.add_argument("--force", action="store_true", help="delete the objects, wait until they are gone, create them")
    p.add_argument("--grace-period", type=int, default=-1,
                   help="with --force: seconds a pod gets to stop (default: its own; 0 is taken as 1, and waited for)")
    p.add_argument("--cascade", default="background", help="with --force: background (default) | foreground | orphan")
    p.add_argument("--wait", nargs="?", const="true", default="false", choices=("true", "false"),
                   help="with --force: wait for the objects to be gone (--force always does before it creates)")
    p.add_argument("--timeout", type=duration, default=0.0,
                   help="with --force: how long to wait for the objects to be gone, as 30s or 2m (default 0: 5m)")
    p.add_argument("--dry-run", nargs="?", const="unchanged", default="none",
                   help="client: print the objects, send nothing; server: the API server admits them and stores nothing")
    p.add_argument("-o", "--output", choices=("yaml", "json", "name"), help="print the objects so")
    p.add_argument("--save-config", action="store_true",
                   help="keep each manifest in the last-applied-configuration annotation (for a later apply)")
    p.add_argument("--subresource", help="status: replace only the objects' status")
    p.add_argument("--validate", nargs="?", const="strict", default="strict", type=str.lower, choices=VALIDATE,
                   help="fields the schema does not have: strict (default, as kubectl: refused), warn, ignore")
    add_client_args(p)


def prepared(m: manifests.Manifest, namespace: str | None, save_config: bool, verb: str) -> tuple[kinds.KindInfo, dict]:
    """The object of one manifest as kubectl sends it: its namespace filled in (the -n one, else default), and
    its last-applied annotation written when asked or already there. ValueError in kubectl's words when its
    kind is not served, it has no name, or it names another namespace than -n."""
    obj = m.obj
    md = obj.get("metadata")
    md = md if isinstance(md, dict) else {}
    name, version = md.get("name") or "", obj.get("apiVersion") or ""
    info = kinds.KINDS.get(obj.get("kind", ""))
    if info is None or version != info.api_version:
        raise ValueError(f'resource mapping not found for name: "{name}" namespace: "{md.get("namespace") or ""}" '
                         f'from "{m.source}": no matches for kind "{obj.get("kind")}" in version "{version}"\n'
                         "ensure CRDs are installed first")
    if info.namespaced:
        if namespace and md.get("namespace") and md["namespace"] != namespace:
            raise ValueError(f'the namespace from the provided object "{md["namespace"]}" does not match the namespace '
                             f'"{namespace}". You must pass \'--namespace={md["namespace"]}\' to perform this operation.')
        md = dict(md, namespace=md.get("namespace") or namespace or "default")
    if not name:
        raise ValueError(f'error when {verb} "{m.source}": resource name may not be empty')
    obj = dict(obj, metadata=md)
    if save_config or LAST_APPLIED_ANNOTATION in (md.get("annotations") or {}):
        obj = with_last_applied(obj, empty_annotations=True)
    return info, obj


async def replace(client: Client | None, args: argparse.Namespace, items: list[manifests.Manifest]) -> int:
    """kubectl replace without --force: each object PUT in turn; the errors, each of its file, at the end."""
    validation = FIELD_VALIDATION[args.validate]
    printer = Printer(args.output)
    errs: list[ApiError | str] = []
    for m in items:
        try:
            _, obj = prepared(m, args.namespace, args.save_config, "replacing")
        except ValueError as e:
            errs.append(str(e))
            continue
        if client is None:  # --dry-run=client
            printer.show(obj, "replaced (dry run)")
            continue
        try:
            stored = await client.update(obj, args.subresource, field_validation=validation,
                                         dry_run=args.dry_run == "server")
        except ApiError as e:
            errs.append(with_source(e, "replacing", m.source))
            continue
        print_warnings(client)
        printer.show(stored, "replaced (server dry run)" if args.dry_run == "server" else "replaced")
    return report(errs)


async def force_replace(client: Client, args: argparse.Namespace, items: list[manifests.Manifest]) -> int:
    """kubectl replace --force: delete every object (those not there are skipped), wait until each is gone,
    then create them all again. Unlike kubectl, a manifest that cannot be sent (an unknown kind, no name)
    stops it before anything is deleted: kubectl deletes the others and then creates none of them."""
    objs: list[tuple[kinds.KindInfo, dict]] = []
    errs: list[ApiError | str] = []
    for m in items:
        try:
            objs.append(prepared(m, args.namespace, args.save_config, "deleting"))
        except ValueError as e:
            errs.append(str(e))
    if errs:
        return report(errs)
    if not objs:
        print("No resources found")
        return fail("error: no objects passed to replace")
    # kubectl's guard against data loss: --grace-period=0 becomes 1, and the delete is waited for
    grace = None if args.grace_period < 0 else max(args.grace_period, 1)
    targets = [(info, obj["metadata"].get("namespace"), obj["metadata"]["name"]) for info, obj in objs]
    status, deleted = await delete_cmd.delete_each(client, targets, policy=args.policy, grace=grace, ignore_not_found=True,
                                                   output=args.output)
    if status:
        return status
    for info, gone in deleted:
        if not await delete_cmd.wait_gone(client, info, gone, args.timeout or FORCE_TIMEOUT):
            if args.wait == "true" or args.grace_period == 0:  # kubectl's delete waited (and gave up) first
                return fail(f"error: timed out waiting for the condition on {info.resource}/{gone['metadata']['name']}")
            return fail("error: context deadline exceeded")
    validation = FIELD_VALIDATION[args.validate]
    printer = Printer(args.output)
    for _, obj in objs:
        try:
            stored = await client.create(obj, field_validation=validation)
        except ApiError as e:  # kubectl names no file here
            errs.append(e)
            continue
        print_warnings(client)
        printer.show(stored, "replaced")
    return report(errs)


def check(args: argparse.Namespace) -> str:
    """kubectl's checks of the flags, in its order and words; "" when they pass. A bare --dry-run is made
    client, and args.policy is the propagation policy --cascade names."""
    if args.dry_run == "unchanged":  # kubectl 1.32 still takes a bare --dry-run, as client
        print("Warning: --dry-run is deprecated and can be replaced with --dry-run=client.", file=sys.stderr)
        args.dry_run = "client"
    if args.dry_run not in DRY_RUN:
        return f'error: Invalid dry-run value ({args.dry_run}). Must be "none", "server", or "client".'
    args.policy = CASCADE.get(args.cascade)
    if args.policy is None:
        return f'error: invalid cascade value ({args.cascade}). Must be "background", "foreground", or "orphan"'
    if args.cascade in ("true", "false"):
        print(f"warning: --cascade={args.cascade} is deprecated (boolean value) and can be replaced with "
              f"--cascade={'background' if args.cascade == 'true' else 'orphan'}.", file=sys.stderr)
    if not args.filename:
        return "error: must specify one of -f and -k"
    if args.grace_period >= 0 and not args.force:
        return "error: --grace-period must have --force specified"
    if args.timeout and not args.force:
        return "error: --timeout must have --force specified"
    if args.force and args.dry_run != "none":
        return "error: --dry-run can not be used when --force is set"
    if args.subresource not in (None, "status"):
        if args.subresource == "scale":
            return "error: --subresource=scale is not supported by kube-tui replace: use `kube-tui scale`"
        return f'error: invalid subresource value: "{args.subresource}". Must be one of [status scale]'
    return ""


def run(args: argparse.Namespace) -> int:
    problem = check(args)
    if problem:
        return fail(problem)
    try:
        items = manifests.split_cluster(manifests.load(args.filename, args.recursive))[1]
    except manifests.ManifestError as e:
        return fail(str(e))
    if args.dry_run == "client":  # nothing is sent: no server need be up
        return aio.run(replace(None, args, items))
    result = with_client(args, lambda c: force_replace(c, args, items) if args.force else replace(c, args, items))
    return result if isinstance(result, int) else 0

