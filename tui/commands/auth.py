"""`kube-tui auth whoami | can-i VERB RESOURCE[/NAME] | can-i --list`: who you are, and what you (or the user
--as names) may do, asked of the API server's authorizers and printed as kubectl auth prints them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client
from tui.printers.describers.rbac import breakdown, combine_resource_group, compact
from tui.printers.tabwriter import tabwrite

NON_STANDARD = ("users", "groups")  # resources kubectl asks about without a warning though none is served


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("action", choices=("can-i", "whoami"), help="can-i VERB RESOURCE[/NAME], or whoami")
    p.add_argument("words", nargs="*", metavar="VERB RESOURCE", help="can-i: a verb and a resource (or a URL path)")
    p.add_argument("-n", "--namespace", default=None)
    p.add_argument("-A", "--all-namespaces", action="store_true", help="can-i: in every namespace")
    p.add_argument("--subresource", default="", help="can-i: a subresource, such as log")
    p.add_argument("--list", dest="list_rules", action="store_true", help="can-i: every rule you hold in the namespace")
    p.add_argument("--no-headers", action="store_true", help="can-i --list: without the header line")
    p.add_argument("-q", "--quiet", action="store_true", help="can-i: no output, only the exit code")
    add_client_args(p)


def _resource(word: str) -> tuple[str, str, bool]:
    """(resource, group, namespaced) of what the user typed, as kubectl's resourceFor finds it."""
    if word == "*":
        return "*", "", True
    try:
        info = kinds.lookup(word)
    except ApiError:
        base, _, group = word.lower().partition(".")
        if base not in NON_STANDARD:
            where = f" in group '{group}'" if group else ""
            print(f"Warning: the server doesn't have a resource type '{base}'{where}\n", file=sys.stderr)
        return word, "", True
    return info.resource, info.group, info.namespaced


def _print_rules(status: dict, no_headers: bool) -> None:
    if status.get("incomplete") and status.get("evaluationError"):
        print(f"warning: the list may be incomplete: {status['evaluationError']}", file=sys.stderr)
    rules = [r for rule in [*status.get("resourceRules", []), *status.get("nonResourceRules", [])]
             for r in breakdown(rule)]
    lines = [] if no_headers else ["Resources\tNon-Resource URLs\tResource Names\tVerbs"]
    for r in compact(rules):
        lines.append(f"{combine_resource_group(r.get('resources', []), r.get('apiGroups', []))}\t"
                     f"[{' '.join(r.get('nonResourceURLs', []))}]\t[{' '.join(r.get('resourceNames', []))}]\t"
                     f"[{' '.join(r['verbs'])}]")
    print(tabwrite("\n".join(lines), minwidth=6, padding=3))  # kubectl's GetNewTabWriter


def run(args: argparse.Namespace) -> int:
    ns = "" if args.all_namespaces else args.namespace or "default"
    if args.action == "whoami":
        async def whoami(c: Client) -> dict:
            return await c.request("review", {"kind": "SelfSubjectReview"})  # type: ignore[no-any-return]

        out = with_client(args, whoami)
        if isinstance(out, int):
            return out
        info = out["status"]["userInfo"]
        print(tabwrite(f"ATTRIBUTE\tVALUE\nUsername\t{info['username']}\nGroups\t[{' '.join(info['groups'])}]",
                       minwidth=6, padding=3))
        return 0
    if args.list_rules:
        if args.words:
            return fail("error: --list does not take arguments: kube-tui auth can-i --list [-n NAMESPACE]")

        async def rules(c: Client) -> dict:
            return await c.request("review", {"kind": "SelfSubjectRulesReview",  # type: ignore[no-any-return]
                                              "spec": {"namespace": args.namespace or "default"}})

        out = with_client(args, rules)
        if isinstance(out, int):
            return out
        _print_rules(out["status"], args.no_headers)
        return 0
    if len(args.words) != 2:
        return fail("error: you must specify two arguments: verb resource or verb resource/resourceName.\n"
                    "See 'kube-tui auth can-i -h' for help and examples.")
    verb, target = args.words
    spec: dict[str, Any]
    if target.startswith("/"):
        spec = {"nonResourceAttributes": {"verb": verb, "path": target}}
    else:
        word, _, name = target.partition("/")
        resource, group, namespaced = _resource(word)
        if not namespaced and not args.all_namespaces:
            print(f"Warning: resource '{resource}' is not namespace scoped\n", file=sys.stderr)
        spec = {"resourceAttributes": {"namespace": ns, "verb": verb, "group": group, "resource": resource,
                                       "subresource": args.subresource, "name": name}}

    async def can_i(c: Client) -> dict:
        return await c.request("review", {"kind": "SelfSubjectAccessReview", "spec": spec})  # type: ignore[no-any-return]

    out = with_client(args, can_i)
    if isinstance(out, int):
        return out
    status = out["status"]
    if not args.quiet:
        if status.get("allowed"):
            print("yes")
        else:
            why = "".join(f" - {status[k]}" for k in ("reason", "evaluationError") if status.get(k))
            print(f"no{why}")
    return 0 if status.get("allowed") else 1
