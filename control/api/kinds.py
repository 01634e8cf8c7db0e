"""The kinds kube-tui serves: names, short names, API groups and store keys, as kubectl knows them."""

from __future__ import annotations

from dataclasses import dataclass

from control.errors import ApiError


@dataclass(frozen=True)
class KindInfo:
    kind: str
    resource: str
    api_version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # kubectl get CATEGORY (`all`), as kube-apiserver's discovery lists them

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    def key(self, namespace: str | None, name: str) -> str:
        """The store key of one object: /registry/<resource>/[<namespace>/]<name>."""
        if self.namespaced:
            return f"/registry/{self.resource}/{namespace}/{name}"
        return f"/registry/{self.resource}/{name}"

    def prefix(self, namespace: str | None = None) -> str:
        """The store prefix of every object of this kind, or of one namespace."""
        if self.namespaced and namespace:
            return f"/registry/{self.resource}/{namespace}/"
        return f"/registry/{self.resource}/"

    def topic(self) -> bytes:
        return f"{self.resource}\x00".encode()


_ALL = [
    KindInfo("Namespace", "namespaces", "v1", False, ("ns",)),
    KindInfo("Node", "nodes", "v1", False, ("no",)),
    KindInfo("Pod", "pods", "v1", True, ("po",), ("all",)),
    KindInfo("Service", "services", "v1", True, ("svc",), ("all",)),
    KindInfo("Endpoints", "endpoints", "v1", True, ("ep",)),
    KindInfo("Event", "events", "v1", True, ("ev",)),
    KindInfo("ConfigMap", "configmaps", "v1", True, ("cm",)),
    KindInfo("Secret", "secrets", "v1", True, ()),
    KindInfo("ServiceAccount", "serviceaccounts", "v1", True, ("sa",)),
    KindInfo("PersistentVolume", "persistentvolumes", "v1", False, ("pv",)),
    KindInfo("PersistentVolumeClaim", "persistentvolumeclaims", "v1", True, ("pvc",)),
    KindInfo("ResourceQuota", "resourcequotas", "v1", True, ("quota",)),
    KindInfo("LimitRange", "limitranges", "v1", True, ("limits",)),
    KindInfo("ReplicaSet", "replicasets", "apps/v1", True, ("rs",), ("all",)),
    KindInfo("Deployment", "deployments", "apps/v1", True, ("deploy",), ("all",)),
    KindInfo("DaemonSet", "daemonsets", "apps/v1", True, ("ds",), ("all",)),
    KindInfo("StatefulSet", "statefulsets", "apps/v1", True, ("sts",), ("all",)),
    KindInfo("ControllerRevision", "controllerrevisions", "apps/v1", True, ()),
    KindInfo("Job", "jobs", "batch/v1", True, (), ("all",)),
    KindInfo("CronJob", "cronjobs", "batch/v1", True, ("cj",), ("all",)),
    KindInfo("Lease", "leases", "coordination.k8s.io/v1", True, ()),
    KindInfo("StorageClass", "storageclasses", "storage.k8s.io/v1", False, ("sc",)),
    KindInfo("EndpointSlice", "endpointslices", "discovery.k8s.io/v1", True, ()),
    KindInfo("Ingress", "ingresses", "networking.k8s.io/v1", True, ("ing",)),
    KindInfo("IngressClass", "ingressclasses", "networking.k8s.io/v1", False, ()),
    KindInfo("PriorityClass", "priorityclasses", "scheduling.k8s.io/v1", False, ("pc",)),
    KindInfo("PodDisruptionBudget", "poddisruptionbudgets", "policy/v1", True, ("pdb",)),
    KindInfo("Role", "roles", "rbac.authorization.k8s.io/v1", True, ()),
    KindInfo("ClusterRole", "clusterroles", "rbac.authorization.k8s.io/v1", False, ()),
    KindInfo("RoleBinding", "rolebindings", "rbac.authorization.k8s.io/v1", True, ()),
    KindInfo("ClusterRoleBinding", "clusterrolebindings", "rbac.authorization.k8s.io/v1", False, ()),
    KindInfo("CertificateSigningRequest", "certificatesigningrequests", "certificates.k8s.io/v1", False, ("csr",)),
    KindInfo("HorizontalPodAutoscaler", "horizontalpodautoscalers", "autoscaling/v2", True, ("hpa",), ("all",)),
]

KINDS: dict[str, KindInfo] = {k.kind: k for k in _ALL}
_BY_RESOURCE: dict[str, KindInfo] = {k.resource: k for k in _ALL}

_NAMES: dict[str, KindInfo] = {}
for _k in _ALL:
    for _n in (_k.kind, _k.resource, _k.singular, *_k.short_names):
        _NAMES[_n.lower()] = _k
        if _k.group:
            _NAMES[f"{_n.lower()}.{_k.group}"] = _k
_NAMES["endpoint"] = KINDS["Endpoints"]


def supported() -> str:
    return ", ".join(sorted(KINDS))


def lookup(name: str) -> KindInfo:
    """Resolve what a user typed (Pod, pods, po, deployment.apps, ...) to a kind."""
    info = _NAMES.get(name.strip().lower())
    if info is None:
        raise ApiError(
            400,
            "BadRequest",
            f'the server doesn\'t have a resource type "{name}" (supported kinds: {supported()})',
        )
    return info


def by_kind(kind: str) -> KindInfo:
    """Resolve an object's `kind` field, strictly (case-sensitive, as in a manifest)."""
    info = KINDS.get(kind)
    if info is None:
        import difflib

        close = difflib.get_close_matches(str(kind), list(KINDS), n=1, cutoff=0.75) or \
            [k for k in KINDS if k.lower() == str(kind).lower()]
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        raise ApiError(
            400,
            "BadRequest",
            f'no matches for kind "{kind}"{hint}: kube-tui supports {supported()}',
        )
    return info


def by_resource(resource: str) -> KindInfo:
    return _BY_RESOURCE[resource]


def check_api_version(info: KindInfo, api_version: str | None) -> None:
    if api_version != info.api_version:
        raise ApiError(
            400,
            "BadRequest",
            f'no matches for kind "{info.kind}" in version "{api_version}": use apiVersion: {info.api_version}',
        )
