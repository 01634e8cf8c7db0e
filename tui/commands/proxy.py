"""`kube-tui proxy`: kubectl proxy. Plain HTTP on 127.0.0.1:8001 forwarded to the Kubernetes REST API with
the admin's credentials, so that the API server, the single entry point, can be explored with curl
(control/apiproxy.py is the server)."""

from __future__ import annotations

import argparse
import errno
import os
import sys

from aiohttp import web

from control import aio, config
from control.apiproxy import (
    ACCEPT_HOSTS,
    ACCEPT_PATHS,
    REJECT_METHODS,
    REJECT_PATHS,
    Filter,
    FilterError,
    ProxyServer,
    Upstream,
)
from control.client import Client
from tui.commands.common import add_client_args, fail, make_client, wait_for_signal, with_client

DEFAULT_PORT = 8001


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("-p", "--port", type=int, default=DEFAULT_PORT,
                   help="the port on which to run the proxy; 0 picks a free one (default %(default)s)")
    p.add_argument("--address", default="127.0.0.1", help="the IP address on which to serve (default %(default)s)")
    p.add_argument("--api-prefix", default="/", help="prefix to serve the proxied API under (default %(default)s)")
    p.add_argument("-w", "--www", default="", help="also serve static files from this directory under --www-prefix")
    p.add_argument("-P", "--www-prefix", default="/static/",
                   help="prefix to serve static files under, with --www (default %(default)s)")
    p.add_argument("--accept-paths", default=ACCEPT_PATHS, help="regular expressions for paths to accept (default %(default)s)")
    p.add_argument("--reject-paths", default=REJECT_PATHS,
                   help="regular expressions for paths to reject, even when accepted (default %(default)s)")
    p.add_argument("--accept-hosts", default=ACCEPT_HOSTS,
                   help="regular expressions for the Host headers to accept (default %(default)s)")
    p.add_argument("--reject-methods", default=REJECT_METHODS,
                   help="regular expressions for HTTP methods to reject, e.g. 'POST,PUT,PATCH' (default %(default)s)")
    p.add_argument("--disable-filter", action="store_true",
                   help="accept every request: dangerous, open to XSRF attacks when the port can be reached")
    add_client_args(p)


def run(args: argparse.Namespace) -> int:
    try:
        filter_ = None if args.disable_filter else Filter.parse(
            args.accept_paths, args.reject_paths, args.accept_hosts, args.reject_methods)
    except FilterError as e:
        return fail(f"error: {e}", 255)  # kubectl's klog.Fatalf
    if not 0 <= args.port <= 65535:
        return fail(f"error: listen tcp: address {args.port}: invalid port: give --port 0 to 65535 (0 picks a free one)")
    if args.www and not os.path.isdir(args.www):
        print(f"Warning: --www: {args.www} is not a directory: the static files will not be found", file=sys.stderr)

    async def rest_address(client: Client) -> str:
        return (await client.request("discovery", {}))["restAddress"]

    found = with_client(args, rest_address)
    if isinstance(found, int):
        return found  # the API server did not answer: with_client said so
    cfg = make_client(args)
    if not found:
        return fail(f"error: the API server at {cfg.server} serves no Kubernetes REST API (its control plane was "
                    "started with --https ''): restart `kube-tui control` with --https HOST:PORT")
    ca = config.rest_ca(found)
    if ca is None:
        return fail(f"error: no CA certificate for the REST API at {found}: neither {config.home() / 'kubeconfig'} "
                    "nor the data dir's pki/ca.crt has it; run `kube-tui control` as this user (or set "
                    "$KUBE_TUI_HOME to its home)")
    if args.disable_filter:
        print("Warning: Request filter disabled, your proxy is vulnerable to XSRF attacks, please be cautious",
              file=sys.stderr, flush=True)
    server = ProxyServer(Upstream(found, cfg.token, ca), args.api_prefix, filter_, args.www or None, args.www_prefix)
    return aio.run(serve(server, args.address, args.port))


async def serve(server: ProxyServer, address: str, port: int) -> int:
    runner = web.ServerRunner(web.Server(server.handle, handler_cancellation=True), shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, address, port, reuse_address=True)
        try:
            await site.start()
        except OSError as e:
            why = os.strerror(e.errno) if e.errno else str(e)
            host = f"[{address}]" if ":" in address else address
            hint = ": stop what serves it, or choose another port with --port (0 picks a free one)" \
                if e.errno == errno.EADDRINUSE else ""
            return fail(f"error: listen tcp {host}:{port}: bind: {why[:1].lower()}{why[1:]}{hint}")
        bound = site._server.sockets[0].getsockname() if site._server else (address, port)  # noqa: SLF001
        shown = f"[{bound[0]}]:{bound[1]}" if ":" in bound[0] else f"{bound[0]}:{bound[1]}"
        print(f"Starting to serve on {shown}", flush=True)
        await wait_for_signal()
        return 0
    finally:
        await server.close()
        await runner.cleanup()
