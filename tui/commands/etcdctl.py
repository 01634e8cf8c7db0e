"""`kube-tui etcdctl get|watch --prefix KEY`: the store's raw keys, revisions and values, etcdctl style."""

from __future__ import annotations

import argparse
import asyncio
import json

from control.apiserver.watch import RAW_TOPIC
from control.client import Client
from tui.commands.common import add_client_args, with_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("op", choices=["get", "watch"], help="get keys, or watch changes")
    p.add_argument("key", help="key, e.g. /registry/pods/default/nginx")
    p.add_argument("--prefix", action="store_true", help="every key that starts with KEY")
    p.add_argument("--rev", type=int, default=0, help="read at this revision (within history)")
    p.add_argument("--keys-only", action="store_true")
    p.add_argument("-w", "--write-out", default="simple", choices=["simple", "json"], help="simple (default) or json")
    add_client_args(p)


async def get(client: Client, args: argparse.Namespace) -> int:
    answer = await client.range(args.key, prefix=args.prefix, revision=args.rev, keys_only=args.keys_only)
    if args.write_out == "json":
        print(json.dumps({"header": {"revision": answer["revision"]}, "kvs": answer["kvs"], "count": len(answer["kvs"])}))
        return 0
    for kv in answer["kvs"]:
        print(kv["key"])
        if not args.keys_only:
            print(json.dumps(kv["value"], separators=(",", ":")))
    return 0


async def watch(client: Client, args: argparse.Namespace) -> int:
    queue: asyncio.Queue[dict] = asyncio.Queue()
    client.subscribe(RAW_TOPIC, lambda ev: queue.put_nowait(ev) if ev["type"] != "BOOKMARK" else None)
    while True:
        ev = await queue.get()
        raw = ev["object"]
        key = raw["key"]
        if key != args.key and not (args.prefix and key.startswith(args.key)):
            continue
        if args.write_out == "json":
            print(json.dumps(raw), flush=True)
            continue
        print("PUT" if raw["type"] == "PUT" else "DELETE", flush=True)
        print(key, flush=True)
        if raw["type"] == "PUT" and not args.keys_only:
            print(json.dumps(raw["object"], separators=(",", ":")), flush=True)


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: get(c, args) if args.op == "get" else watch(c, args))
    return result if isinstance(result, int) else 0
