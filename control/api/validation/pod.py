"""The pod spec, for pods and pod templates alike: volumes, containers, policies, scheduling fields."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from control.api.labels import is_dns1123_label, is_dns1123_subdomain, is_qualified_name
from control.api.validation.container import DEFAULT_GRACE, local_descending_path, validate_containers
from control.api.validation.field import (
    Errors,
    as_dict,
    as_list,
    check_name,
    duplicate,
    forbidden,
    int_field,
    invalid,
    is_int,
    not_found,
    not_supported,
    required,
    shown,
    str_field,
)
from control.api.validation.meta import validate_labels
from control.api.validation.scheduling import (
    validate_affinity,
    validate_tolerations,
    validate_topology_spread_constraints,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")


def _volumes(errs: Errors, volumes: Any, path: str) -> set[str]:
    names: set[str] = set()
    for i, v in enumerate(as_list(errs, volumes, path)):
        vpath = f"{path}[{i}]"
        v = as_dict(errs, v, vpath) or {}
        name = v.get("name")
        if not name:
            required(errs, f"{vpath}.name")
        else:
            check_name(errs, str(name), f"{vpath}.name", is_dns1123_label)
            if str(name) in names:
                duplicate(errs, f"{vpath}.name", name)
            names.add(str(name))
        host_path = v.get("hostPath")
        if isinstance(host_path, dict) and not host_path.get("path"):
            required(errs, f"{vpath}.hostPath.path")
        elif isinstance(host_path, dict) and ".." in str(host_path["path"]).split("/"):
            invalid(errs, f"{vpath}.hostPath.path", host_path["path"], "must not contain '..'")  # validatePathNoBacksteps
        if isinstance(host_path, dict) and host_path.get("type") not in HOST_PATH_TYPES:
            not_supported(errs, f"{vpath}.hostPath.type", host_path.get("type"), sorted(HOST_PATH_TYPES[1:]))
        for kind in ("configMap", "secret", "downwardAPI", "projected"):
            if isinstance(v.get(kind), dict):
                _file_source(errs, v[kind], f"{vpath}.{kind}", kind)
    return names


HOST_PATH_TYPES = (None, "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
                   "BlockDevice")
FILE_MODE = "must be a number between 0 and 0777 (octal), both inclusive"


def _mode(errs: Errors, value: Any, path: str) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0o777):
        invalid(errs, path, value, FILE_MODE)


def _file_source(errs: Errors, source: dict[str, Any], path: str, kind: str) -> None:
    """The files a configMap, secret, downwardAPI or projected volume writes: modes, and item paths that stay
    inside the volume (validateKeyToPath, validateDownwardAPIVolumeFile)."""
    _mode(errs, source.get("defaultMode"), f"{path}.defaultMode")
    if kind == "projected":
        for i, projection in enumerate(source.get("sources") or []):
            if not isinstance(projection, dict):
                continue
            for sub in ("configMap", "secret", "downwardAPI"):
                if isinstance(projection.get(sub), dict):
                    _items(errs, projection[sub].get("items"), f"{path}.sources[{i}].{sub}.items", sub)
            token = projection.get("serviceAccountToken")
            if isinstance(token, dict):  # validateProjectionSources (its path error names the volume's path)
                seconds = token.get("expirationSeconds", 3600)
                where = f"{path}.sources[{i}].serviceAccountToken.expirationSeconds"
                if isinstance(seconds, int) and seconds < 600:
                    invalid(errs, where, seconds, "may not specify a duration less than 10 minutes")
                elif isinstance(seconds, int) and seconds > 1 << 32:
                    invalid(errs, where, seconds, "may not specify a duration larger than 2^32 seconds")
                if not token.get("path"):
                    required(errs, f"{path}.path")
                else:
                    local_descending_path(errs, str(token["path"]), f"{path}.path", reserved=True)
        return
    _items(errs, source.get("items"), f"{path}.items", kind)


def _items(errs: Errors, items: Any, path: str, kind: str) -> None:
    for j, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        ipath = f"{path}[{j}]"
        if kind != "downwardAPI" and not item.get("key"):
            required(errs, f"{ipath}.key")
        if not item.get("path"):
            required(errs, f"{ipath}.path")
        else:
            local_descending_path(errs, str(item["path"]), f"{ipath}.path", reserved=True)
        _mode(errs, item.get("mode"), f"{ipath}.mode")


def validate_pod_spec(errs: Errors, spec: Any, path: str) -> None:
    """ValidatePodSpec, for pods and pod templates alike."""
    if spec is None:
        required(errs, f"{path}.containers")
        return
    spec = as_dict(errs, spec, path)
    if spec is None:
        return
    volumes = _volumes(errs, spec.get("volumes"), f"{path}.volumes")
    names: set[str] = set()
    host_network = spec.get("hostNetwork") is True
    # A lifecycle sleep is checked against the grace period (defaulted when unset; not when it is itself invalid).
    grace = spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE)
    grace = grace if is_int(grace) else None
    validate_containers(errs, spec.get("initContainers"), f"{path}.initContainers", volumes=volumes, names=names,
                host_network=host_network, init=True, grace=grace)
    validate_containers(errs, spec.get("containers"), f"{path}.containers", volumes=volumes, names=names,
                host_network=host_network, init=False, grace=grace)
    if spec.get("ephemeralContainers") is not None:
        _ephemeral_containers(errs, spec["ephemeralContainers"], f"{path}.ephemeralContainers", volumes=volumes,
                              names=names, host_network=host_network)
    policy = spec.get("restartPolicy")
    if policy == "":
        required(errs, f"{path}.restartPolicy")
    elif policy is not None and policy not in RESTART_POLICIES:
        not_supported(errs, f"{path}.restartPolicy", shown(policy), RESTART_POLICIES)
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in DNS_POLICIES:
        not_supported(errs, f"{path}.dnsPolicy", shown(dns), DNS_POLICIES)
    validate_labels(errs, spec.get("nodeSelector"), f"{path}.nodeSelector")
    int_field(errs, spec, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", minimum=None)
    int_field(errs, spec, "activeDeadlineSeconds", f"{path}.activeDeadlineSeconds", minimum=1,
               detail="must be between 1 and 2147483647, inclusive")
    int_field(errs, spec, "priority", f"{path}.priority", minimum=None)
    for key, rule in (("nodeName", is_dns1123_subdomain), ("schedulerName", is_dns1123_subdomain),
                      ("hostname", is_dns1123_label), ("subdomain", is_dns1123_label),
                      ("serviceAccountName", is_dns1123_subdomain)):
        value = str_field(errs, spec, key, f"{path}.{key}")
        if value:
            check_name(errs, value, f"{path}.{key}", rule)
    validate_tolerations(errs, spec.get("tolerations"), f"{path}.tolerations")
    validate_affinity(errs, spec.get("affinity"), f"{path}.affinity")
    validate_topology_spread_constraints(errs, spec.get("topologySpreadConstraints"), f"{path}.topologySpreadConstraints")
    _scheduling_gates(errs, spec.get("schedulingGates"), f"{path}.schedulingGates")


def _scheduling_gates(errs: Errors, gates: Any, path: str) -> None:
    """validateSchedulingGates: each a qualified name, none twice."""
    seen: set[str] = set()
    for i, gate in enumerate(as_list(errs, gates, path)):
        gate = as_dict(errs, gate, f"{path}[{i}]")
        if gate is None:
            continue
        name = str_field(errs, gate, "name", f"{path}[{i}].name") or ""
        check_name(errs, name, f"{path}[{i}]", is_qualified_name)
        if name in seen:
            duplicate(errs, f"{path}[{i}]", name)
        seen.add(name)


# The fields of a container that an ephemeral container may not have (validateEphemeralContainers allows a
# list of the others): it must not be relied upon for the pod's own service.
EPHEMERAL_FORBIDDEN = ("ports", "resources", "resizePolicy", "lifecycle", "livenessProbe", "readinessProbe",
                       "startupProbe", "restartPolicy")


def _ephemeral_containers(errs: Errors, items: Any, path: str, *, volumes: set[str], names: set[str],
                          host_network: bool) -> None:
    """validateEphemeralContainers: a container's own rules, a name unique among all the pod's containers,
    none of EPHEMERAL_FORBIDDEN, and a targetContainerName that names one of the pod's containers."""
    targets = set(names)
    common = []
    for i, c in enumerate(as_list(errs, items, path)):
        if not isinstance(c, dict):
            common.append(c)
            continue
        for key in EPHEMERAL_FORBIDDEN:
            if c.get(key) not in (None, {}, [], ""):  # Go's zero value (defaulting writes resources: {}) is unset
                forbidden(errs, f"{path}[{i}].{key}", "cannot be set for an Ephemeral Container")
        target = c.get("targetContainerName")
        if target and target not in targets:
            not_found(errs, f"{path}[{i}].targetContainerName", target)
        common.append({k: v for k, v in c.items() if k not in EPHEMERAL_FORBIDDEN and k != "targetContainerName"})
    validate_containers(errs, common, path, volumes=volumes, names=names, host_network=host_network, init=True)


