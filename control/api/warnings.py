"""Admission warnings: fields Kubernetes' schema does not know, and fields kube-tui stores but does not act on.

Unknown fields are found by walking the object along Kubernetes' own OpenAPI schema of its kind
(control/api/openapi, the version the API server reports) and worded as kube-apiserver's field validation
words them: a warning with fieldValidation Warn, a strict decoding error with Strict (handlers.py
checked_fields). Fields stored but not enforced are always warnings: a real manifest must still apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control.api import openapi


@dataclass(frozen=True)
class Obj:
    """A struct in Kubernetes' schema: its field names, and how to descend into each (None: don't)."""

    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lst:
    item: Obj


@dataclass(frozen=True)
class Map:
    """A map whose values are structs (or lists of them): each value is checked against `value`."""

    value: Obj | Lst


Schema = Obj | Lst | Map | None  # None: a leaf (a scalar, a map of scalars, or free-form): not descended into


def _compile(schema: dict, memo: dict[str, Obj]) -> Schema:
    """One OpenAPI schema (control/api/openapi) as the structure unknown_fields walks."""
    ref = schema.get("$ref")
    if ref is None and len(schema.get("allOf") or ()) == 1 and not schema.get("properties"):
        ref = schema["allOf"][0].get("$ref")
    if ref is not None:
        name = ref.rpartition("/")[2]
        if name in memo:
            return memo[name]  # also a struct that contains itself: the same Obj, filled below
        target = openapi.resolve(ref)
        if target is None:
            return None
        if target.get("properties"):
            memo[name] = obj = Obj({})
            obj.fields.update({k: _compile(v, memo) for k, v in target["properties"].items()})
            return obj
        return _compile(target, memo)
    if schema.get("properties"):
        return Obj({k: _compile(v, memo) for k, v in schema["properties"].items()})
    items = schema.get("items")
    if isinstance(items, dict):
        item = _compile(items, memo)
        return Lst(item) if isinstance(item, Obj) else None
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        value = _compile(extra, memo)
        return Map(value) if value is not None else None
    return None  # a scalar, IntOrString, Quantity, RawExtension, FieldsV1: whatever is inside is its own


_MEMO: dict[str, Obj] = {}
_KINDS: dict[str, Obj | None] = {}


def schema_of(kind: str) -> Obj | None:
    """The structure of a served kind's objects, from Kubernetes' schema for it (the version kube-tui stores).
    `status` is accepted whole on every kind (even Event and Endpoints, which have none): clients send back
    what the server returned, and what the components write there is theirs."""
    if kind not in _KINDS:
        from control.api import kinds

        info = kinds.KINDS.get(kind)
        name = openapi.schema_of(info.api_version, kind) if info is not None else None
        compiled = _compile({"$ref": openapi.PREFIX + name}, _MEMO) if name else None
        if isinstance(compiled, Obj):
            compiled = Obj({**compiled.fields, "status": None})
        _KINDS[kind] = compiled if isinstance(compiled, Obj) else None
    return _KINDS[kind]


_UNKNOWN = object()


def unknown_fields(obj: Any, schema: Schema = None, path: str = "") -> list[str]:
    """Paths of fields Kubernetes' schema does not have, like kubectl's `unknown field "spec.foo"`."""
    if schema is None:
        schema = schema_of(obj.get("kind", "") if isinstance(obj, dict) else "")
        if schema is None:
            return []
    out: list[str] = []
    if isinstance(schema, Obj) and isinstance(obj, dict):
        fields = schema.fields
        for key, value in obj.items():
            sub = fields.get(key, _UNKNOWN)
            if sub is None:
                continue  # a leaf: whatever is inside is not checked
            p = f"{path}.{key}" if path else str(key)
            if sub is _UNKNOWN:
                out.append(p)
            else:
                out.extend(unknown_fields(value, sub, p))
    elif isinstance(schema, Lst) and isinstance(obj, list):
        for i, item in enumerate(obj):
            out.extend(unknown_fields(item, schema.item, f"{path}[{i}]"))
    elif isinstance(schema, Map) and isinstance(obj, dict):
        for key, value in obj.items():
            out.extend(unknown_fields(value, schema.value, f"{path}.{key}"))
    return out


def prune_unknown_fields(obj: Any, schema: Schema = None) -> None:
    """Drop, in place, every field unknown_fields names: as kube-apiserver's decoder drops what the schema does
    not have (with fieldValidation Warn or Ignore), so a typo is never stored and passed on to the objects made
    from this one."""
    if schema is None:
        schema = schema_of(obj.get("kind", "") if isinstance(obj, dict) else "")
        if schema is None:
            return
    if isinstance(schema, Obj) and isinstance(obj, dict):
        for key in list(obj):
            sub = schema.fields.get(key, _UNKNOWN)
            if sub is _UNKNOWN:
                del obj[key]
            elif sub is not None:
                prune_unknown_fields(obj[key], sub)
    elif isinstance(schema, Lst) and isinstance(obj, list):
        for item in obj:
            prune_unknown_fields(item, schema.item)
    elif isinstance(schema, Map) and isinstance(obj, dict):
        for value in obj.values():
            prune_unknown_fields(value, schema.value)


# --- stored but not enforced ---------------------------------------------------------------------
# What kube-tui keeps but does not act on. Adjust here when a component starts honouring a field.

POD_SPEC_NOT_ENFORCED = (
    "volumes",
    "imagePullSecrets", "hostNetwork", "hostPID", "hostIPC", "hostUsers", "shareProcessNamespace", "dnsConfig",
    "hostAliases", "runtimeClassName", "overhead",
    "os", "resourceClaims", "resources", "setHostnameAsFQDN",
    "subdomain",
)
# The volume types a node mounts (nodes/volumes.py); a pod's other volumes are stored, and not mounted.
MOUNTED_VOLUMES = ("emptyDir", "configMap", "secret", "downwardAPI", "projected", "hostPath",
                   "persistentVolumeClaim")
CONTAINER_NOT_ENFORCED = (
    "volumeDevices", "resizePolicy",
)
# The fields of a securityContext a process node acts on (nodes/rootfs.py, nodes/securitycontext.py, fsGroup in
# nodes/volumes.py); any other is warned about, by name.
CONTAINER_SECURITY_ENFORCED = ("readOnlyRootFilesystem", "runAsUser", "runAsGroup", "runAsNonRoot",
                               "allowPrivilegeEscalation")
POD_SECURITY_ENFORCED = ("runAsUser", "runAsGroup", "runAsNonRoot", "supplementalGroups", "fsGroup")
SERVICE_NOT_ENFORCED = (
    "externalIPs", "loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass", "sessionAffinityConfig",
    "healthCheckNodePort",
)
_NOT_ENFORCED = "stored but not enforced by kube-tui"


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _set(value: Any) -> bool:
    """Whether a field carries a value worth warning about (defaults like `securityContext: {}` don't)."""
    return value not in (None, False, "", {}, [])


def _pod_spec_warnings(spec: Any, path: str) -> list[str]:
    if not isinstance(spec, dict):
        return []
    out: list[str] = []
    for key in [k for k in POD_SPEC_NOT_ENFORCED if k in spec]:
        value = spec[key]
        if not _set(value):
            continue
        if key == "volumes" and isinstance(value, list):
            # nodes/volumes.py mounts the SUPPORTED types; any other is stored, and its mountPaths get nothing
            kinds = sorted({k for v in value if isinstance(v, dict) for k in v if k != "name"} - set(MOUNTED_VOLUMES))
            if kinds:
                out.append(f"{path}.volumes: {_NOT_ENFORCED} (volume types {', '.join(kinds)} are not mounted: "
                           f"kube-tui nodes mount {', '.join(MOUNTED_VOLUMES)})")
            # medium Memory is a tmpfs and sizeLimit is enforced by eviction (nodes/volumes.py, nodes/eviction.py);
            # huge pages are not
            for i, v in enumerate(value):
                medium = (v.get("emptyDir") or {}).get("medium") if isinstance(v, dict) else None
                if isinstance(medium, str) and medium.startswith("HugePages"):
                    out.append(f"{path}.volumes[{i}].emptyDir.medium: {_NOT_ENFORCED} ({medium}: the volume is a "
                               "directory on the node's disk, not backed by huge pages)")
        else:
            out.append(f"{path}.{key}: {_NOT_ENFORCED}")
    security = spec.get("securityContext")
    if isinstance(security, dict):
        out.extend(f"{path}.securityContext.{key}: {_NOT_ENFORCED}" for key, value in security.items()
                   if key not in POD_SECURITY_ENFORCED and _set(value))
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for i, c in enumerate(_as_list(spec.get(group))):
            if not isinstance(c, dict):
                continue
            cpath = f"{path}.{group}[{i}]"
            out.extend(f"{cpath}.{key}: {_NOT_ENFORCED}" for key in CONTAINER_NOT_ENFORCED if _set(c.get(key)))
            security = c.get("securityContext")
            if isinstance(security, dict):
                out.extend(f"{cpath}.securityContext.{key}: {_NOT_ENFORCED}" for key, value in security.items()
                           if key not in CONTAINER_SECURITY_ENFORCED and _set(value))
            for j, port in enumerate(_as_list(c.get("ports"))):
                if isinstance(port, dict) and (_set(port.get("hostPort")) or _set(port.get("hostIP"))):
                    out.append(f"{cpath}.ports[{j}].hostPort: {_NOT_ENFORCED} (pods listen on their own IP)")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                p = c.get(probe)
                if isinstance(p, dict) and "grpc" in p:
                    out.append(f"{cpath}.{probe}.grpc: {_NOT_ENFORCED}")
            res = c.get("resources")
            if isinstance(res, dict) and _set(res.get("claims")):
                out.append(f"{cpath}.resources.claims: {_NOT_ENFORCED}")
    return out


def _statefulset_warnings(spec: dict[str, Any]) -> list[str]:
    out: list[str] = []
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") if isinstance(spec.get("updateStrategy"), dict) else None
    if isinstance(rolling, dict) and _set(rolling.get("maxUnavailable")):
        out.append(f"spec.updateStrategy.rollingUpdate.maxUnavailable: {_NOT_ENFORCED} (the MaxUnavailableStatefulSet "
                   "feature is off, as in Kubernetes 1.30: pods are replaced one at a time)")
    return out


def not_enforced(obj: dict[str, Any]) -> list[str]:
    """Warnings for the fields of `obj` that kube-tui stores but does not act on."""
    kind = obj.get("kind")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    if kind == "Pod":
        return _pod_spec_warnings(spec, "spec")
    out: list[str] = []
    if kind in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"):
        template = spec.get("template")
        if isinstance(template, dict):
            out.extend(_pod_spec_warnings(template.get("spec"), "spec.template.spec"))
    if kind == "StatefulSet":
        out.extend(_statefulset_warnings(spec))
    if kind == "CronJob":
        job_spec = (spec.get("jobTemplate") or {}).get("spec") if isinstance(spec.get("jobTemplate"), dict) else None
        if isinstance(job_spec, dict):
            template = job_spec.get("template")
            if isinstance(template, dict):
                out.extend(_pod_spec_warnings(template.get("spec"), "spec.jobTemplate.spec.template.spec"))
    if kind == "Service":
        out.extend(f"spec.{key}: {_NOT_ENFORCED}" for key in SERVICE_NOT_ENFORCED if _set(spec.get(key)))
        if spec.get("sessionAffinity") == "ClientIP":
            out.append(f"spec.sessionAffinity: {_NOT_ENFORCED} (connections are spread regardless of client)")
    return out


def collect(obj: dict[str, Any]) -> list[str]:
    """Every warning for `obj`: unknown fields first (as kubectl prints them), then unenforced ones."""
    out = [f'unknown field "{p}"' for p in unknown_fields(obj)]
    out.extend(not_enforced(obj))
    return out
