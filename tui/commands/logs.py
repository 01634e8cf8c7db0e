"""`kube-tui logs POD [-c C] [-f] [--previous]`: a container's output, fetched from its kubelet via the API server."""

from __future__ import annotations

import argparse
import asyncio
import sys

from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client
from tui.commands.podselect import choose_pod, parse_target


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", metavar="POD|TYPE/NAME", help="a pod, or job/NAME, deploy/NAME, svc/NAME, ... (one of its pods)")
    p.add_argument("-c", "--container", default=None, help="container (default: the pod's only or first container)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("-p", "--previous", action="store_true", help="the previous (crashed) instance's output")
    p.add_argument("--tail", type=int, default=-1, help="only the last N lines")
    add_client_args(p)


async def logs(client: Client, args: argparse.Namespace) -> int:
    try:
        kind, name = parse_target(args.pod)
        if kind != "Pod":  # as kubectl: one pod of the object (`logs job/pi`, `logs deploy/web`)
            pod, _, found = await choose_pod(client, kind, name, args.namespace, running_only=False)
            name = pod["metadata"]["name"]
            if found > 1:
                print(f"Found {found} pods, using pod/{name}", file=sys.stderr)
    except ValueError as e:
        return fail(str(e))
    body: dict = {"namespace": args.namespace, "name": name, "previous": args.previous}
    if args.container:
        body["container"] = args.container
    if args.tail >= 0:
        body["tail"] = args.tail
    answer = await client.request("logs", body)
    sys.stdout.write(answer.get("text", ""))
    sys.stdout.flush()
    offset = answer.get("offset")
    # As kubectl logs -f: until the container stops (the kubelet says whether it still runs).
    while args.follow and not args.previous and answer.get("running", True):
        await asyncio.sleep(0.5)
        body.pop("tail", None)
        if offset is not None:
            body["offset"] = offset
        try:
            answer = await client.request("logs", body)
        except ApiError as e:
            if e.code == 404:
                break  # the pod is gone
            raise
        sys.stdout.write(answer.get("text", ""))
        sys.stdout.flush()
        offset = answer.get("offset", offset)
    return 0


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: logs(c, args))
    return result if isinstance(result, int) else 0
