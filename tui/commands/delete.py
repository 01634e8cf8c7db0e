"""`kube-tui delete KIND NAME | -f FILE`: graceful deletes with kubectl's cascade options."""

from __future__ import annotations

import argparse
import sys

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui import manifests
from tui.commands.common import add_client_args, fail, with_client

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan", "true": "Background", "false": "Orphan"}


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("kind", nargs="?", help="kind or KIND/NAME")
    p.add_argument("names", nargs="*")
    p.add_argument("-f", "--filename", action="append", help="delete what these manifests name")
    p.add_argument("-n", "--namespace", default=None)
    p.add_argument("--cascade", default="background", help="background (default) | foreground | orphan")
    p.add_argument("--grace-period", type=int, default=None, help="seconds to wait for pods to stop (0 with --force: now)")
    p.add_argument("--force", action="store_true", help="with --grace-period=0: delete at once, without waiting for the kubelet")
    p.add_argument("--ignore-not-found", action="store_true")
    add_client_args(p)


async def delete(client: Client, args: argparse.Namespace, targets: list[tuple[kinds.KindInfo, str | None, str]]) -> int:
    policy = CASCADE.get(args.cascade.lower())
    if policy is None:
        return fail(f'error: invalid --cascade value "{args.cascade}": use background, foreground or orphan')
    grace = args.grace_period
    if args.force and grace is None:
        grace = 0
    status = 0
    for info, ns, name in targets:
        try:
            await client.delete(info.kind, name, ns, propagation_policy=policy, grace_period=grace)
        except ApiError as e:
            if e.code == 404 and args.ignore_not_found:
                continue
            print(str(e), file=sys.stderr)
            status = 1
            continue
        res = info.singular + (f".{info.group}" if info.group else "")
        print(f'{res} "{name}" deleted')
    return status


def run(args: argparse.Namespace) -> int:
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
