"""`kube-tui logs POD [-c C] [-f] [--previous] [--tail N] [--timestamps] [--since D | --since-time T]`: a
container's output, fetched from its kubelet via the API server."""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import sys

from control.api.podlogs import log_pages
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client
from tui.commands.podselect import choose_pod, default_container, parse_target


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", metavar="POD|TYPE/NAME", help="a pod, or job/NAME, deploy/NAME, svc/NAME, ... (one of its pods)")
    p.add_argument("-c", "--container", default=None, help="container (default: the pod's only or first container)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("-p", "--previous", action="store_true", help="the previous (crashed) instance's output")
    p.add_argument("--tail", type=int, default=-1, help="only the last N lines")
    p.add_argument("--timestamps", action="store_true", help="each line prefixed with the time it was read (RFC3339Nano)")
    p.add_argument("--since", type=duration, default=0, metavar="DURATION",
                   help="only lines newer than a relative duration like 5s, 2m, or 3h")
    p.add_argument("--since-time", default="", metavar="RFC3339",
                   help="only lines at or after a time, like 2026-11-27T13:10:00Z")
    add_client_args(p)


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


def duration(text: str) -> float:
    """Seconds of a Go duration ("5s", "2m", "1h30m", "1.5h", "300ms"), as kubectl's --since takes it."""
    sign, rest = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.removeprefix("+"))
    if rest == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(rest):
        m = _PART.match(rest, pos)
        if m is None and re.fullmatch(r"[0-9]*(?:\.[0-9]*)?", rest[pos:]) and rest[pos:] not in ("", "."):
            raise argparse.ArgumentTypeError(f'time: missing unit in duration "{text}"')  # Go's wording for "5"
        if m is None or m[1] in ("", "."):
            raise argparse.ArgumentTypeError(f'time: invalid duration "{text}"')
        total += float(m[1]) * _UNITS[m[2]]
        pos = m.end()
    if not rest:
        raise argparse.ArgumentTypeError(f'time: invalid duration "{text}"')
    return sign * total


async def logs(client: Client, args: argparse.Namespace) -> int:
    try:
        kind, name = parse_target(args.pod)
        try:
            pod, _, found = await choose_pod(client, kind, name, args.namespace, running_only=False)
        except ApiError as e:
            if e.code != 404:
                raise
            # kubectl logs finds the object with its builder, and says so
            return fail(f"error: error from server (NotFound): {e.message} in namespace \"{args.namespace}\"")
        if kind != "Pod":  # as kubectl: one pod of the object (`logs job/pi`, `logs deploy/web`)
            name = pod["metadata"]["name"]
            if found > 1:
                print(f"Found {found} pods, using pod/{name}", file=sys.stderr)
    except ValueError as e:
        return fail(str(e))
    if not args.container:  # as kubectl: the default container, said when the pod has others
        args.container = default_container(pod) or None
    body: dict = {"namespace": args.namespace, "name": name, "previous": args.previous}
    if args.container:
        body["container"] = args.container
    if args.tail >= 0:
        body["tail"] = args.tail
    if args.timestamps:
        body["timestamps"] = True
    if args.since_time and args.since:
        return fail("error: at most one of `sinceTime` or `sinceSeconds` may be specified")
    if args.since < 0:
        return fail("error: --since must be greater than 0")
    if args.since:
        body["sinceSeconds"] = math.floor(args.since + 0.5)  # kubectl's Round(time.Second): 500ms is 1s, 400ms 0
    if args.since_time:
        body["sinceTime"] = args.since_time
    answer: dict = {}
    try:
        async for answer in log_pages(lambda b: client.request("logs", b), body):
            sys.stdout.write(answer.get("text", ""))
    except ApiError as e:
        if e.code != 400:
            raise
        return fail(f"error: {e.message}")  # kubectl's words for the kubelet's refusal (a container not there)
    sys.stdout.flush()
    offset = answer.get("offset")
    # As kubectl logs -f: until the container stops (the kubelet says whether it still runs).
    while args.follow and not args.previous and (answer.get("running", True) or answer.get("more")):
        if not answer.get("more"):  # a page of a burst: the next one at once
            await asyncio.sleep(0.5)
        for key in ("tail", "sinceSeconds", "sinceTime"):  # what follows the first answer is newer: all of it
            body.pop(key, None)
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
