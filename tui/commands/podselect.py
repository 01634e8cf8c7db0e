"""The pod a command acts on when given TYPE/NAME, as kubectl picks it (logs, port-forward).

`NAME` or `pod/NAME` is that pod. For a Service, Deployment, ReplicaSet, DaemonSet, StatefulSet or Job it is one of
the pods the object selects: a running one first, a ready one before that, then by name (kubectl's
"Found 3 pods, using pod/web-1").
"""

from __future__ import annotations

import sys

from control.client import Client
from tui.commands.common import kind_named

KINDS = ("Pod", "Service", "Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job")


def parse_target(target: str) -> tuple[str, str]:
    """(kind, name) of `TYPE/NAME` or `NAME` (a pod); ValueError naming the kinds that work."""
    kind_word, _, name = target.rpartition("/")
    kind = kind_named(kind_word or "pod", KINDS)
    if kind is None or not name:
        raise ValueError(f"error: cannot use {target!r}: give NAME (a pod) or TYPE/NAME with TYPE one of pod, svc, "
                         "deploy, rs, ds, sts, job")
    return kind, name


def _ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _running(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")


async def choose_pod(client: Client, kind: str, name: str, ns: str, *, running_only: bool) -> tuple[dict, dict, int]:
    """(the pod, the object named, how many pods it selects). ValueError in kubectl's words when none fits."""
    if kind == "Pod":
        pod = await client.get("Pod", name, ns)
        return pod, pod, 1
    obj = await client.get(kind, name, ns)
    spec = obj.get("spec") or {}
    labels = spec.get("selector") if kind == "Service" else (spec.get("selector") or {}).get("matchLabels")
    if not labels:
        raise ValueError(f"error: {kind.lower()} {name} has no selector: no pod to use")
    selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    pods = (await client.list("Pod", ns, label_selector=selector))["items"]
    candidates = [p for p in pods if _running(p)] if running_only else pods
    if not candidates:
        raise ValueError(f"error: no {'running ' if running_only else ''}pod of {kind.lower()}/{name} ({selector})")
    candidates.sort(key=lambda p: (not _running(p), not _ready(p), p["metadata"]["name"]))
    return candidates[0], obj, len(pods)


DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"


def all_container_names(pod: dict) -> str:
    """kubectl's podcmd.AllContainerNames, in the order kubectl 1.32 lists them: containers, then ephemeral
    and init containers marked so."""
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    names += [f"{c.get('name')} (ephem)" for c in spec.get("ephemeralContainers") or []]
    names += [f"{c.get('name')} (init)" for c in spec.get("initContainers") or []]
    return ", ".join(names)


def default_container(pod: dict, *, quiet: bool = False) -> str:
    """The container kubectl logs/exec/attach use when -c is not given (podcmd.FindOrDefaultContainerByName):
    the one the kubectl.kubernetes.io/default-container annotation names, else the first, said on stderr
    ("Defaulted container ...") when the pod has others."""
    spec = pod.get("spec") or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    named = ((pod.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    every = [c.get("name") for key in ("containers", "initContainers", "ephemeralContainers")
             for c in spec.get(key) or [] if isinstance(c, dict)]
    if named and named in every:
        return str(named)
    if not containers:
        return ""
    name = str(containers[0].get("name", ""))
    if not quiet and (len(containers) > 1 or spec.get("initContainers") or spec.get("ephemeralContainers")):
        print(f'Defaulted container "{name}" out of: {all_container_names(pod)}', file=sys.stderr)
    return name
