"""PersistentVolumes, PersistentVolumeClaims and StorageClasses: what the API server, the PV controller, the
scheduler and the kubelet share about them (pure functions of the objects).

kube-tui's storage is kind's: one default StorageClass `standard` whose provisioner, `rancher.io/local-path`,
makes a hostPath volume in a directory of the node the claim's first pod was scheduled to
(`<dir>/pvc-<uid>_<namespace>_<name>`), with node affinity to that node (WaitForFirstConsumer binding).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from control.api import quantity
from control.api.labels import from_label_selector

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
_ABBREVIATIONS = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
VOLUME_MODES = ("Block", "Filesystem")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"  # the class before storageClassName existed
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
NO_PROVISIONER = "kubernetes.io/no-provisioner"

LOCAL_PATH = "rancher.io/local-path"
# The Node annotation where a node's kubelet says which directory the local-path provisioner may use there
# (its data dir's local-path-provisioner/); a node without it (a simulated one) gets kind's directory.
LOCAL_PATH_DIR = "kube-tui.io/local-path-dir"
DEFAULT_LOCAL_PATH_DIR = "/var/local-path-provisioner"
HOSTNAME_LABEL = "kubernetes.io/hostname"

STANDARD_CLASS: dict[str, Any] = {
    "apiVersion": "storage.k8s.io/v1",
    "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
    "provisioner": LOCAL_PATH,
    "reclaimPolicy": "Delete",
    "volumeBindingMode": "WaitForFirstConsumer",
}


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def access_modes_string(modes: Iterable[str] | None) -> str:
    """GetAccessModesAsString: the modes' abbreviations in Kubernetes' order, comma-separated."""
    have = set(modes or ())
    return ",".join(_ABBREVIATIONS[m] for m in ACCESS_MODES if m in have)


def claim_class(claim: Mapping[str, Any]) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName."""
    ann = _md(claim).get("annotations") or {}
    if BETA_CLASS_ANNOTATION in ann:
        return str(ann[BETA_CLASS_ANNOTATION])
    return str(_spec(claim).get("storageClassName") or "")


def volume_class(volume: Mapping[str, Any]) -> str:
    """GetPersistentVolumeClass."""
    ann = _md(volume).get("annotations") or {}
    if BETA_CLASS_ANNOTATION in ann:
        return str(ann[BETA_CLASS_ANNOTATION])
    return str(_spec(volume).get("storageClassName") or "")


def is_default_class(sc: Mapping[str, Any]) -> bool:
    """IsDefaultAnnotation: either annotation set to "true"."""
    ann = _md(sc).get("annotations") or {}
    return ann.get(DEFAULT_CLASS_ANNOTATION) == "true" or ann.get(BETA_DEFAULT_CLASS_ANNOTATION) == "true"


