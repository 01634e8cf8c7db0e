"""A container: image, command, ports, env, volume mounts, resources, probes, lifecycle hooks and pull policy."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from control.api.labels import is_dns1123_label, is_dns1123_subdomain, regex_error
from control.api.validation.config import is_config_map_key
from control.api.validation.field import (
    Errors,
    as_dict,
    as_item,
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
)
from control.api.validation.ports import is_valid_port_name, port_num, port_num_or_name, protocol
from control.api.validation.resources import validate_resources

_ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_ENV_VAR = re.compile(f"^{_ENV_VAR_FMT}$")


def is_env_var_name(name: str) -> list[str]:
    if _ENV_VAR.match(name):
        return []
    return [regex_error(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
        "and must not start with a digit", _ENV_VAR_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1",
    )]


_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


def _handler(errs: Errors, kind: str, h: Any, path: str) -> None:
    h = as_dict(errs, h, path) or {}
    if kind == "exec":
        command = as_list(errs, h.get("command"), f"{path}.command")
        if not command:
            required(errs, f"{path}.command")
    elif kind == "httpGet":
        if h.get("path") == "":
            required(errs, f"{path}.path")
        port_num_or_name(errs, h.get("port", 0), f"{path}.port")
        scheme = h.get("scheme")
        if scheme is not None and scheme not in ("HTTP", "HTTPS"):
            not_supported(errs, f"{path}.scheme", shown(scheme), ("HTTP", "HTTPS"))
    elif kind == "tcpSocket":
        port_num_or_name(errs, h.get("port", 0), f"{path}.port")
    elif kind == "grpc":
        port_num(errs, h, "port", f"{path}.port")


def validate_probe(errs: Errors, probe: Any, path: str) -> None:
    """Exactly one handler, non-negative timings."""
    probe = as_dict(errs, probe, path)
    if probe is None:
        return
    _one_handler(errs, probe, _HANDLERS, path, lambda kind, h, hpath: _handler(errs, kind, h, hpath))
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        int_field(errs, probe, key, f"{path}.{key}")
    int_field(errs, probe, "terminationGracePeriodSeconds", f"{path}.terminationGracePeriodSeconds", minimum=1,
               detail="must be greater than 0")


# A lifecycle handler's kinds, in validateHandler's order (tcpSocket is accepted, and never run: nodes/lifecycle.py).
_HOOK_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
DEFAULT_GRACE = 30  # terminationGracePeriodSeconds' default, which a sleep is checked against when it is unset


def validate_lifecycle(errs: Errors, lifecycle: Any, path: str, grace: int | None) -> None:
    """validateLifecycle: postStart and preStop each with exactly one handler (validateHandler), a sleep
    non-negative and no longer than the pod's terminationGracePeriodSeconds `grace` (validateSleepAction)."""
    lifecycle = as_dict(errs, lifecycle, path)
    if lifecycle is None:
        return
    for hook in ("postStart", "preStop"):
        if lifecycle.get(hook) is None:
            continue
        handler = as_dict(errs, lifecycle[hook], f"{path}.{hook}")
        if handler is None:
            continue

        def check(kind: str, h: Any, hpath: str) -> None:
            if kind == "sleep":
                _sleep(errs, h, hpath, grace)
            else:
                _handler(errs, kind, h, hpath)

        _one_handler(errs, handler, _HOOK_HANDLERS, f"{path}.{hook}", check)


def _one_handler(errs: Errors, obj: dict[str, Any], kinds: tuple[str, ...], path: str,
                 check: Callable[[str, Any, str], None]) -> None:
    """validateHandler's rule for a probe and a lifecycle hook alike: exactly one of `kinds`, checked."""
    count = 0
    for kind in kinds:
        if obj.get(kind) is None:
            continue
        if count:
            forbidden(errs, f"{path}.{kind}", "may not specify more than 1 handler type")
            continue
        count += 1
        check(kind, obj[kind], f"{path}.{kind}")
    if not count:
        required(errs, path, "must specify a handler type")


def _sleep(errs: Errors, sleep: Any, path: str, grace: int | None) -> None:
    sleep = as_dict(errs, sleep, path) or {}
    seconds = sleep.get("seconds", 0)
    if not is_int(seconds):
        invalid(errs, f"{path}.seconds", shown(seconds), "must be an integer")
    elif grace is not None and not 0 <= seconds <= grace:
        # Kubernetes' wording, though a sleep as long as the grace period is allowed.
        invalid(errs, path, seconds, f"must be non-negative and less than terminationGracePeriodSeconds ({grace})")


