"""`kube-tui attach POD|TYPE/NAME [-c CONTAINER] [-i] [-t] [-q]`: join a running container's own stdio, as kubectl
attach does: what the container writes from now on, and with -i our stdin to the container's (it must have been
started with `stdin: true`). ^C detaches; the container goes on.

A container started with `tty: true` is attached as a terminal whether or not -t is given, as kubectl does; -t on
one without a terminal is said to be of no use, and ignored.
"""

from __future__ import annotations

import argparse
import sys

from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client
from tui.commands.podselect import choose_pod, default_container, parse_target


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", nargs="?", help="POD, pod/POD, or TYPE/NAME (deploy/web: one of its pods, said nothing of)")
    p.add_argument("-c", "--container", default=None, help="the container (default: the pod's default container)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the container")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a TTY")
    p.add_argument("-q", "--quiet", action="store_true", help="only print output from the remote session")
    add_client_args(p)


def _container(pod: dict, name: str) -> dict | None:
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict) and c.get("name") == name:
                return c
    return None


def reattach_message(pod: dict, container: str, *, stdin: bool, tty: bool, quiet: bool) -> str:
    """kubectl's reattachMessage: after a terminal session, how to come back (restartPolicy Always only)."""
    if quiet or not stdin or not tty or (pod.get("spec") or {}).get("restartPolicy", "Always") != "Always":
        return ""
    name = (pod.get("metadata") or {}).get("name", "")
    if any(c.get("name") == container for c in (pod.get("spec") or {}).get("ephemeralContainers") or []):
        return (f"Session ended, the ephemeral container will not be restarted but may be reattached using "
                f"'kube-tui attach {name} -c {container} -i -t' if it is still running")
    return f"Session ended, resume using 'kube-tui attach {name} -c {container} -i -t' command when the pod is running"


async def attach(client: Client, args: argparse.Namespace) -> int:
    from tui.commands import exec as exec_cmd

    if not args.pod:
        return fail("error: at least 1 argument is required for attach")
    try:
        kind, name = parse_target(args.pod)
        pod, _, _ = await choose_pod(client, kind, name, args.namespace, running_only=kind != "Pod")
    except ValueError as e:
        return fail(str(e))
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        return fail(f"error: cannot attach a container in a completed pod; current phase is {phase}")
    container = args.container or default_container(pod, quiet=args.quiet)
    spec = _container(pod, container)
    if spec is None:
        return fail(f"error: cannot attach to the container: container {container} not found in pod "
                    f"{pod['metadata']['name']}")
    tty = args.tty
    if tty and not spec.get("tty"):
        tty = False
        if not args.quiet:
            print(f"error: Unable to use a TTY - container {container} did not allocate one", file=sys.stderr)
    elif not tty and spec.get("tty"):
        tty = True  # the container's stdio is a terminal: attached as one (kubectl forces it)
    if tty and (not args.stdin or not sys.stdin.isatty()):
        tty = False  # no terminal of ours to make raw: its output still comes, as it is
    if not args.quiet:
        print("If you don't see a command prompt, try pressing enter.", file=sys.stderr, flush=True)
    opts = argparse.Namespace(namespace=args.namespace, container=container, timeout=None)
    try:
        await exec_cmd.stream(client, opts, pod["metadata"]["name"], [], stdin=args.stdin, tty=tty, attach=True)
    except ApiError as e:
        return fail(str(e))  # kubectl: Error from server (BadRequest): pod web does not have a host assigned
    if message := reattach_message(pod, container, stdin=args.stdin, tty=tty, quiet=args.quiet):
        print(message)
    return 0


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: attach(c, args))
    return result if isinstance(result, int) else 0
