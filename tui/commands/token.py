"""`kube-tui token create|list|delete`: node join tokens, like `kubeadm token`; --print-join-command."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from control import config
from control.apiserver.auth import Credentials
from tui.commands.common import fail


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("op", choices=["create", "list", "delete"])
    p.add_argument("token", nargs="?", help="with delete: the token or its id")
    p.add_argument("--data-dir", default=None, help="the control plane's data dir (default ~/.kube-tui/data)")
    p.add_argument("--ttl", type=float, default=0, help="with create: seconds until it expires (0: never)")
    p.add_argument("--print-join-command", action="store_true", help="with create: print the whole node command")


def run(args: argparse.Namespace) -> int:
    # Tokens live in the control plane's data dir (owner-only); the API server reads them on each check,
    # so this works while it runs. It needs file access to that dir, like kubeadm needs the admin config.
    data_dir = Path(args.data_dir) if args.data_dir else config.default_data_dir()
    if not (data_dir / "credentials.json").exists():
        return fail(f"error: no credentials in {data_dir}: start `kube-tui control` first (or pass --data-dir)")
    creds = Credentials.load(data_dir)
    if args.op == "create":
        tok = creds.create_join_token(args.ttl)
        if args.print_join_command:
            cfg = config.resolve()
            key = f" --server-key {cfg.server_key}" if cfg.server_key else ""
            print(f"kube-tui node --server {cfg.server}{key} --token {tok} --name NODE_NAME")
        else:
            print(tok)
        return 0
    if args.op == "list":
        print(f"{'TOKEN':<24}{'TTL':<10}")
        for tok, expires in creds.join_tokens():
            ttl = "<forever>" if not expires else (f"{int(expires - time.time())}s" if expires > time.time() else "expired")
            print(f"{tok:<24}{ttl:<10}")
        return 0
    if not args.token:
        return fail("error: give the token (or its id) to delete")
    if not creds.delete_join_token(args.token):
        return fail(f'error: bootstrap token "{args.token.split(".")[0]}" not found')
    print(f'bootstrap token "{args.token.split(".")[0]}" deleted')
    return 0
