"""`kube-tui version [--client] [-o json|yaml]`: kube-tui's own version (Client Version) and the Kubernetes
version the API server serves (Server Version: what its REST API answers kubectl on /version), as
`kubectl version` prints them."""

from __future__ import annotations

import argparse

from control import version
from control.client import Client
from tui.commands.common import add_client_args, fail, with_client
from tui.printers import discovery as printer


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("extra", nargs="*", help=argparse.SUPPRESS)  # kubectl's "extra arguments" error
    p.add_argument("--client", action="store_true", help="only kube-tui's own version (no server needed)")
    p.add_argument("-o", "--output", default="", help="yaml or json")
    add_client_args(p)

def run(args: argparse.Namespace) -> int:
    if args.extra:
        return fail(f"error: extra arguments: [{' '.join(args.extra)}]")
    if args.output not in ("", "yaml", "json"):
        return fail("error: --output must be 'yaml' or 'json'")
    client = version.kube_tui()
    if args.client:
        print(printer.version(client, None, args.output))
        return 0

    async def server_version(c: Client) -> dict:
        return (await c.request("discovery", {}))["version"]

    if not args.output:  # as kubectl: the client's line first, whether or not the server answers
        print(printer.version(client, None), flush=True)
    server = with_client(args, server_version)
    if isinstance(server, int):  # the server's error, printed already: what is known about the client stays
        if args.output:
            print(printer.version(client, None, args.output))
        return server
    text = printer.version(client, server, args.output)
    print(text.partition("\n")[2] if not args.output else text)
    return 0