def validate_pod(obj: dict[str, Any], old: dict[str, Any] | None, errs: Errors) -> None:
    """ValidatePodCreate / ValidatePodUpdate's spec checks: ephemeral containers only through the
    ephemeralcontainers subresource, so never on create."""
    spec = obj.get("spec")
    validate_pod_spec(errs, spec, "spec")
    if old is None and isinstance(spec, dict) and spec.get("ephemeralContainers"):
        forbidden(errs, "spec.ephemeralContainers", "cannot be set on create")
    if isinstance(spec, dict) and spec.get("schedulingGates") and spec.get("nodeName"):
        forbidden(errs, "spec.nodeName", "cannot be set until all schedulingGates have been cleared")


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)[Tt](\d\d:\d\d:\d\d)(?:\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def since_time(value: Any) -> str:
    """`sinceTime` as kube-apiserver reads it (metav1.Time: RFC 3339) and passes it on to the kubelet: in
    whole seconds (time.RFC3339), here in UTC. ValueError, worded like Go's time.Parse, if it is not one."""
    m = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    try:
        if m is None:
            raise ValueError
        zone = "+00:00" if m[3] in "Zz" else m[3]
        t = datetime.fromisoformat(f"{m[1]}T{m[2]}{zone}")
        t = t.astimezone(UTC)  # year 1 at +01:00 or 9999 at -01:00 leave the calendar: OverflowError
    except (ValueError, OverflowError):
        raise ValueError(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse "{value}" as '
                         "RFC 3339") from None
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def validate_pod_log_options(opts: dict[str, Any]) -> Errors:
    """ValidatePodLogOptions: kubectl logs' options (tailLines, limitBytes, sinceSeconds, sinceTime; whole
    numbers already)."""
    errs: Errors = []
    tail, limit, seconds = opts.get("tailLines"), opts.get("limitBytes"), opts.get("sinceSeconds")
    if tail is not None and tail < 0:
        invalid(errs, "tailLines", tail, "must be greater than or equal to 0")
    if limit is not None and limit < 1:
        invalid(errs, "limitBytes", limit, "must be greater than 0")
    if seconds is not None and opts.get("sinceTime") is not None:
        forbidden(errs, "", "at most one of `sinceTime` or `sinceSeconds` may be specified")
    elif seconds is not None and seconds < 1:
        invalid(errs, "sinceSeconds", seconds, "must be greater than 0")
    return errs