def _env(errs: Errors, env: Any, path: str) -> None:
    for i, e in enumerate(as_list(errs, env, path)):
        epath = f"{path}[{i}]"
        e = as_dict(errs, e, epath) or {}
        name = e.get("name")
        if not name:
            required(errs, f"{epath}.name")
        else:
            check_name(errs, str(name), f"{epath}.name", is_env_var_name)
        value = e.get("value")
        if value is not None and not isinstance(value, str):
            invalid(errs, f"{epath}.value", shown(value), "must be a string")
        source = e.get("valueFrom")
        if source is None:
            continue
        source = as_dict(errs, source, f"{epath}.valueFrom") or {}
        n = sum(1 for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef") if source.get(k))
        if n == 0:
            invalid(errs, f"{epath}.valueFrom", "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")
        elif value:
            invalid(errs, f"{epath}.valueFrom", "", "may not be specified when `value` is not empty")
        elif n > 1:
            invalid(errs, f"{epath}.valueFrom", "", "may not have more than one field specified at a time")
        for ref in ("configMapKeyRef", "secretKeyRef"):
            if isinstance(source.get(ref), dict):
                _key_selector(errs, source[ref], f"{epath}.valueFrom.{ref}")


def _key_selector(errs: Errors, sel: dict[str, Any], path: str) -> None:
    """validateConfigMapKeySelector / validateSecretKeySelector."""
    name = str(sel.get("name") or "")
    for msg in is_dns1123_subdomain(name):
        invalid(errs, f"{path}.name", name, msg)
    key = sel.get("key")
    if not key:
        required(errs, f"{path}.key")
    else:
        check_name(errs, str(key), f"{path}.key", is_config_map_key)


def _env_from(errs: Errors, sources: Any, path: str) -> None:
    """ValidateEnvFrom: a prefix that is a valid variable name, exactly one of configMapRef and secretRef."""
    for i, ev in enumerate(as_list(errs, sources, path)):
        ipath = f"{path}[{i}]"
        ev = as_item(errs, ev, ipath) or {}
        prefix = ev.get("prefix")
        if prefix:
            check_name(errs, str(prefix), f"{ipath}.prefix", is_env_var_name)
        refs = [r for r in ("configMapRef", "secretRef") if ev.get(r) is not None]
        for r in refs:
            ref = as_dict(errs, ev[r], f"{ipath}.{r}") or {}
            name = ref.get("name")
            if not name:
                required(errs, f"{ipath}.{r}.name")
            else:
                check_name(errs, str(name), f"{ipath}.{r}.name", is_dns1123_subdomain)
        if not refs:
            invalid(errs, path, "", "must specify one of: `configMapRef` or `secretRef`")
        elif len(refs) > 1:
            invalid(errs, path, "", "may not have more than one field specified at a time")


def _container_ports(errs: Errors, ports: Any, path: str, host_network: bool) -> None:
    names: set[str] = set()
    for i, p in enumerate(as_list(errs, ports, path)):
        ppath = f"{path}[{i}]"
        p = as_dict(errs, p, ppath) or {}
        name = p.get("name")
        if name:
            msgs = is_valid_port_name(str(name))
            for msg in msgs:
                invalid(errs, f"{ppath}.name", shown(name), msg)
            if not msgs and name in names:
                duplicate(errs, f"{ppath}.name", name)
            names.add(str(name))
        cport = p.get("containerPort")
        if cport in (None, 0):
            required(errs, f"{ppath}.containerPort")
        else:
            port_num(errs, p, "containerPort", f"{ppath}.containerPort")
        if p.get("hostPort") not in (None, 0):
            port_num(errs, p, "hostPort", f"{ppath}.hostPort")
            if host_network and p.get("hostPort") != cport:
                invalid(errs, f"{ppath}.hostPort", shown(p.get("hostPort")),
                        "must match `containerPort` when `hostNetwork` is true")
        protocol(errs, p, f"{ppath}.protocol")


def local_descending_path(errs: Errors, value: str, path: str, *, reserved: bool = False) -> None:
    """validateLocalDescendingPath (and with `reserved`, validateLocalNonReservedPath): a path inside a volume."""
    if value.startswith("/"):
        invalid(errs, path, value, "must be a relative path")
    if ".." in value.split("/"):
        invalid(errs, path, value, "must not contain '..'")
    if reserved and value.startswith(".."):
        invalid(errs, path, value, "must not start with '..'")


def _volume_mounts(errs: Errors, mounts: Any, path: str, volumes: set[str]) -> None:
    seen: set[str] = set()
    for i, m in enumerate(as_list(errs, mounts, path)):
        mpath = f"{path}[{i}]"
        m = as_dict(errs, m, mpath) or {}
        name = m.get("name") or ""
        if not name:
            required(errs, f"{mpath}.name")
        if str(name) not in volumes:
            not_found(errs, f"{mpath}.name", shown(name))
        mount_path = str(m.get("mountPath") or "")
        if not mount_path:
            required(errs, f"{mpath}.mountPath")
        if mount_path in seen:
            invalid(errs, f"{mpath}.mountPath", mount_path, "must be unique")
        seen.add(mount_path)
        # Kubernetes names these two by the list's path, without the index (ValidateVolumeMounts)
        sub_path, expr = str(m.get("subPath") or ""), str(m.get("subPathExpr") or "")
        if sub_path:
            local_descending_path(errs, sub_path, f"{path}.subPath")
        if expr:
            if sub_path:
                invalid(errs, f"{mpath}.subPathExpr", expr, "subPathExpr and subPath are mutually exclusive")
            local_descending_path(errs, expr, f"{path}.subPathExpr")


PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def validate_containers(errs: Errors, containers: Any, path: str, *, volumes: set[str], names: set[str],
                host_network: bool, init: bool, grace: int | None = DEFAULT_GRACE) -> None:
    items = as_list(errs, containers, path)
    if not items and not init:
        required(errs, path)
    for i, c in enumerate(items):
        cpath = f"{path}[{i}]"
        c = as_item(errs, c, cpath)
        if c is None:
            continue
        name = c.get("name")
        if not name:
            required(errs, f"{cpath}.name")
        elif not isinstance(name, str):
            invalid(errs, f"{cpath}.name", shown(name), "must be a string")
        else:
            check_name(errs, name, f"{cpath}.name", is_dns1123_label)
            if name in names:
                duplicate(errs, f"{cpath}.name", name)
            names.add(name)
        image = c.get("image")
        if not image:
            required(errs, f"{cpath}.image")
        elif not isinstance(image, str):
            invalid(errs, f"{cpath}.image", shown(image), "must be a string")
        elif image != image.strip():
            invalid(errs, f"{cpath}.image", image, "must not have leading or trailing whitespace")
        for key in ("command", "args"):
            for j, arg in enumerate(as_list(errs, c.get(key), f"{cpath}.{key}")):
                if not isinstance(arg, str):
                    invalid(errs, f"{cpath}.{key}[{j}]", shown(arg), "must be a string")
        _container_ports(errs, c.get("ports"), f"{cpath}.ports", host_network)
        _env(errs, c.get("env"), f"{cpath}.env")
        _env_from(errs, c.get("envFrom"), f"{cpath}.envFrom")
        validate_resources(errs, c.get("resources"), f"{cpath}.resources")
        _volume_mounts(errs, c.get("volumeMounts"), f"{cpath}.volumeMounts", volumes)
        if c.get("lifecycle") is not None:
            if init and c.get("restartPolicy") != "Always":
                forbidden(errs, f"{cpath}.lifecycle", "may not be set for init containers without restartPolicy=Always")
            else:
                validate_lifecycle(errs, c["lifecycle"], f"{cpath}.lifecycle", grace)
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if c.get(probe) is None:
                continue
            if init and c.get("restartPolicy") != "Always":
                forbidden(errs, f"{cpath}.{probe}", "may not be set for init containers without restartPolicy=Always")
                continue
            validate_probe(errs, c[probe], f"{cpath}.{probe}")
            threshold = (c.get(probe) or {}).get("successThreshold") if isinstance(c.get(probe), dict) else None
            if probe != "readinessProbe" and threshold not in (None, 1):
                invalid(errs, f"{cpath}.{probe}.successThreshold", shown(threshold), "must be 1")
        policy = c.get("imagePullPolicy")
        if policy is not None and policy not in PULL_POLICIES:
            not_supported(errs, f"{cpath}.imagePullPolicy", shown(policy), PULL_POLICIES)
        tmp = c.get("terminationMessagePolicy")
        if tmp is not None and tmp not in ("File", "FallbackToLogsOnError"):
            not_supported(errs, f"{cpath}.terminationMessagePolicy", shown(tmp), ("FallbackToLogsOnError", "File"))
