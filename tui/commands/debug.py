"""`kube-tui debug POD|node/NAME --image IMAGE [-it] [-c NAME] [--target CONTAINER] [--profile P] -- COMMAND...`: add an
ephemeral container to a running pod, as `kubectl debug` does (its ephemeral container form); with
`--copy-to=NAME`, create a copy of the pod instead, changed as kubectl debug changes it (a debug container added
or one of its containers' command replaced, images swapped with --set-image, labels, probes and annotations
dropped as the profile says), and optionally delete the original (--replace). For node/NAME, a debugging pod on
that node instead: the host's namespaces and, at /host, its root directory (as the profile says).

The container goes in through the pod's ephemeralcontainers subresource: a strategic merge patch of
spec.ephemeralContainers, the only field that subresource changes. The pod's kubelet starts it beside the
pod's own containers, with the pod's environment and IP, runs it once and never restarts it; its status is
in status.ephemeralContainerStatuses. With -i the command attaches to it once it runs, as `kubectl debug -it`.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
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
# kubectl debug's flags that only a copy of the pod takes, with their defaults (None: not given)
KEEP_FLAGS = {"--keep-labels": False, "--keep-annotations": False, "--keep-liveness": False,
              "--keep-readiness": False, "--keep-startup": False, "--keep-init-containers": True}
RUNNING_TIMEOUT = 60.0  # seconds to wait for the container to run before attaching


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", help="POD or pod/POD")
    p.add_argument("argv", nargs="*", metavar="-- COMMAND [ARGS...]", help="the command to run, after --")
    p.add_argument("--image", default=None, help="the debug container's image (busybox, for a shell)")
    p.add_argument("--copy-to", default=None, metavar="NAME", help="create a copy of the pod, named so, to debug")
    p.add_argument("--replace", action="store_true", help="with --copy-to: delete the original pod")
    p.add_argument("--same-node", action="store_true", help="with --copy-to: schedule the copy on the same node")
    p.add_argument("--set-image", action="append", default=[], metavar="NAME=IMAGE",
                   help="with --copy-to: a container's image in the copy (* for every container); repeatable")
    p.add_argument("--share-processes", type=_go_bool, nargs="?", const=True, default=None,
                   help="with --copy-to: the copy's shareProcessNamespace (set only when given)")
    for flag, default in KEEP_FLAGS.items():
        p.add_argument(flag, type=_go_bool, nargs="?", const=True, default=None,
                       help=f"with --copy-to: keep the pod's {flag.removeprefix('--keep-')} in the copy "
                            f"(default {str(default).lower()}; the legacy profile always drops labels)")
    p.add_argument("--custom", default=None, help=argparse.SUPPRESS)
    p.add_argument("-c", "--container", default=None, help="the debug container's name (default: debugger-XXXXX)")
    p.add_argument("--target", default=None, help="the container of the pod whose processes to see")
    p.add_argument("--profile", default=None, metavar="|".join(sorted(PROFILES)),
                   help="kubectl's debugging profile: the securityContext it gives the container, and what a copy "
                        "keeps (default legacy)")
    p.add_argument("--attach", type=_go_bool, nargs="?", const=True, default=None,
                   help="wait for the container to run, then attach to it (default: with -i)")
    p.add_argument("--arguments-only", action="store_true", help="pass the words after -- as args, not command")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="an environment variable")
    p.add_argument("--image-pull-policy", default=None, choices=("Always", "IfNotPresent", "Never"))
    p.add_argument("-i", "--stdin", action="store_true", help="keep stdin open and attach to the container")
    p.add_argument("-t", "--tty", action="store_true", help="a terminal for the container (with -i)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but the container's output")
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


def target(arg: str) -> tuple[str, str]:
    """("Pod" | "Node", name) for POD, pod/POD, pods/POD or node/NAME; ValueError in kubectl's words for
    anything else."""
    kind, sep, name = arg.partition("/")
    if not sep:
        return "Pod", arg
    try:
        info = kinds.lookup(kind)
    except ApiError:
        raise ValueError(f'error: the server doesn\'t have a resource type "{kind}"') from None
    if info.kind in ("Pod", "Node"):
        return info.kind, name
    group, _, version = info.api_version.rpartition("/")
    raise ValueError(f'error: "{group}/{version}, Kind={info.kind}" not supported by debug')


def target_pod(arg: str) -> str:
    """The pod that POD, pod/POD or pods/POD names (ValueError for a node or another kind)."""
    kind, name = target(arg)
    if kind != "Pod":
        raise ValueError(f"error: {arg} is a node, not a pod")
    return name


def _go_bool(text: str) -> bool:
    """A boolean flag's value as Go's strconv.ParseBool reads it (--keep-labels=true, --share-processes=false)."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise argparse.ArgumentTypeError(f'invalid argument "{text}": strconv.ParseBool: parsing "{text}": invalid syntax')