def default_class(classes: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """GetDefaultClass: of several defaults, the newest (then the first by name), as Kubernetes 1.28+."""
    defaults = [c for c in classes if is_default_class(c)]
    if not defaults:
        return None
    defaults.sort(key=lambda c: (str(_md(c).get("creationTimestamp") or ""), str(_md(c).get("name") or "")))
    newest = max(str(_md(c).get("creationTimestamp") or "") for c in defaults)
    return next(c for c in defaults if str(_md(c).get("creationTimestamp") or "") == newest)


def admit_claim(claim: dict[str, Any], classes: Iterable[Mapping[str, Any]]) -> None:
    """The DefaultStorageClass admission plugin: a claim that names no class (storageClassName unset, not "",
    and no beta annotation) gets the default one, when there is one."""
    spec = claim.get("spec")
    if not isinstance(spec, dict) or spec.get("storageClassName") is not None:
        return
    if BETA_CLASS_ANNOTATION in (_md(claim).get("annotations") or {}):
        return
    default = default_class(classes)
    if default is not None:
        spec["storageClassName"] = _md(default).get("name")


def binding_mode(sc: Mapping[str, Any] | None) -> str:
    return str((sc or {}).get("volumeBindingMode") or "Immediate")


def requested_storage(claim: Mapping[str, Any]) -> int:
    req = ((_spec(claim).get("resources") or {}).get("requests") or {}).get("storage")
    try:
        return quantity.to_int(req) if req is not None else 0
    except quantity.QuantityError:
        return 0


def volume_storage(volume: Mapping[str, Any]) -> int:
    cap = (_spec(volume).get("capacity") or {}).get("storage")
    try:
        return quantity.to_int(cap) if cap is not None else 0
    except quantity.QuantityError:
        return 0


def claim_key(claim: Mapping[str, Any]) -> str:
    md = _md(claim)
    return f"{md.get('namespace') or 'default'}/{md.get('name', '')}"


def claim_ref_key(volume: Mapping[str, Any]) -> str:
    ref = _spec(volume).get("claimRef") or {}
    return f"{ref.get('namespace') or ''}/{ref.get('name') or ''}" if ref else ""


def is_bound_to(volume: Mapping[str, Any], claim: Mapping[str, Any]) -> bool:
    """isVolumeBoundToClaim: the volume's claimRef names this claim (and its uid, when it has one)."""
    ref = _spec(volume).get("claimRef")
    if not ref:
        return False
    md = _md(claim)
    if ref.get("name") != md.get("name") or (ref.get("namespace") or "") != (md.get("namespace") or "default"):
        return False
    return not ref.get("uid") or ref.get("uid") == md.get("uid")


def node_affinity_matches(volume: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """CheckNodeAffinity: a volume with required node affinity fits only the nodes one of its terms selects."""
    from control.scheduler.plugins.node_affinity import compile_term  # the scheduler's own term matcher

    required = (_spec(volume).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    labels = _md(node).get("labels") or {}
    name = str(_md(node).get("name") or "")
    return any(compile_term(t)(labels, name) for t in required.get("nodeSelectorTerms") or ())


def find_matching_volume(claim: Mapping[str, Any], volumes: Iterable[Mapping[str, Any]], *,
                         node: Mapping[str, Any] | None = None,
                         delay_binding: bool = False) -> Mapping[str, Any] | None:
    """findMatchingVolume (pkg/controller/volume/persistentvolume/index.go): a volume already bound to the claim
    (pre-bound) first; else the smallest Available volume of the claim's class whose access modes include the
    claim's, whose capacity covers the request, whose labels the claim's selector matches, and (given a node)
    whose node affinity admits the node. With delayed binding and no node, only a pre-bound volume matches."""
    want = requested_storage(claim)
    want_class = claim_class(claim)
    want_modes = set(_spec(claim).get("accessModes") or ())
    want_mode = _spec(claim).get("volumeMode") or "Filesystem"
    sel = _spec(claim).get("selector")
    selector = from_label_selector(sel) if sel else None
    best: Mapping[str, Any] | None = None
    for volume in volumes:
        spec = _spec(volume)
        if (spec.get("volumeMode") or "Filesystem") != want_mode:
            continue
        if not want_modes <= set(spec.get("accessModes") or ()):
            continue
        size = volume_storage(volume)
        if is_bound_to(volume, claim):
            if size < want or volume_class(volume) != want_class:
                continue
            if node is not None and not node_affinity_matches(volume, node):
                continue
            return volume
        if node is None and delay_binding:
            continue
        if spec.get("claimRef") or _md(volume).get("deletionTimestamp"):
            continue
        if ((volume.get("status") or {}).get("phase") or "Available") not in ("Available", "Pending"):
            continue
        if selector is not None and not selector.matches(_md(volume).get("labels") or {}):
            continue
        if volume_class(volume) != want_class:
            continue
        if node is not None and not node_affinity_matches(volume, node):
            continue
        if size >= want and (best is None or size < volume_storage(best)):
            best = volume
    return best


# --- the local-path provisioner ------------------------------------------------------------------------


def provisioned_volume_name(claim: Mapping[str, Any]) -> str:
    """The PV a provisioner makes for a claim: pvc-<claim uid>, as every external provisioner names it."""
    return f"pvc-{_md(claim).get('uid', '')}"


def local_path(base: str, claim: Mapping[str, Any]) -> str:
    """The local-path provisioner's directory of a claim: <base>/pvc-<uid>_<namespace>_<name>."""
    md = _md(claim)
    return f"{base.rstrip('/') or '/'}/{provisioned_volume_name(claim)}_{md.get('namespace') or 'default'}_{md.get('name', '')}"


def node_local_path_dir(node: Mapping[str, Any] | None) -> str:
    return str((_md(node or {}).get("annotations") or {}).get(LOCAL_PATH_DIR) or DEFAULT_LOCAL_PATH_DIR)


def provisioned_volume(claim: Mapping[str, Any], sc: Mapping[str, Any], node_name: str, base: str) -> dict[str, Any]:
    """The PersistentVolume the local-path provisioner makes for a claim on a node: a hostPath directory there,
    node affinity to that node, pre-bound to the claim (claimRef), with the class's reclaim policy."""
    md = _md(claim)
    spec = _spec(claim)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": provisioned_volume_name(claim),
            "annotations": {PROVISIONED_BY: str(sc.get("provisioner") or LOCAL_PATH),
                            "local.path.provisioner/selected-node": node_name},
        },
        "spec": {
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {}).get("storage", "0")},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": md.get("name"),
                         "namespace": md.get("namespace") or "default", "uid": md.get("uid"),
                         "resourceVersion": md.get("resourceVersion")},
            "hostPath": {"path": local_path(base, claim), "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [node_name]}]}]}},
            "persistentVolumeReclaimPolicy": str(sc.get("reclaimPolicy") or "Delete"),
            "storageClassName": _md(sc).get("name"),
            "volumeMode": spec.get("volumeMode") or "Filesystem",
        },
    }


