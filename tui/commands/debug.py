"""`kube-tui debug POD --image IMAGE [-it] [-c NAME] [--target CONTAINER] [--profile P] -- COMMAND...`: add an
ephemeral container to a running pod, as `kubectl debug` does (its ephemeral container form).

The container goes in through the pod's ephemeralcontainers subresource: a strategic merge patch of
spec.ephemeralContainers, the only field that subresource changes. The pod's kubelet starts it beside the
pod's own containers, with the pod's environment and IP, runs it once and never restarts it; its status is
in status.ephemeralContainerStatuses. With -i the command attaches to it once it runs, as `kubectl debug -it`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from typing import Any

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client
from tui.commands.imperative import env_vars

# kubectl's debugging profiles, as they set an ephemeral container's securityContext (pkg/cmd/debug/profiles.go)
PROFILES: dict[str, dict[str, Any] | None] = {
    "legacy": None,
    "general": {"capabilities": {"add": ["SYS_PTRACE"]}},
    "baseline": None,
    "restricted": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                   "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
    "netadmin": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
    "sysadmin": {"privileged": True},
}
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's utilrand.String: no vowels, no 0/1/3
# kubectl debug's flags for a copy of the pod (--copy-to and what goes with it) and for a node's debugging pod
COPY_FLAGS = ("--copy-to", "--replace", "--same-node", "--set-image", "--share-processes", "--keep-labels",
              "--keep-annotations", "--keep-liveness", "--keep-readiness", "--keep-startup", "--keep-init-containers",
              "--custom")
COPY_VALUE_FLAGS = ("--copy-to", "--set-image", "--custom")
RUNNING_TIMEOUT = 60.0  # seconds to wait for the container to run before attaching


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", help="POD or pod/POD")
    for flag in COPY_FLAGS:  # kubectl debug's other forms: said plainly rather than as an unknown argument
        if flag in COPY_VALUE_FLAGS:
            p.add_argument(flag, default=None, help=argparse.SUPPRESS)
        else:
            p.add_argument(flag, default=None, action="store_const", const="", help=argparse.SUPPRESS)
    p.add_argument("argv", nargs="*", metavar="-- COMMAND [ARGS...]", help="the command to run, after --")
    p.add_argument("--image", required=True, help="the debug container's image (busybox, for a shell)")
    p.add_argument("-c", "--container", default=None, help="the debug container's name (default: debugger-XXXXX)")
    p.add_argument("--target", default=None, help="the container of the pod whose processes to see")
    p.add_argument("--profile", default="legacy", choices=sorted(PROFILES),
                   help="kubectl's debugging profile: the securityContext it gives the container")
    p.add_argument("--arguments-only", action="store_true", help="pass the words after -- as args, not command")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="an environment variable")
    p.add_argument("--image-pull-policy", default=None, choices=("Always", "IfNotPresent", "Never"))
    p.add_argument("-i", "--stdin", action="store_true", help="keep stdin open and attach to the container")
    p.add_argument("-t", "--tty", action="store_true", help="a terminal for the container (with -i)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but the container's output")
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


def target_pod(arg: str) -> str:
    """The pod that POD, pod/POD or pods/POD names; ValueError, in kubectl's words where it has them, for
    anything else (kube-tui debug adds ephemeral containers only: a node's debugging pod is kubectl's)."""
    kind, sep, name = arg.partition("/")
    if not sep:
        return arg
    try:
        info = kinds.lookup(kind)
    except ApiError:
        raise ValueError(f'error: the server doesn\'t have a resource type "{kind}"') from None
    if info.kind == "Pod":
        return name
    if info.kind == "Node":
        raise ValueError(f"error: kube-tui debug only adds an ephemeral container to a pod; for node/{name}, run the "
                         f"real kubectl debug against this cluster (the KUBECONFIG `kube-tui control` prints)")
    group, _, version = info.api_version.rpartition("/")
    raise ValueError(f'error: "{group}/{version}, Kind={info.kind}" not supported by debug')


def unsupported_flag(args: argparse.Namespace) -> str | None:
    """The message for kubectl debug's flags of a form kube-tui debug lacks (a copy of the pod)."""
    given = [f for f in COPY_FLAGS if getattr(args, f.lstrip("-").replace("-", "_")) is not None]
    if not given:
        return None
    return (f"error: {given[0]} is not supported by kube-tui debug, which only adds an ephemeral container to the "
            f"pod itself; for a copy of the pod, run the real kubectl debug against this cluster (the KUBECONFIG "
            f"`kube-tui control` prints)")