def flag_errors(args: argparse.Namespace) -> str | None:
    """kubectl debug's own refusals of flag combinations (its Validate), in its words."""
    if args.custom is not None:
        return "error: --custom is not supported by kube-tui debug (give the container's settings as flags)"
    if args.profile is not None and args.profile not in PROFILES:
        return f"error: unknown profile: {args.profile}"
    if args.copy_to is None:
        for flag, given in (("--replace", args.replace), ("--same-node", args.same_node),
                            ("--set-image", args.set_image)):
            if given:
                return f"error: {flag} may only be used with --copy-to."
        if args.image is None:
            return "error: you must specify --image when not using --copy-to."
    elif args.target:
        return "error: --target is incompatible with --copy-to. Use --share-processes instead."
    return None


def set_images(pairs: list[str]) -> dict[str, str]:
    """--set-image NAME=IMAGE[,NAME=IMAGE...] as kubectl reads it (a map; * for every container)."""
    out: dict[str, str] = {}
    for pair in (p for arg in pairs for p in arg.split(",")):
        name, eq, image = pair.partition("=")
        if not eq:
            raise ValueError(f'error: invalid argument "{pair}" for "--set-image" flag: {pair} must be formatted as '
                             "key=value\nSee 'kube-tui debug --help' for usage.")
        out[name] = image
    return out


def _keep(args: argparse.Namespace, flag: str) -> bool:
    value = getattr(args, flag[2:].replace("-", "_"))
    return KEEP_FLAGS[flag] if value is None else bool(value)


def _apply_copy_profile(copied: dict[str, Any], args: argparse.Namespace) -> None:
    """kubectl debug's profile for a copy of the pod (profiles.go, the podCopy style): legacy drops the labels
    (so the copy joins no Service or ReplicaSet); the others also drop annotations, probes and init containers
    unless kept, and share the process namespace unless it was set."""
    md, spec = copied["metadata"], copied["spec"]
    if args.profile == "legacy" or not _keep(args, "--keep-labels"):
        md.pop("labels", None)
    if args.profile == "legacy":
        return
    if not _keep(args, "--keep-annotations"):
        md.pop("annotations", None)
    for c in spec.get("containers") or []:
        for probe, flag in (("livenessProbe", "--keep-liveness"), ("readinessProbe", "--keep-readiness"),
                            ("startupProbe", "--keep-startup")):
            if not _keep(args, flag):
                c.pop(probe, None)
    if not _keep(args, "--keep-init-containers"):
        spec.pop("initContainers", None)
    spec.setdefault("shareProcessNamespace", True)


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
    """The state of the container `name`, of whichever kind (kubectl's getContainerStatusByName)."""
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or []:
            if isinstance(cs, dict) and cs.get("name") == name:
                return cs.get("state") or {}
    return {}


def debug_container_name(taken: set[str], args: argparse.Namespace) -> str:
    """kubectl's computeDebugContainerName: -c's name, else debugger-XXXXX not yet taken, said on stdout."""
    if args.container:
        return str(args.container)
    name = None
    while name is None or name in taken:
        name = "debugger-" + "".join(random.choice(SUFFIX_ALPHABET) for _ in range(5))
    if not args.quiet:
        print(f"Defaulting debug container name to {name}.", flush=True)
    return name