# --- the kubelet's view -----------------------------------------------------------------------------------


class ClaimError(Exception):
    """A pod's persistentVolumeClaim volume cannot be mounted (yet): the message says why, in the kubelet's words."""


def volume_host_path(volume: Mapping[str, Any]) -> str | None:
    """The directory a PersistentVolume's hostPath or local source names, or None for another source."""
    spec = _spec(volume)
    for source in ("hostPath", "local"):
        path = (spec.get(source) or {}).get("path")
        if path:
            return str(path)
    return None


def claim_host_path(pod_volume: Mapping[str, Any], namespace: str, claims: Mapping[str, Mapping[str, Any]],
                    volumes: Mapping[str, Mapping[str, Any]]) -> str:
    """The host directory to mount for a pod's persistentVolumeClaim volume: its claim's bound PV's hostPath
    or local path. `claims` are the kubelet's PVCs by "namespace/name", `volumes` its PVs by name.
    Raises ClaimError when the claim is missing, being deleted, not bound, or bound to a volume that is gone
    or has no directory source (the kubelet reports it and tries again)."""
    source = pod_volume.get("persistentVolumeClaim") or {}
    name = str(source.get("claimName") or "")
    if not name:
        raise ClaimError(f'volume "{pod_volume.get("name", "")}": persistentVolumeClaim.claimName is empty')
    claim = claims.get(f"{namespace}/{name}")
    if claim is None:
        raise ClaimError(f'persistentvolumeclaim "{name}" not found')
    if _md(claim).get("deletionTimestamp"):
        raise ClaimError(f'persistentvolumeclaim "{name}" is being deleted')
    volume_name = _spec(claim).get("volumeName")
    if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
        raise ClaimError(f'persistentvolumeclaim "{name}" is not bound')
    volume = volumes.get(str(volume_name))
    if volume is None:
        raise ClaimError(f'persistentvolume "{volume_name}" not found (bound to persistentvolumeclaim "{name}")')
    if not is_bound_to(volume, claim):
        raise ClaimError(f'persistentvolume "{volume_name}" is not bound to persistentvolumeclaim "{name}"')
    path = volume_host_path(volume)
    if path is None:
        raise ClaimError(f'persistentvolume "{volume_name}" has no hostPath or local source: kube-tui mounts only '
                         "directories")
    return path


def prepare_claim_directory(volume: Mapping[str, Any]) -> str | None:
    """What the kubelet does on pod admission for a provisioned volume: create its hostPath directory when the
    type is DirectoryOrCreate (local-path-provisioner's helper pod does this in kind). Returns the path."""
    import os

    host = _spec(volume).get("hostPath") or {}
    path = host.get("path")
    if not path:
        return volume_host_path(volume)
    if host.get("type") == "DirectoryOrCreate":
        os.makedirs(str(path), mode=0o777, exist_ok=True)
    return str(path)


def stale_claim_directories(base: str, volumes: Iterable[Mapping[str, Any]]) -> list[str]:
    """The directories under a node's local-path dir that no PersistentVolume names any more: a claim with
    reclaimPolicy Delete was deleted, so the node removes its data (the provisioner's helper pod in kind)."""
    import os

    try:
        entries = [e for e in os.listdir(base) if e.startswith("pvc-")]
    except OSError:
        return []
    live = {os.path.basename(p.rstrip("/")) for v in volumes if (p := volume_host_path(v))}
    return sorted(os.path.join(base, e) for e in entries if e not in live)
