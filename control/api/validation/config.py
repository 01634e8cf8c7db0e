"""ConfigMap and Secret: config keys, the 1 MiB limit, Secret types, and `immutable`.

Ported from ValidateConfigMap(Update) and ValidateSecret(Update) in pkg/apis/core/validation. Runs after
configdata.normalize: a Secret's data is base64 text by then, stringData merged into it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from control.api.configdata import MAX_SIZE, binary_size
from control.api.labels import DNS1123_SUBDOMAIN_MAX, max_len_error, regex_error
from control.api.validation.field import IMMUTABLE, Errors, forbidden, invalid, required
from control.errors import FieldError

CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_MAP_KEY = re.compile(f"^{CONFIG_MAP_KEY_FMT}$")
IMMUTABLE_SET = "field is immutable when `immutable` is set"
REDACTED = "<secret contents redacted>"


def is_config_map_key(value: str) -> list[str]:
    """IsConfigMapKey: what a ConfigMap or Secret key (so a file name in a volume) may be."""
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _CONFIG_MAP_KEY.match(value):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                                CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    if value == ".":
        errs.append("must not be '.'")
    elif value == "..":
        errs.append("must not be '..'")
    elif value.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _keys(errs: Errors, values: dict[str, Any], path: str) -> None:
    for key in values:
        for msg in is_config_map_key(str(key)):
            invalid(errs, f"{path}[{key}]", str(key), msg)


def _too_long(errs: Errors, path: str) -> None:
    errs.append(FieldError(path, "Too long", f"must have at most {MAX_SIZE} bytes"))


def _map(obj: dict[str, Any], key: str) -> dict[str, Any]:
    v = obj.get(key)
    return v if isinstance(v, dict) else {}


def validate_configmap(obj: dict[str, Any], errs: Errors) -> None:
    data, binary = _map(obj, "data"), _map(obj, "binaryData")
    _keys(errs, data, "data")
    for key in data:
        if key in binary:
            invalid(errs, f"data[{key}]", str(key), "duplicate of key present in binaryData")
    _keys(errs, binary, "binaryData")
    total = sum(len(str(v).encode()) for v in data.values()) + sum(binary_size(binary).values())
    if total > MAX_SIZE:
        _too_long(errs, "")  # "" : the whole object, as kube-apiserver reports it


# type -> the data keys it requires (kubernetes.io/service-account-token checks an annotation instead)
SECRET_TYPES_REQUIRING = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def validate_secret(obj: dict[str, Any], errs: Errors) -> None:
    data = _map(obj, "data")
    _keys(errs, data, "data")
    sizes = binary_size(data)
    if sum(sizes.values()) > MAX_SIZE:
        _too_long(errs, "data")
    stype = obj.get("type") or ""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if stype == "kubernetes.io/service-account-token":
        if not annotations.get("kubernetes.io/service-account.name"):
            required(errs, "metadata.annotations[kubernetes.io/service-account.name]")
    elif stype in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = SECRET_TYPES_REQUIRING[stype][0]
        if key not in data:
            required(errs, f"data[{key}]")
        else:
            from control.api.configdata import secret_bytes

            try:
                if not isinstance(json.loads(secret_bytes({"data": {key: data[key]}}).get(key, b"")), dict):
                    raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
            except ValueError as e:
                invalid(errs, f"data[{key}]", REDACTED, str(e))
    elif stype == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            required(errs, "data[username]")
            required(errs, "data[password]")
    elif stype == "kubernetes.io/ssh-auth":
        if not sizes.get("ssh-privatekey"):
            required(errs, "data[ssh-privatekey]")
    elif stype == "kubernetes.io/tls":
        for key in SECRET_TYPES_REQUIRING[stype]:
            if key not in data:
                required(errs, f"data[{key}]")


def _immutable_update(errs: Errors, obj: dict[str, Any], old: dict[str, Any], fields: tuple[str, ...]) -> None:
    if old.get("immutable") is not True:
        return
    if obj.get("immutable") is not True:
        forbidden(errs, "immutable", IMMUTABLE_SET)
    for f in fields:
        if (obj.get(f) or {}) != (old.get(f) or {}):
            forbidden(errs, f, IMMUTABLE_SET)


def validate_configmap_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    _immutable_update(errs, obj, old, ("data", "binaryData"))


def validate_secret_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    if (obj.get("type") or "") != (old.get("type") or ""):
        invalid(errs, "type", obj.get("type") or "", IMMUTABLE)
    _immutable_update(errs, obj, old, ("data",))


def validate_serviceaccount(obj: dict[str, Any], errs: Errors) -> None:
    """ValidateServiceAccount: its metadata (checked by the caller), and the Secrets it names named."""
    for key in ("secrets", "imagePullSecrets"):
        items = obj.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            invalid(errs, key, None, "must be a list")
            continue
        for i, ref in enumerate(items):
            if not isinstance(ref, dict):
                invalid(errs, f"{key}[{i}]", None, "must be an object")
    if obj.get("automountServiceAccountToken") not in (None, True, False):
        invalid(errs, "automountServiceAccountToken", None, "must be a boolean")
