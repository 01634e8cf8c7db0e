"""`kube-tui rollout status|history|undo|restart deployment/NAME|statefulset/NAME`: follow and steer a rollout.

`restart` does what kubectl's does: it stamps the pod template with a `kubectl.kubernetes.io/restartedAt`
annotation, a template change, so the Deployment rolls out new pods and retires the old ones (a StatefulSet
replaces its pods one at a time, from the highest ordinal down). A StatefulSet's history is its
ControllerRevisions."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from control.api import meta
from control.client import Client
from tui.commands.common import add_client_args, fail, kind_named, with_client
from tui.commands.logs import duration


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("op", choices=["status", "history", "undo", "restart"])
    p.add_argument("target", help="deployment/NAME or statefulset/NAME (or TYPE NAME)")
    p.add_argument("name", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("--to-revision", type=int, default=0, help="with undo: the revision to go back to (default: the previous)")
    p.add_argument("--timeout", type=duration, default=0.0,
                   help="with status: give up after this long, as 30s or 2m (default 0: never, as kubectl)")
    add_client_args(p)


def _progress(d: dict) -> tuple[bool, str]:
    """kubectl's rollout status messages, from the deployment's status."""
    name = d["metadata"]["name"]
    spec, st = d.get("spec") or {}, d.get("status") or {}
    want = int(spec.get("replicas", 1))
    if int(st.get("observedGeneration", 0)) < int(d["metadata"].get("generation", 1)):
        return False, 'Waiting for deployment spec update to be observed...'
    updated = int(st.get("updatedReplicas", 0))
    replicas = int(st.get("replicas", 0))
    available = int(st.get("availableReplicas", 0))
    if updated < want:
        return False, f'Waiting for deployment "{name}" rollout to finish: {updated} out of {want} new replicas have been updated...'
    if replicas > updated:
        return False, f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} old replicas are pending termination...'
    if available < updated:
        return False, f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} updated replicas are available...'
    return True, f'deployment "{name}" successfully rolled out'


async def _follow_status(client: Client, args: argparse.Namespace, kind: str, name: str, obj: dict,
                         progress: Callable[[dict], tuple[bool, str]]) -> int:
    """kubectl rollout status: each new progress line until the rollout is done, or --timeout (a progress
    that raises ValueError, kubectl's error for a strategy it cannot follow, ends it)."""
    last = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (args.timeout or float("inf"))
    while True:
        try:
            done, msg = progress(obj)
        except ValueError as e:
            return fail(f"error: {e}")
        if msg != last:
            print(msg, flush=True)
            last = msg
        if done:
            return 0
        if loop.time() > deadline:
            return fail("error: timed out waiting for the condition")
        await asyncio.sleep(0.5)
        obj = await client.get(kind, name, args.namespace)


def _print_history(ref: str, revisions: list[tuple[int, dict]]) -> None:
    """kubectl rollout history: each revision with the change-cause annotation of the object that holds it."""
    print(ref)
    print(f"{'REVISION':<10}CHANGE-CAUSE")
    for rev, holder in revisions:
        print(f"{rev:<10}{(holder['metadata'].get('annotations') or {}).get('kubernetes.io/change-cause', '<none>')}")
    print()  # kubectl's history ends with a blank line


async def _restart(client: Client, args: argparse.Namespace, kind: str, name: str) -> int:
    """kubectl rollout restart: the pod template stamped with restartedAt, so new pods roll out."""
    stamp = {"kubectl.kubernetes.io/restartedAt": meta.now()}
    await client.patch(kind, name, {"spec": {"template": {"metadata": {"annotations": stamp}}}}, args.namespace)
    print(f"{kind.lower()}.apps/{name} restarted")
    return 0


async def rollout(client: Client, args: argparse.Namespace, name: str) -> int:
    from control.controllers import deployment as dc

    d = await client.get("Deployment", name, args.namespace)
    if args.op == "status":
        return await _follow_status(client, args, "Deployment", name, d, _progress)
    if args.op == "history":
        _print_history(f"deployment.apps/{name}", [(rev, rs) for rev, rs in await dc.history(client, d)])
        return 0
    if args.op == "restart":
        return await _restart(client, args, "Deployment", name)
    await dc.rollback(client, d, args.to_revision)
    print(f"deployment.apps/{name} rolled back")
    return 0


async def rollout_statefulset(client: Client, args: argparse.Namespace, name: str) -> int:
    from control.controllers import statefulset as ssc

    sts = await client.get("StatefulSet", name, args.namespace)
    if args.op == "status":
        return await _follow_status(client, args, "StatefulSet", name, sts, ssc.rollout_status)
    if args.op == "history":
        _print_history(f"statefulset.apps/{name}",
                       [(int(rev.get("revision") or 0), rev) for rev in await ssc.controlled_history(client, sts)])
        return 0
    if args.op == "restart":
        return await _restart(client, args, "StatefulSet", name)
    try:
        said = await ssc.rollback(client, sts, args.to_revision)
    except ValueError as e:
        return fail(f"error: {e}")
    print(f"statefulset.apps/{name} {said}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.name:  # kubectl's TYPE NAME form
        if "/" in args.target:
            return fail("error: there is no need to specify a resource type as a separate argument when passing "
                        "arguments in resource/name form (e.g. 'kube-tui get resource/<resource_name>' instead of "
                        "'kube-tui get resource resource/<resource_name>'")  # kubectl's words, get's example too
        args.target = f"{args.target}/{args.name}"
    kind_word, _, name = args.target.partition("/")
    kind = kind_named(kind_word, ("Deployment", "StatefulSet")) if name else None
    if kind is None:
        return fail(f'error: rollout supports deployment/NAME and statefulset/NAME, got "{args.target}"')
    if kind == "StatefulSet":
        result = with_client(args, lambda c: rollout_statefulset(c, args, name))
        return result if isinstance(result, int) else 0
    result = with_client(args, lambda c: rollout(c, args, name))
    return result if isinstance(result, int) else 0
