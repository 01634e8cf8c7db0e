"""`kube-tui cordon | uncordon | drain NODE`: kubectl's node maintenance verbs.

cordon sets spec.unschedulable (the node lifecycle controller then taints the node
node.kubernetes.io/unschedulable:NoSchedule, and the scheduler places no new pod there); uncordon
clears it. drain cordons the node, then evicts its pods the way kubectl drain does: a pod managed by a
DaemonSet is refused unless --ignore-daemonsets (and then left alone: its controller would recreate it
there), a pod no controller owns is refused unless --force (nothing would recreate it), finished pods
go without asking. Each pod is evicted through the Eviction subresource, so its PodDisruptionBudget is
respected: a refusal (429 TooManyRequests) is retried every 5 s, as kubectl retries it, until the budget
allows (a replacement became Ready elsewhere) or --timeout; --disable-eviction deletes instead. The pods'
controllers create replacements, which the scheduler places elsewhere.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, with_client
from tui.commands.logs import duration

EVICTION_RETRY = 5.0  # seconds between evictions a disruption budget refused (kubectl drain's)


def _seconds(text: str) -> float:
    """--timeout as kubectl takes it (a Go duration: 90s, 2m), or a plain number of seconds."""
    try:
        return float(text)
    except ValueError:
        return duration(text)  # argparse's error for one it cannot read, in Go's words


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("node", help="the node's name")
    if name == "drain":
        p.add_argument("--ignore-daemonsets", action="store_true", help="leave DaemonSet-managed pods where they are")
        p.add_argument("--force", action="store_true", help="also delete pods no controller owns (they are gone for good)")
        p.add_argument("--grace-period", type=int, default=-1,
                       help="seconds each pod gets to stop (default: the pod's own terminationGracePeriodSeconds)")
        p.add_argument("--timeout", type=_seconds, default=0,
                       help="how long to wait for the pods to be gone, as 90s or 2m (default 0: as long as it takes)")
        p.add_argument("--delete-emptydir-data", "--delete-local-data", action="store_true",
                       help="also evict pods with emptyDir volumes (their data goes with them)")
        p.add_argument("--disable-eviction", action="store_true",
                       help="delete the pods instead of evicting them: no PodDisruptionBudget is asked")
    add_client_args(p)


async def set_unschedulable(client: Client, node: str, cordon: bool) -> str:
    """kubectl's line for it: node/NAME cordoned | uncordoned | already cordoned | already uncordoned."""
    cur = await client.get("nodes", node, None)
    verb = "cordoned" if cordon else "uncordoned"
    if bool((cur.get("spec") or {}).get("unschedulable")) == cordon:
        return f"node/{node} already {verb}"
    await client.patch("nodes", node, {"spec": {"unschedulable": True if cordon else None}}, None)
    return f"node/{node} {verb}"


def _controller(pod: dict) -> dict | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


async def drain(client: Client, args: argparse.Namespace) -> int:
    print(await set_unschedulable(client, args.node, True), flush=True)
    pods = (await client.list("pods", None, field_selector=f"spec.nodeName={args.node}"))["items"]
    daemons, local, orphans, evict = [], [], [], []
    for pod in pods:
        md = pod["metadata"]
        ref = f"{md.get('namespace', 'default')}/{md['name']}"
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        owner = _controller(pod)
        if md.get("deletionTimestamp"):
            evict.append(pod)  # already going: wait for it too
        elif owner is not None and owner.get("kind") == "DaemonSet" and not finished:
            daemons.append(ref)
        elif not finished and any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or []
                                  if isinstance(v, dict)):
            local.append(ref)  # kubectl's localStorageFilter comes before the one for pods with no controller
            if getattr(args, "delete_emptydir_data", False):
                evict.append(pod)
        elif owner is None and not finished:
            orphans.append(ref)
            if args.force:
                evict.append(pod)
        else:
            evict.append(pod)
    problems = []
    if daemons and not args.ignore_daemonsets:
        problems.append(f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): {', '.join(daemons)}")
    if local and not getattr(args, "delete_emptydir_data", False):
        problems.append(f"cannot delete Pods with local storage (use --delete-emptydir-data to override): "
                        f"{', '.join(local)}")
    if orphans and not args.force:
        problems.append(f"cannot delete Pods that declare no controller (use --force to override): {', '.join(orphans)}")
    if problems:
        _unable(args.node, problems)
        return 1
    if daemons:
        print(f"Warning: ignoring DaemonSet-managed Pods: {', '.join(daemons)}", file=sys.stderr)
    if local:
        print(f"Warning: deleting Pods with local storage: {', '.join(local)}", file=sys.stderr)
    if orphans:
        print(f"Warning: deleting Pods that declare no controller: {', '.join(orphans)}", file=sys.stderr)
    grace = None if args.grace_period < 0 else args.grace_period
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    evicting = not getattr(args, "disable_eviction", False)
    remove, done = (_evict, "evicted") if evicting else (_delete, "deleted")
    results = await asyncio.gather(*(remove(client, pod, grace, deadline, args.timeout) for pod in evict))
    errs = [e for e in results if e]
    waiting = {(p["metadata"].get("namespace"), p["metadata"]["name"], p["metadata"].get("uid"))
               for p, e in zip(evict, results, strict=True) if not e}
    while waiting:
        for ns, name, uid in sorted(waiting, key=lambda w: (w[0] or "", w[1])):
            try:
                cur = await client.get("pods", name, ns)
            except ApiError as e:
                if e.code != 404:
                    raise
                cur = None
            if cur is None or cur["metadata"].get("uid") != uid:  # gone (or a new pod of the same name)
                print(f"pod/{name} {done}", flush=True)
                waiting.discard((ns, name, uid))
        if waiting:
            if deadline is not None and time.monotonic() > deadline:
                errs.extend(f'error when waiting for pod "{name}" in namespace "{ns}" to terminate: global timeout '
                            f"reached: {go_duration(args.timeout)}"
                            for ns, name, _ in sorted(waiting, key=lambda w: (w[0] or "", w[1])))
                break
            await asyncio.sleep(0.2)
    if errs:
        err = _aggregate(errs)
        left = [p["metadata"]["name"] for p in
                (await client.list("pods", None, field_selector=f"spec.nodeName={args.node}"))["items"]
                if not _left_alone(p, args)]
        if left:
            print(f'There are pending pods in node "{args.node}" when an error occurred: {err}', file=sys.stderr)
            for name in left:
                print(f"pod/{name}", file=sys.stderr)
        _unable(args.node, errs)
        return 1
    print(f"node/{args.node} drained", flush=True)
    return 0


