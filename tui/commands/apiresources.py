"""`kube-tui api-resources` and `kube-tui api-versions`: the resources and group versions the API server
serves, from its discovery (the `discovery` verb: what the REST API serves kubectl at /api and /apis), printed
as kubectl prints them."""

from __future__ import annotations

import argparse

from control.client import Client
from tui.commands.common import add_client_args, any_result, fail, with_client
from tui.printers import discovery as printer

# Go's strconv.ParseBool, which kubectl's boolean flags take
_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
          "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("unexpected", nargs="*", help=argparse.SUPPRESS)  # kubectl's "unexpected arguments" error
    if name == "api-resources":
        p.add_argument("-o", "--output", default="", help="wide (adds VERBS and CATEGORIES) or name (RESOURCE.GROUP)")
        p.add_argument("--no-headers", action="store_true", help="no header line")
        p.add_argument("--api-group", default=None, help='only the resources of this API group ("" is the core group)')
        p.add_argument("--namespaced", nargs="?", const="true", default=None, metavar="true|false",
                       help="only namespaced resources (true, the flag alone) or only cluster-scoped ones (false)")
        p.add_argument("--verbs", action="append", default=[], help="only resources that serve all these verbs (comma-separated)")
        p.add_argument("--categories", action="append", default=[],
                       help="only resources in all these categories (comma-separated), e.g. all")
        p.add_argument("--sort-by", default="", help="name or kind (default: by API group, then name)")
    add_client_args(p)


def run(args: argparse.Namespace) -> int:
    if args.unexpected:
        return fail(f"error: unexpected arguments: [{' '.join(args.unexpected)}]\n"
                    f"See 'kube-tui {args.command} -h' for help and examples")
    if args.command == "api-versions":
        return any_result(with_client(args, api_versions))
    if args.output not in printer.OUTPUTS:
        return fail(f"error: --output {args.output} is not available")
    if args.sort_by not in printer.SORTS:
        return fail("error: --sort-by accepts only name or kind")
    namespaced = None
    if args.namespaced is not None:
        namespaced = _BOOLS.get(args.namespaced)
        if namespaced is None:
            return fail(f'error: invalid argument "{args.namespaced}" for "--namespaced" flag: strconv.ParseBool: '
                        f'parsing "{args.namespaced}": invalid syntax\nSee \'kube-tui api-resources --help\' for usage.')
    filters = printer.Filters(api_group=args.api_group, namespaced=namespaced, verbs=_words(args.verbs),
                              categories=_words(args.categories))

    async def api_resources(client: Client) -> int:
        found = await client.request("discovery", {})
        rows = printer.select(printer.preferred_resources(found["groups"], found["resourceLists"]), filters)
        text = printer.api_resources(rows, args.output, args.no_headers, args.sort_by)
        if text:
            print(text)
        return 0

    return any_result(with_client(args, api_resources))


async def api_versions(client: Client) -> int:
    print(printer.api_versions((await client.request("discovery", {}))["groups"]))
    return 0


def _words(values: list[str]) -> list[str]:
    """A repeatable flag of comma-separated words (pflag's StringSlice)."""
    return [w for v in values for w in v.split(",") if w]
