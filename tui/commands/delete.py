"""`kube-tui delete KIND NAME | -f FILE`: graceful deletes with kubectl's cascade options; as kubectl, it waits
until the objects are gone (--wait=false: it does not)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui import manifests
from tui.commands.common import add_client_args, fail, with_client
from tui.commands.logs import duration

WAIT_POLL = 0.2  # seconds between looks at an object being deleted (kubectl: 1 s)
WAIT_FOREVER = 7 * 24 * 3600.0  # --timeout 0: kubectl's week
CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan", "true": "Background", "false": "Orphan"}


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("kind", nargs="?", help="kind or KIND/NAME")
    p.add_argument("names", nargs="*")
    p.add_argument("-f", "--filename", action="append", help="delete what these manifests name")
    p.add_argument("-n", "--namespace", default=None)
    p.add_argument("--cascade", default="background", help="background (default) | foreground | orphan")
    p.add_argument("--grace-period", type=int, default=None, help="seconds to wait for pods to stop (0 with --force: now)")
    p.add_argument("--force", action="store_true", help="with --grace-period=0: delete at once, without waiting for the kubelet")
    p.add_argument("--now", action="store_true", help="signal the pods to stop at once (--grace-period=1)")
    p.add_argument("-o", "--output", default="", help="name: print resource/name of each object deleted")
    p.add_argument("--ignore-not-found", action="store_true")
    p.add_argument("--wait", nargs="?", const="true", default="true", choices=("true", "false"),
                   help="wait for the objects to be gone, a pod stopped by its kubelet (default true, as kubectl)")
    p.add_argument("--timeout", type=duration, default=0.0,
                   help="how long --wait waits, as 30s or 2m (default 0: a week, as kubectl)")
    add_client_args(p)


async def delete(client: Client, args: argparse.Namespace, targets: list[tuple[kinds.KindInfo, str | None, str]]) -> int:
    policy = CASCADE.get(args.cascade.lower())
    if policy is None:
        return fail(f'error: invalid --cascade value "{args.cascade}": use background, foreground or orphan')
    grace = args.grace_period
    if args.force and grace is None:
        grace = 0
    status, deleted = await delete_each(client, targets, policy=policy, grace=grace,
                                        ignore_not_found=args.ignore_not_found, output=args.output or None)
    if args.wait == "true":  # kubectl delete waits by default: a later create of the name does not find it
        # as kubectl's wait: one --timeout for them all, and the first object still there at its end is the error
        deadline = time.monotonic() + (args.timeout or WAIT_FOREVER)
        for info, obj in deleted:
            if not await wait_gone(client, info, obj, max(0.0, deadline - time.monotonic())):
                print(f"error: timed out waiting for the condition on {info.resource}/{obj['metadata']['name']}",
                      file=sys.stderr)
                return 1
    return status


async def delete_each(client: Client, targets: list[tuple[kinds.KindInfo, str | None, str]], *, policy: str,
                      grace: int | None, ignore_not_found: bool, output: str | None = None,
                      ) -> tuple[int, list[tuple[kinds.KindInfo, dict]]]:
    """Delete each target and print kubectl's line for it (`pod "web" deleted`; with output "name", `pod/web`).
    The exit status, and the API server's answer for each object deleted: a pod still terminating (its uid
    tells it from a new pod of the same name, see wait_gone), or the object as it was."""
    status = 0
    deleted: list[tuple[kinds.KindInfo, dict]] = []
    for info, ns, name in targets:
        try:
            deleted.append((info, await client.delete(info.kind, name, ns, propagation_policy=policy, grace_period=grace)))
        except ApiError as e:
            if e.code == 404 and ignore_not_found:
                continue
            print(str(e), file=sys.stderr)
            status = 1
            continue
        res = info.singular + (f".{info.group}" if info.group else "")
        print(f"{res}/{name}" if output == "name" else f'{res} "{name}" deleted', flush=True)
    return status, deleted


async def wait_gone(client: Client, info: kinds.KindInfo, obj: dict, timeout: float) -> bool:
    """Wait until the object a delete answered with is gone: not found, or found with another uid (made again
    since). False when `timeout` seconds pass first."""
    md = obj.get("metadata") or {}
    deadline = time.monotonic() + timeout
    while True:
        try:
            cur = await client.get(info.kind, md.get("name", ""), md.get("namespace"))
        except ApiError as e:
            if e.code != 404:
                raise
            return True
        if cur["metadata"].get("uid") != md.get("uid"):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(WAIT_POLL)


def run(args: argparse.Namespace) -> int:
    if args.output not in ("", "name"):  # kubectl's checks, in its words
        return fail(f"error: unexpected -o output mode: {args.output}. We only support '-o name'")
    if args.now:
        if args.grace_period is not None:
            return fail("error: --now and --grace-period cannot be specified together")
        args.grace_period = 1
    targets: list[tuple[kinds.KindInfo, str | None, str]] = []
    try:
        if args.filename:
            for m in manifests.split_cluster(manifests.load(args.filename))[1]:
                info = kinds.by_kind(m.obj.get("kind", ""))
                md = m.obj.get("metadata") or {}
                ns = (md.get("namespace") or args.namespace or "default") if info.namespaced else None
                targets.append((info, ns, md.get("name", "")))
        else:
            if not args.kind:
                return fail("error: you must provide one or more resources by argument or filename (-f)")
            kind, names = args.kind, list(args.names)
            if "/" in kind:
                kind, _, n = kind.partition("/")
                names.insert(0, n)
            info = kinds.lookup(kind)
            if not names:
                return fail(f'error: resource(s) were provided, but no name was specified for "{info.resource}"')
            ns = (args.namespace or "default") if info.namespaced else None
            targets = [(info, ns, n) for n in names]
    except manifests.ManifestError as e:
        return fail(str(e))
    except ApiError as e:
        return fail(f"error: {e.message}")
    result = with_client(args, lambda c: delete(c, args, targets))
    return result if isinstance(result, int) else 0
