"""`kube-tui logs POD|TYPE/NAME|-l SELECTOR [-c C | --all-containers] [--prefix] [-f] [--previous] [--tail N]
[--timestamps] [--since D | --since-time T]`: containers' output, fetched from their kubelets via the API server."""

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
    p.add_argument("pod", metavar="POD|TYPE/NAME", nargs="?", default=None,
                   help="a pod, or job/NAME, deploy/NAME, svc/NAME, ... (one of its pods)")
    p.add_argument("-l", "--selector", default="", help="the pods with these labels (app=web): each one's logs")
    p.add_argument("-c", "--container", default=None, help="container (default: the pod's only or first container)")
    p.add_argument("--all-containers", action="store_true", help="every container of the pod(s), init containers too")
    p.add_argument("--prefix", action="store_true", help="each line prefixed with its source: [pod/NAME/CONTAINER]")
    p.add_argument("--max-log-requests", type=int, default=5,
                   help="with -l and -f: how many streams may be followed at once (kubectl's default 5)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new output")
    p.add_argument("-p", "--previous", action="store_true", help="the previous (crashed) instance's output")
    p.add_argument("--tail", type=int, default=None,
                   help="only the last N lines (default: all, or 10 with -l, as kubectl)")
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


USAGE = ("error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required "
         "argument for the logs command\nSee 'kube-tui logs -h' for help and examples")


def _containers(pod: dict, args: argparse.Namespace) -> list[str]:
    """The containers whose logs are wanted: -c's, every one (--all-containers), else the default one."""
    if args.container:
        return [args.container]
    spec = pod.get("spec") or {}
    if args.all_containers:
        return [str(c.get("name")) for key in ("initContainers", "containers") for c in spec.get(key) or []]
    name = default_container(pod)  # said for each pod of a selector too, as kubectl
    return [name] if name else []


async def logs(client: Client, args: argparse.Namespace) -> int:
    if args.pod and args.selector:
        return fail("error: only a selector (-l) or a POD name is allowed\nSee 'kube-tui logs -h' for help and examples")
    if not args.pod and not args.selector:
        return fail(USAGE)
    if args.container and args.all_containers:
        return fail(f"error: --all-containers=true should not be specified with container name {args.container}")
    if args.since_time and args.since:
        return fail("error: at most one of `sinceTime` or `sinceSeconds` may be specified")
    if args.since < 0:
        return fail("error: --since must be greater than 0")
    if args.selector:
        pods = sorted((await client.list("Pod", args.namespace, label_selector=args.selector))["items"],
                      key=lambda p: p["metadata"]["name"])
        if not pods:
            print(f"No resources found in {args.namespace} namespace.", file=sys.stderr)
            return 0
        tail = 10 if args.tail is None else args.tail  # kubectl: the last 10 lines of each with a selector
    else:
        try:
            kind, name = parse_target(args.pod)
            try:
                pod, _, found = await choose_pod(client, kind, name, args.namespace, running_only=False)
            except ApiError as e:
                if e.code != 404:
                    raise
                # kubectl logs finds the object with its builder, and says so
                return fail(f"error: error from server (NotFound): {e.message} in namespace \"{args.namespace}\"")
            if kind != "Pod" and found > 1:  # as kubectl: one pod of the object (`logs job/pi`, `logs deploy/web`)
                print(f"Found {found} pods, using pod/{pod['metadata']['name']}", file=sys.stderr)
        except ValueError as e:
            return fail(str(e))
        pods = [pod]
        tail = -1 if args.tail is None else args.tail
    streams = [(p["metadata"]["name"], c) for p in pods for c in _containers(p, args)]
    if args.follow and len(streams) > args.max_log_requests:
        return fail(f"error: you are attempting to follow {len(streams)} log streams, but maximum allowed "
                    f"concurrency is {args.max_log_requests}, use --max-log-requests to increase the limit")
    bodies = []
    for pod_name, container in streams:
        body: dict = {"namespace": args.namespace, "name": pod_name, "previous": args.previous}
        if container:
            body["container"] = container
        if tail >= 0:
            body["tail"] = tail
        if args.timestamps:
            body["timestamps"] = True
        if args.since:
            body["sinceSeconds"] = math.floor(args.since + 0.5)  # kubectl's Round(time.Second): 500ms is 1s, 400ms 0
        if args.since_time:
            body["sinceTime"] = args.since_time
        bodies.append(body)
    try:
        if args.follow:  # every stream at once, as kubectl's parallel consumer
            results = await asyncio.gather(*(_stream(client, b, args) for b in bodies))
            return max(results, default=0)
        for b in bodies:
            if code := await _stream(client, b, args):
                return code
    except ApiError as e:
        if e.code != 400:
            raise
        return fail(f"error: {e.message}")  # kubectl's words for the kubelet's refusal (a container not there)
    return 0


def _out(text: str, prefix: str) -> None:
    if prefix and text:
        text = "".join(f"{prefix}{line}" for line in text.splitlines(keepends=True))
    sys.stdout.write(text)
    sys.stdout.flush()


async def _stream(client: Client, body: dict, args: argparse.Namespace) -> int:
    """One container's log, and with -f what it writes after, until it stops (the kubelet says whether it still
    runs); with --prefix each line says where it comes from, as kubectl's [pod/NAME/CONTAINER]."""
    prefix = f"[pod/{body['name']}/{body.get('container', '')}] " if args.prefix else ""
    answer: dict = {}
    async for answer in log_pages(lambda b: client.request("logs", b), body):
        _out(answer.get("text", ""), prefix)
    offset = answer.get("offset")
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
        _out(answer.get("text", ""), prefix)
        offset = answer.get("offset", offset)
    return 0


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: logs(c, args))
    return result if isinstance(result, int) else 0