def go_duration(seconds: float) -> str:
    """A time.Duration as Go prints it (kubectl prints its --timeout so): 500ms, 7s, 1m30s, 1h0m0s."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{int(h)}h{int(m)}m{s:g}s"
    return f"{int(m)}m{s:g}s" if m else f"{s:g}s"


def _left_alone(pod: dict, args: argparse.Namespace) -> bool:
    """A pod drain does not take (a DaemonSet's, with --ignore-daemonsets): not pending."""
    owner = _controller(pod)
    return owner is not None and owner.get("kind") == "DaemonSet" and args.ignore_daemonsets


async def _evict(client: Client, pod: dict, grace: int | None, deadline: float | None, timeout: float) -> str:
    """One pod evicted as kubectl drain does it: a 429 (its disruption budget has no room) is retried every
    5 s until the deadline; the error, or "" once the eviction is accepted (or the pod is gone)."""
    md = pod["metadata"]
    ns, name = md.get("namespace", "default"), md["name"]
    while True:
        print(f"evicting pod {ns}/{name}", flush=True)
        if deadline is not None and time.monotonic() > deadline:
            return f'error when evicting pods/"{name}" -n "{ns}": global timeout reached: {go_duration(timeout)}'
        try:
            await client.evict(name, ns, grace_period=grace)
            return ""
        except ApiError as e:
            if e.code == 404:
                return ""
            if e.code != 429:
                return f'error when evicting pods/"{name}" -n "{ns}": {e.message}'
            print(f'error when evicting pods/"{name}" -n "{ns}" (will retry after 5s): {e.message}',
                  file=sys.stderr, flush=True)
        await asyncio.sleep(EVICTION_RETRY)


async def _delete(client: Client, pod: dict, grace: int | None, deadline: float | None, timeout: float) -> str:
    """--disable-eviction: a graceful delete, no budget asked. kubectl says nothing as it sends it (no "evicting pod"
    line: nothing is evicted), only "pod/NAME deleted" once the pod is gone."""
    md = pod["metadata"]
    try:
        await client.delete("pods", md["name"], md.get("namespace"), grace_period=grace)
    except ApiError as e:
        if e.code != 404:
            return f'error when deleting pods/"{md["name"]}" -n "{md.get("namespace", "default")}": {e.message}'
    return ""


def run(args: argparse.Namespace) -> int:
    if args.command == "drain":
        result = with_client(args, lambda c: drain(c, args))
        return result if isinstance(result, int) else 0

    async def toggle(client: Client) -> int:
        print(await set_unschedulable(client, args.node, args.command == "cordon"))
        return 0

    result = with_client(args, toggle)
    return result if isinstance(result, int) else 0


def _unable(node: str, errs: list[str]) -> None:
    """kubectl v1.32's words for a drain that failed: the errors aggregated, the node still pending, then each
    error on a line of its own."""
    print(f'error: unable to drain node "{node}" due to error: {_aggregate(errs)}, continuing command...',
          file=sys.stderr)
    print("There are pending nodes to be drained:\n " + node, file=sys.stderr)
    for e in errs:
        print(e, file=sys.stderr)


def _aggregate(errs: list[str]) -> str:
    """utilerrors.NewAggregate's text: one error as it is, several as [a, b]."""
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"
