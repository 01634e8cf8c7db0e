"""PersistentVolume, PersistentVolumeClaim (v1) and StorageClass (storage.k8s.io/v1), as
pkg/apis/core/validation and pkg/apis/storage/validation check them."""

from __future__ import annotations

import copy
from typing import Any

from control.api import quantity
from control.api.labels import is_dns1123_subdomain, is_qualified_name
from control.api.persistentvolume import ACCESS_MODES, BINDING_MODES, RECLAIM_POLICIES, VOLUME_MODES
from control.api.validation.field import (
    IMMUTABLE,
    Errors,
    as_dict,
    as_list,
    check_name,
    forbidden,
    invalid,
    not_supported,
    required,
    shown,
)
from control.api.validation.meta import validate_label_selector
from control.api.validation.scheduling import _node_selector_term

NOT_POSITIVE = "must be greater than zero"
# The PersistentVolumeSource types (a PV names exactly one); kube-tui's provisioner makes hostPath ones.
VOLUME_SOURCES = ("gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd", "iscsi",
                  "cinder", "cephfs", "fc", "flocker", "flexVolume", "azureFile", "vsphereVolume", "quobyte",
                  "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "local", "storageos", "csi")
HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket")


def _access_modes(errs: Errors, spec: dict[str, Any], path: str, missing: str) -> None:
    modes = as_list(errs, spec.get("accessModes"), f"{path}.accessModes")
    if not modes:
        required(errs, f"{path}.accessModes", missing)
    for mode in modes:
        if mode not in ACCESS_MODES:
            not_supported(errs, f"{path}.accessModes", shown(mode), sorted(ACCESS_MODES))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        forbidden(errs, f"{path}.accessModes", "may not use ReadWriteOncePod with other access modes")


def _positive_quantity(errs: Errors, value: Any, path: str) -> None:
    try:
        q = quantity.parse(value)
    except quantity.QuantityError:
        invalid(errs, path, shown(value), quantity.QUANTITY_HELP)
        return
    if q <= 0:
        invalid(errs, path, str(value), NOT_POSITIVE)


def _class_name(errs: Errors, spec: dict[str, Any], path: str) -> None:
    name = spec.get("storageClassName")
    if isinstance(name, str) and name:
        check_name(errs, name, f"{path}.storageClassName", is_dns1123_subdomain)
    elif name is not None and not isinstance(name, str):
        invalid(errs, f"{path}.storageClassName", shown(name), "must be a string")


def _volume_mode(errs: Errors, spec: dict[str, Any], path: str) -> None:
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        not_supported(errs, f"{path}.volumeMode", shown(mode), VOLUME_MODES)


def validate_claim_spec(errs: Errors, spec: Any, path: str) -> None:
    """ValidatePersistentVolumeClaimSpec (also a StatefulSet's volumeClaimTemplates)."""
    spec = as_dict(errs, spec, path)
    if spec is None:
        required(errs, f"{path}.accessModes", "at least 1 access mode is required")
        required(errs, f"{path}.resources[storage]", "")
        return
    _access_modes(errs, spec, path, "at least 1 access mode is required")
    if spec.get("selector") is not None:
        validate_label_selector(errs, spec.get("selector"), f"{path}.selector")
    resources = as_dict(errs, spec.get("resources"), f"{path}.resources") or {}
    requests = as_dict(errs, resources.get("requests"), f"{path}.resources.requests") or {}
    if "storage" not in requests:
        required(errs, f"{path}.resources[storage]", "")
    else:
        _positive_quantity(errs, requests["storage"], f"{path}.resources[storage]")
    _class_name(errs, spec, path)
    _volume_mode(errs, spec, path)


def validate_persistentvolumeclaim(obj: dict[str, Any], errs: Errors) -> None:
    validate_claim_spec(errs, obj.get("spec"), "spec")


def validate_persistentvolumeclaim_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    """ValidatePersistentVolumeClaimUpdate: the spec is immutable but for spec.volumeName (set once, by the PV
    controller), a storageClassName set where there was none, and resources.requests (grown, not shrunk)."""
    new_spec = copy.deepcopy(obj.get("spec") or {})
    old_spec = copy.deepcopy(old.get("spec") or {})
    if not old_spec.get("volumeName"):
        old_spec["volumeName"] = new_spec.get("volumeName")
    if old_spec.get("storageClassName") is None:
        old_spec["storageClassName"] = new_spec.get("storageClassName")
    new_requests = (new_spec.get("resources") or {}).get("requests") or {}
    old_requests = (old_spec.get("resources") or {}).get("requests") or {}
    if (obj.get("status") or {}).get("phase") == "Bound":  # only a bound claim may be resized
        for spec in (new_spec, old_spec):
            (spec.get("resources") or {}).pop("requests", None)
    changed = sorted(k for k in set(new_spec) | set(old_spec) if new_spec.get(k) != old_spec.get(k))
    if changed:
        forbidden(errs, "spec", "spec is immutable after creation except resources.requests and "
                                "volumeAttributesClassName for bound claims\n  changed: "
                  + ", ".join(f"spec.{k}" for k in changed))
    try:
        grew = quantity.parse(new_requests.get("storage", 0)) - quantity.parse(old_requests.get("storage", 0))
    except quantity.QuantityError:
        return
    if grew < 0:
        forbidden(errs, "spec.resources.requests.storage", "field can not be less than previous value")


def validate_persistentvolume(obj: dict[str, Any], errs: Errors) -> None:
    """ValidatePersistentVolume(Spec)."""
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    _access_modes(errs, spec, "spec", "must specify at least 1 access mode")
    capacity = as_dict(errs, spec.get("capacity"), "spec.capacity") or {}
    if not capacity:
        required(errs, "spec.capacity", "")
    if "storage" not in capacity or len(capacity) > 1:
        not_supported(errs, "spec.capacity", None, ["storage"])
    for name, value in capacity.items():
        _positive_quantity(errs, value, f"spec.capacity[{name}]")
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy is not None and policy not in RECLAIM_POLICIES:
        not_supported(errs, "spec.persistentVolumeReclaimPolicy", shown(policy), RECLAIM_POLICIES)
    _class_name(errs, spec, "spec")
    _volume_mode(errs, spec, "spec")
    sources = [s for s in VOLUME_SOURCES if spec.get(s) is not None]
    if not sources:
        required(errs, "spec", "must specify a volume type")
    for extra in sources[1:]:
        forbidden(errs, f"spec.{extra}", "may not specify more than 1 volume type")
    for source in ("hostPath", "local"):
        src = as_dict(errs, spec.get(source), f"spec.{source}")
        if src is None:
            continue
        path = src.get("path")
        if not path:
            required(errs, f"spec.{source}.path", "")
        elif ".." in str(path).split("/"):
            invalid(errs, f"spec.{source}.path", str(path), "must not contain '..'")
        if source == "hostPath" and src.get("type") not in (None, *HOST_PATH_TYPES):
            not_supported(errs, "spec.hostPath.type", shown(src.get("type")), HOST_PATH_TYPES)
        if source == "hostPath" and policy == "Recycle" and path == "/":
            forbidden(errs, "spec.persistentVolumeReclaimPolicy", "may not be 'recycle' for a hostPath mount of '/'")
    affinity = as_dict(errs, spec.get("nodeAffinity"), "spec.nodeAffinity")
    if spec.get("local") is not None and not (affinity or {}).get("required"):
        required(errs, "spec.nodeAffinity", "Local volume requires node affinity")
    req = as_dict(errs, (affinity or {}).get("required"), "spec.nodeAffinity.required")
    if req is not None:
        terms = as_list(errs, req.get("nodeSelectorTerms"), "spec.nodeAffinity.required.nodeSelectorTerms")
        if not terms:
            required(errs, "spec.nodeAffinity.required.nodeSelectorTerms", "must have at least one node selector term")
        for i, term in enumerate(terms):
            _node_selector_term(errs, term, f"spec.nodeAffinity.required.nodeSelectorTerms[{i}]")
    ref = as_dict(errs, spec.get("claimRef"), "spec.claimRef")
    if ref is not None and not ref.get("name"):
        required(errs, "spec.claimRef.name", "")


def validate_persistentvolume_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    """ValidatePersistentVolumeUpdate: the volume source, volumeMode and (once set) nodeAffinity are immutable."""
    spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    if any(spec.get(s) != old_spec.get(s) for s in VOLUME_SOURCES):
        forbidden(errs, "spec.persistentvolumesource", "spec.persistentvolumesource is immutable after creation")
    if spec.get("volumeMode") != old_spec.get("volumeMode"):
        invalid(errs, "volumeMode", shown(spec.get("volumeMode")), IMMUTABLE)
    if old_spec.get("nodeAffinity") is not None and spec.get("nodeAffinity") != old_spec.get("nodeAffinity"):
        invalid(errs, "spec.nodeAffinity", None, IMMUTABLE)


def validate_storageclass(obj: dict[str, Any], errs: Errors) -> None:
    """ValidateStorageClass: a provisioner (a qualified name), a known reclaim policy and binding mode."""
    provisioner = obj.get("provisioner")
    if not provisioner:
        required(errs, "provisioner", "")
    elif not isinstance(provisioner, str):
        invalid(errs, "provisioner", shown(provisioner), "must be a string")
    else:
        check_name(errs, provisioner.lower(), "provisioner", is_qualified_name)
    policy = obj.get("reclaimPolicy")
    if policy is not None and policy not in ("Delete", "Retain"):
        not_supported(errs, "reclaimPolicy", shown(policy), ["Delete", "Retain"])
    mode = obj.get("volumeBindingMode")
    if mode is None:
        required(errs, "volumeBindingMode", "")
    elif mode not in BINDING_MODES:
        not_supported(errs, "volumeBindingMode", shown(mode), BINDING_MODES)
    params = as_dict(errs, obj.get("parameters"), "parameters") or {}
    if len(params) > 512:
        invalid(errs, "parameters", None, "can't have more than 512 parameters")
    expand = obj.get("allowVolumeExpansion")
    if expand is not None and not isinstance(expand, bool):
        invalid(errs, "allowVolumeExpansion", shown(expand), "must be a boolean")


def validate_storageclass_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    if (obj.get("parameters") or {}) != (old.get("parameters") or {}):
        forbidden(errs, "parameters", "updates to parameters are forbidden.")
    if obj.get("provisioner") != old.get("provisioner"):
        forbidden(errs, "provisioner", "updates to provisioner are forbidden.")
    if obj.get("reclaimPolicy") != old.get("reclaimPolicy"):
        forbidden(errs, "reclaimPolicy", "updates to reclaimPolicy are forbidden.")
    if obj.get("volumeBindingMode") != old.get("volumeBindingMode"):
        invalid(errs, "volumeBindingMode", shown(obj.get("volumeBindingMode")), IMMUTABLE)