def pod_copy(pod: dict, args: argparse.Namespace) -> tuple[dict, str]:
    """kubectl debug's generatePodCopyWithDebugContainer: the pod's copy named --copy-to, without its ephemeral
    containers (and its node unless --same-node), --set-image applied, and the debug container: -c names one of
    its containers to change, or a new one is added with --image. The name is "" for a --set-image-only copy.
    ValueError in kubectl's words when there is nothing to make the new container of."""
    md = pod.get("metadata") or {}
    meta: dict[str, Any] = {"name": args.copy_to, "namespace": md.get("namespace")}
    for key in ("annotations", "labels"):
        if md.get(key):
            meta[key] = dict(md[key])
    spec = copy.deepcopy(pod.get("spec") or {})
    copied = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    spec.pop("ephemeralContainers", None)
    if args.share_processes is not None:
        spec["shareProcessNamespace"] = args.share_processes
    if not args.same_node:
        spec.pop("nodeName", None)
    images = set_images(args.set_image)
    for c in spec.get("containers") or []:
        override = images.get(c.get("name"), images.get("*"))
        if override:
            c["image"] = override
    by_name = {c.get("name"): c for key in ("containers", "initContainers") for c in spec.get(key) or []}
    name = args.container or ""
    c = by_name.get(name)
    if c is None:
        if not args.image:
            if images:  # a --set-image only copy
                _apply_copy_profile(copied, args)
                return copied, ""
            raise ValueError("error: you must specify image when creating new container")
        name = debug_container_name(set(by_name), args)
        c = {"name": name, "terminationMessagePolicy": "File"}
        spec.setdefault("containers", []).append(c)
    if args.argv:
        if args.arguments_only:
            c["args"] = list(args.argv)
        else:
            c["command"] = list(args.argv)
            c.pop("args", None)
    if args.env:
        c["env"] = env_vars(args.env)
    if args.image:
        c["image"] = args.image
    if args.image_pull_policy:
        c["imagePullPolicy"] = args.image_pull_policy
    for key, on in (("stdin", args.stdin), ("tty", args.tty)):
        if on:
            c[key] = True
        else:
            c.pop(key, None)
    _apply_copy_profile(copied, args)
    security = PROFILES[args.profile]
    if security is not None:
        _merge_security(c, security)
    return copied, name


def node_debug_pod(node_name: str, args: argparse.Namespace) -> dict[str, Any]:
    """kubectl debug's generateNodeDebugPod: a pod pinned to the node that tolerates every taint, never
    restarts, and, as the profile says, shares the host's namespaces and has the host's / at /host."""
    name = args.container or "debugger"
    pod_name = f"node-debugger-{node_name}-" + "".join(random.choice(SUFFIX_ALPHABET) for _ in range(5))
    if not args.quiet:
        print(f"Creating debugging pod {pod_name} with container {name} on node {node_name}.", flush=True)
    c: dict[str, Any] = {"name": name, "image": args.image, "terminationMessagePolicy": "File"}
    if args.env:
        c["env"] = env_vars(args.env)
    if args.image_pull_policy:
        c["imagePullPolicy"] = args.image_pull_policy
    if args.stdin:
        c["stdin"] = True
    if args.tty:
        c["tty"] = True
    if args.argv:
        c["args" if args.arguments_only else "command"] = list(args.argv)
    spec: dict[str, Any] = {"containers": [c], "nodeName": node_name, "restartPolicy": "Never",
                            "tolerations": [{"operator": "Exists"}]}
    profile = args.profile
    if profile in ("legacy", "general", "sysadmin"):  # mountRootPartition
        spec["volumes"] = [{"name": "host-root", "hostPath": {"path": "/"}}]
        c["volumeMounts"] = [{"name": "host-root", "mountPath": "/host"}]
    if profile in ("legacy", "general", "netadmin", "sysadmin"):  # useHostNamespaces
        spec.update(hostNetwork=True, hostPID=True, hostIPC=True)
    security = PROFILES[profile]
    if security is not None and profile != "general":  # general clears the container's securityContext here
        _merge_security(c, security)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name, "namespace": args.namespace},
            "spec": spec}


def _merge_security(c: dict[str, Any], security: dict[str, Any]) -> None:
    """The profile's securityContext on a container that may have one: capabilities added to, the rest set."""
    ctx = c.setdefault("securityContext", {})
    for key, value in security.items():
        if key == "capabilities":
            caps = ctx.setdefault("capabilities", {})
            if "drop" in value:  # restricted: drop ALL, add nothing
                caps.update(drop=list(value["drop"]))
                caps.pop("add", None)
            for cap in value.get("add", []):
                caps.setdefault("add", [])
                if cap not in caps["add"]:
                    caps["add"].append(cap)
        else:
            ctx[key] = copy.deepcopy(value)


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
                             f"of the pod instead (kube-tui debug {pod_name} --copy-to={pod_name}-debug ...)")
        if loop.time() > deadline:
            node = (pod.get("spec") or {}).get("nodeName")
            why = (next(iter(state)) if state else
                   f"not reported by node {node}: is its kubelet running?" if node else
                   "not started: the pod is not scheduled to a node yet")
            raise NotStarted(f"error: timed out waiting for the condition (container {name} of pod "
                             f"{ns}/{pod_name} is {why})")
        await asyncio.sleep(poll)