def ephemeral_container(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """The EphemeralContainer kubectl debug's generateDebugContainer makes of these flags."""
    ec: dict[str, Any] = {"name": name, "image": args.image, "terminationMessagePolicy": "File"}
    if args.argv:
        ec["args" if args.arguments_only else "command"] = list(args.argv)
    if args.stdin:
        ec["stdin"] = True
    if args.tty:
        ec["tty"] = True
    if args.target:
        ec["targetContainerName"] = args.target
    if args.image_pull_policy:
        ec["imagePullPolicy"] = args.image_pull_policy
    if args.env:
        ec["env"] = env_vars(args.env)
    security = PROFILES[args.profile]
    if security is not None:
        ec["securityContext"] = security
    return ec


def _state(pod: dict, name: str) -> dict:
    for cs in (pod.get("status") or {}).get("ephemeralContainerStatuses") or []:
        if isinstance(cs, dict) and cs.get("name") == name:
            return cs.get("state") or {}
    return {}


class NotStarted(Exception):
    """The ephemeral container did not run, and will not, or not in time: the message says why."""


async def wait_started(client: Client, ns: str, pod_name: str, name: str, *, quiet: bool = False,
                       timeout: float = RUNNING_TIMEOUT, poll: float = 0.2) -> dict:
    """The pod once its ephemeral container `name` runs or has ended, as kubectl debug's waitForContainer
    waits: each new message of its waiting state is said as a warning (an image that cannot be pulled, ...).
    NotStarted when the pod has completed (its kubelet starts nothing in it again) or after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    said = None
    while True:
        pod = await client.get("Pod", pod_name, ns)
        state = _state(pod, name)
        if "running" in state or "terminated" in state:
            return pod
        message = (state.get("waiting") or {}).get("message")
        if message and message != said and not quiet:
            print(f"Warning: container {name}: {message}", file=sys.stderr, flush=True)
        said = message or said
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise NotStarted(f"error: pod {ns}/{pod_name} has completed (phase {phase}): its kubelet starts no "
                             f"container in it again, so ephemeral container {name} will not run; debug a copy "
                             f"of the pod instead (kubectl debug {pod_name} --copy-to={pod_name}-debug ...)")
        if loop.time() > deadline:
            node = (pod.get("spec") or {}).get("nodeName")
            why = (next(iter(state)) if state else
                   f"not reported by node {node}: is its kubelet running?" if node else
                   "not started: the pod is not scheduled to a node yet")
            raise NotStarted(f"error: timed out waiting for the condition (ephemeral container {name} of pod "
                             f"{ns}/{pod_name} is {why})")
        await asyncio.sleep(poll)


async def _debug(client: Client, args: argparse.Namespace) -> int:
    from tui.commands import exec as exec_cmd

    ns, pod_name = args.namespace, target_pod(args.pod)
    pod = await client.get("Pod", pod_name, ns)
    taken = {c.get("name") for key in ("initContainers", "containers", "ephemeralContainers")
             for c in (pod.get("spec") or {}).get(key) or []}
    name = args.container
    if name is None:
        while name is None or name in taken:
            name = "debugger-" + "".join(random.choice(SUFFIX_ALPHABET) for _ in range(5))
        if not args.quiet:
            print(f"Defaulting debug container name to {name}.", file=sys.stderr)
    ec = ephemeral_container(args, name)
    await client.patch("Pod", pod_name, {"spec": {"ephemeralContainers": [ec]}}, ns,
                       subresource="ephemeralcontainers", patch_type="strategic")
    for w in client.last_warnings:
        print(f"Warning: {w}", file=sys.stderr)
    if not args.stdin:
        return 0
    try:
        pod = await wait_started(client, ns, pod_name, name, quiet=args.quiet)
    except NotStarted as e:
        return fail(str(e))
    if "terminated" in _state(pod, name):  # ended before we could attach: what it wrote, as kubectl shows it
        sys.stdout.write((await client.request("logs", {"namespace": ns, "name": pod_name,
                                                        "container": name})).get("text", ""))
        return 0
    if args.tty and not args.quiet:
        print("If you don't see a command prompt, try pressing enter.", file=sys.stderr, flush=True)
    opts = argparse.Namespace(namespace=ns, container=name, timeout=None)
    return await exec_cmd.stream(client, opts, pod_name, [], stdin=True, tty=args.tty, attach=True)


def run(args: argparse.Namespace) -> int:
    if (refused := unsupported_flag(args)) is not None:
        return fail(refused)
    try:
        target_pod(args.pod)
    except ValueError as e:
        return fail(str(e))
    try:
        if args.env:
            ephemeral_container(args, "check")
    except ValueError as e:
        return fail(str(e))
    return int(with_client(args, lambda c: _debug(c, args)) or 0)
