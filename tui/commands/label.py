"""`kube-tui label | annotate KIND NAME key=value ... key- [--overwrite]` (or KIND --all | -l SELECTOR [-A]: every
object found), and `kube-tui patch KIND NAME -p PATCH`.

As kubectl: a key that already has another value is refused without --overwrite, `key-` removes a key,
and the change is one merge patch of metadata.labels (or .annotations); the API server validates it.
`patch` sends a strategic merge patch (kubectl's default: lists of containers, ports, env, volumes
merge item by item), a JSON merge patch (--type merge) or a JSON patch (--type json).
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, kind_ref, print_warnings, report, with_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("target", help="KIND NAME or KIND/NAME")
    if name == "patch":
        p.add_argument("name", nargs="?", help="NAME when KIND is given separately")
        p.add_argument("-p", "--patch", required=True, help="the patch, JSON or YAML")
        p.add_argument("--type", default="strategic", choices=("strategic", "merge", "json"),
                       help="strategic (lists merge by their keys), merge (RFC 7386) or json (RFC 6902 operations)")
        p.add_argument("--subresource", choices=("status",), default=None)
    else:
        p.add_argument("changes", nargs="+", help="NAME (when KIND is given separately), then key=value or key-")
        p.add_argument("--overwrite", action="store_true", help="allow a key to take a new value")
        p.add_argument("--dry-run", choices=("none", "server"), default="none",
                       help="server: the API server admits the change in full (and warns) but stores nothing")
        p.add_argument("--all", action="store_true", help="every object of the kind (in the namespace)")
        p.add_argument("-l", "--selector", default="", help="the objects of the kind this label selector matches")
        p.add_argument("-A", "--all-namespaces", action="store_true", help="with --all or -l: in every namespace")
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


def _target(target: str, rest: list[str]) -> tuple[kinds.KindInfo, str, list[str]]:
    if "/" in target:
        kind, _, name = target.partition("/")
    elif rest:
        kind, name, rest = target, rest[0], rest[1:]
    else:
        raise ValueError(f"error: specify the object as KIND NAME or KIND/NAME, e.g. node/{target}")
    return kinds.lookup(kind), name, rest


def parse_changes(changes: list[str]) -> tuple[dict[str, str], list[str]]:
    """key=value pairs to set and keys (`key-`) to remove, kubectl's syntax."""
    sets: dict[str, str] = {}
    removes: list[str] = []
    for c in changes:
        if "=" in c:
            key, _, value = c.partition("=")
            sets[key] = value
        elif c.endswith("-") and len(c) > 1:
            removes.append(c[:-1])
        else:
            raise ValueError(f"error: invalid label spec: {c}: use key=value to set, key- to remove")
        if removes and removes[-1] in sets:
            raise ValueError(f"error: can not both modify and remove the key {removes[-1]!r} in the same command")
    return sets, removes


async def relabel(client: Client, info: kinds.KindInfo, name: str, namespace: str | None, field: str,
                  sets: dict[str, str], removes: list[str], overwrite: bool, dry_run: bool = False) -> str:
    """Set and remove keys of metadata.<field> in one merge patch; kubectl's result line. The API server's
    warnings (PodSecurity's about the namespace's pods, for one) are printed first, as kubectl does."""
    cur = await client.get(info.kind, name, namespace)
    have = (cur["metadata"].get(field) or {})
    for key, value in sets.items():
        if key in have and have[key] != value and not overwrite:
            raise ValueError(f"error: '{key}' already has a value ({have[key]}), and --overwrite is false")
    change: dict[str, Any] = {k: v for k, v in sets.items() if have.get(k) != v}
    change.update({k: None for k in removes if k in have})
    verb = "labeled" if field == "labels" else "annotated"
    dry = " (server dry run)" if dry_run else ""
    if not change:
        return f"{kind_ref(cur)} not {verb}{dry}"
    out = await client.patch(info.kind, name, {"metadata": {field: change}}, namespace, dry_run=dry_run)
    print_warnings(client)
    unset_only = all(v is None for v in change.values())
    return f"{kind_ref(out)} {'un' + verb if unset_only else verb}{dry}"


async def patch(client: Client, info: kinds.KindInfo, name: str, args: argparse.Namespace) -> int:
    try:
        body = yaml.safe_load(args.patch)  # JSON is YAML
    except yaml.YAMLError as e:
        return fail(f"error: unable to parse the patch {args.patch!r}: {e}")
    patch_type = args.type
    namespace = args.namespace if info.namespaced else None
    cur = await client.get(info.kind, name, namespace)
    try:
        out = await client.patch(info.kind, name, body, namespace, subresource=args.subresource, patch_type=patch_type)
    except ApiError as e:
        if e.reason != "Invalid":
            raise
        return report([e])  # kubectl's CheckErr: The Job "x" is invalid: ...
    same = out["metadata"].get("resourceVersion") == cur["metadata"].get("resourceVersion")
    print(f"{kind_ref(out)} patched{' (no change)' if same else ''}")
    return 0


def run(args: argparse.Namespace) -> int:
    several = args.command != "patch" and (args.all or bool(args.selector))
    if several and args.all and args.selector:
        return fail("error: cannot set --all and --selector at the same time")
    try:
        given = [args.name] if getattr(args, "name", None) else []
        if several:  # KIND alone: every argument after it is a change
            info, name, rest = kinds.lookup(args.target), "", list(args.changes)
        else:
            info, name, rest = _target(args.target, given if args.command == "patch" else list(args.changes))
        if args.command != "patch":
            sets, removes = parse_changes(rest)
    except ValueError as e:
        return fail(str(e))
    except Exception as e:  # an unknown kind
        return fail(f"error: {e}")
    namespace = args.namespace if info.namespaced else None
    if args.command == "patch":
        result = with_client(args, lambda c: patch(c, info, name, args))
        return result if isinstance(result, int) else 0
    if not sets and not removes:
        return fail(f"error: at least one {'label' if args.command == 'label' else 'annotation'} update is required")
    field = "labels" if args.command == "label" else "annotations"

    async def go(client: Client) -> int:
        targets = [(namespace, name)]
        if several:  # kubectl label KIND --all | -l SELECTOR: each object found, one line each
            where = None if args.all_namespaces or not info.namespaced else namespace
            found = await client.list(info.kind, where, label_selector=args.selector)
            targets = [(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in found["items"]]
        failed = 0
        for ns, one in targets:
            try:
                print(await relabel(client, info, one, ns, field, sets, removes, args.overwrite,
                                    args.dry_run == "server"), flush=True)
            except ValueError as e:
                failed = fail(str(e))
            except ApiError as e:
                if not several:
                    raise
                failed = report([e])
        return failed

    result = with_client(args, go)
    return result if isinstance(result, int) else 0