async def _attach(client: Client, args: argparse.Namespace, ns: str, pod_name: str, name: str) -> int:
    """kubectl debug's handleAttachPod: once the container runs, attach to it; if it has already ended,
    what it wrote instead."""
    from tui.commands import exec as exec_cmd

    try:
        pod = await wait_started(client, ns, pod_name, name, quiet=args.quiet)
    except NotStarted as e:
        return fail(str(e))
    if "terminated" in _state(pod, name):  # ended before we could attach: what it wrote, as kubectl shows it
        sys.stdout.write((await client.request("logs", {"namespace": ns, "name": pod_name,
                                                        "container": name})).get("text", ""))
        return 0
    if not args.quiet:  # kubectl attach's line, with or without a terminal
        print("If you don't see a command prompt, try pressing enter.", file=sys.stderr, flush=True)
    opts = argparse.Namespace(namespace=ns, container=name, timeout=None)
    await exec_cmd.stream(client, opts, pod_name, [], stdin=args.stdin, tty=args.tty and args.stdin, attach=True)
    return 0  # as kubectl debug: the session's end, not the container's exit code (kubectl run -i reports that)


async def _debug(client: Client, args: argparse.Namespace) -> int:
    kind, target_name = target(args.pod)
    if kind == "Node":
        return await _debug_node(client, args, target_name)
    ns, pod_name = args.namespace, target_name
    pod = await client.get("Pod", pod_name, ns)
    if args.copy_to is not None:
        return await _debug_copy(client, args, pod)
    taken = {c.get("name") for key in ("initContainers", "containers", "ephemeralContainers")
             for c in (pod.get("spec") or {}).get(key) or []}
    name = debug_container_name(taken, args)
    ec = ephemeral_container(args, name)
    await client.patch("Pod", pod_name, {"spec": {"ephemeralContainers": [ec]}}, ns,
                       subresource="ephemeralcontainers", patch_type="strategic")
    for w in client.last_warnings:
        print(f"Warning: {w}", file=sys.stderr)
    if not args.attach:
        return 0
    return await _attach(client, args, ns, pod_name, name)


async def _debug_node(client: Client, args: argparse.Namespace, node_name: str) -> int:
    """kubectl debug node/NAME: a debugging pod on that node (its processes, network and, at /host, its files),
    attached to with -i."""
    await client.get("Node", node_name, None)  # NotFound in the API server's words
    created = await client.create(node_debug_pod(node_name, args))
    for w in client.last_warnings:
        print(f"Warning: {w}", file=sys.stderr)
    if not args.attach:
        return 0
    md = created["metadata"]
    return await _attach(client, args, md["namespace"], md["name"], created["spec"]["containers"][0]["name"])


async def _debug_copy(client: Client, args: argparse.Namespace, pod: dict) -> int:
    """kubectl debug --copy-to: create the copy, delete the original with --replace (at once, as kubectl's
    grace period 0), and attach to the debug container with -i."""
    try:
        copied, name = pod_copy(pod, args)
    except ValueError as e:
        return fail(str(e))
    created = await client.create(copied)
    for w in client.last_warnings:
        print(f"Warning: {w}", file=sys.stderr)
    md = pod.get("metadata") or {}
    if args.replace:
        await client.delete("Pod", md.get("name"), md.get("namespace"), grace_period=0)
    if not args.attach or not name:
        return 0
    return await _attach(client, args, created["metadata"]["namespace"], created["metadata"]["name"], name)


def run(args: argparse.Namespace) -> int:
    if (refused := flag_errors(args)) is not None:
        return fail(refused)
    try:
        if args.env:
            env_vars(args.env)
        set_images(args.set_image)
    except ValueError as e:
        return fail(str(e))
    args.profile = args.profile or "legacy"
    if args.profile == "legacy":  # kubectl says so on every run of this profile (its default), -q or not
        print('--profile=legacy is deprecated and will be removed in the future. It is recommended to explicitly '
              'specify a profile, for example "--profile=general".', file=sys.stderr)
    try:
        target(args.pod)  # kubectl finds out what it was given after its notice
    except ValueError as e:
        return fail(str(e))
    if args.attach is None:
        args.attach = args.stdin
    return int(with_client(args, lambda c: _debug(c, args)) or 0)
