"""`kube-tui exec POD [-c CONTAINER] [-n NS] -- COMMAND [ARGS...]`: run a command in a container, as kubectl exec.

Not interactive (no -i/-t): the pod's kubelet runs the command in the container's environment and
working directory and answers with its output and exit code once it has finished. As with kubectl,
a non-zero exit code is reported ("command terminated with exit code N") and becomes ours.
"""

from __future__ import annotations

import argparse
import sys

from control.client import Client
from tui.commands.common import add_client_args, fail, with_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", help="POD or pod/POD")
    # not "command": the top-level parser keeps the subcommand's name there. tui.cli takes what follows
    # `--` as it is; words after POD without `--` (kubectl's old form) are the command too.
    p.add_argument("argv", nargs="*", metavar="-- COMMAND [ARGS...]", help="the command to run, after --")
    p.add_argument("-c", "--container", default=None, help="the container (default: the pod's first)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds the command may run before it is killed")
    p.add_argument("-i", "--stdin", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("-t", "--tty", action="store_true", help=argparse.SUPPRESS)
    add_client_args(p)


async def run_in_pod(client: Client, args: argparse.Namespace, pod: str, command: list[str]) -> int:
    out = await client.exec(pod, command, args.namespace, container=args.container, timeout=args.timeout)
    code = int(out.get("exitCode") or 0)
    text = out.get("output") or ""
    if code and text and not text.endswith("\n"):
        text += "\n"  # the runtime's own error ("OCI runtime exec failed: ...") ends without one
    sys.stdout.write(text)
    sys.stdout.flush()
    if code:
        print(f"command terminated with exit code {code}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    command = list(args.argv)
    if args.stdin or args.tty:
        return fail("error: kube-tui exec is not interactive (no -i/-t): give the command to run after --")
    if not command:
        return fail("error: you must specify at least one command for the container: kube-tui exec POD -- COMMAND")
    pod = args.pod.removeprefix("pod/").removeprefix("pods/").removeprefix("po/")
    if not 0 < args.timeout <= 600:
        return fail("error: --timeout must be between 0 and 600 seconds")
    result = with_client(args, lambda c: run_in_pod(c, args, pod, command))
    return result if isinstance(result, int) else 0
