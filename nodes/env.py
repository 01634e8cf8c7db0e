"""A container's environment as the kubelet builds it: envFrom and env entries (ConfigMap and Secret keys
too), the downward API, service variables, and Kubernetes' $(VAR) expansion of env values, command and args.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from control.api import quantity
from control.api.configdata import secret_bytes
from control.api.validation.container import is_env_var_name

# (kind, name) -> the ConfigMap or Secret, or None when the API says it does not exist
Sources = Mapping[tuple[str, str], dict[str, Any] | None]


def expand(text: str, *mappings: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: `$$` escapes, unknown or unclosed references stay as written."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    n = len(text)
    while cursor < n:
        if text[cursor] == "$" and cursor + 1 < n:
            out.append(text[checkpoint:cursor])
            nxt = text[cursor + 1]
            advance = 1
            if nxt == "$":
                out.append("$")
            elif nxt == "(":
                close = text.find(")", cursor + 2)
                if close < 0:
                    out.append("$(")
                else:
                    name = text[cursor + 2:close]
                    for m in mappings:
                        if name in m:
                            out.append(m[name])
                            break
                    else:
                        out.append(f"$({name})")
                    advance = close - cursor
            else:
                out.append("$" + nxt)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


class ConfigError(Exception):
    """The container's config cannot be made (the kubelet's CreateContainerConfigError)."""


_FIELD_KEY = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def field_value(pod: dict[str, Any], path: str, *, pod_ip: str, host_ip: str) -> str:
    """A downward API fieldRef's value."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", "default"),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path])
    m = _FIELD_KEY.match(path)
    if m:
        return str((md.get(m.group(1)) or {}).get(m.group(2), ""))
    raise ConfigError(f'unsupported fieldRef fieldPath "{path}"')


def resource_value(pod: dict[str, Any], container: dict[str, Any], ref: dict[str, Any],
                   allocatable: Mapping[str, str]) -> str:
    """A downward API resourceFieldRef's value: rounded up in units of the divisor, like Kubernetes."""
    name = ref.get("containerName") or container.get("name")
    target = next((c for c in (pod.get("spec") or {}).get("containers") or [] if c.get("name") == name),
                  container)
    kind, _, res = str(ref.get("resource", "")).partition(".")
    resources = target.get("resources") or {}
    value = (resources.get(kind) or {}).get(res)
    if value is None and kind == "requests":
        value = (resources.get("limits") or {}).get(res, "0")
    if value is None:
        # An unset limit reads as the node's allocatable, as in Kubernetes.
        value = allocatable.get(res, "0")
    try:
        amount = quantity.parse(value) / quantity.parse(ref.get("divisor") or "1")
    except (quantity.QuantityError, ZeroDivisionError) as e:
        raise ConfigError(f"invalid resourceFieldRef {ref}: {e}") from e
    return str(math.ceil(amount))


def env_references(container: dict[str, Any]) -> list[tuple[str, str]]:
    """The ConfigMaps and Secrets a container's env and envFrom read, in order, each once."""
    out: list[tuple[str, str]] = []
    for source in container.get("envFrom") or []:
        for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = source.get(key) if isinstance(source, dict) else None
            if isinstance(ref, dict) and (kind, str(ref.get("name", ""))) not in out:
                out.append((kind, str(ref.get("name", ""))))
    for item in container.get("env") or []:
        src = item.get("valueFrom") if isinstance(item, dict) else None
        for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = src.get(key) if isinstance(src, dict) else None
            if isinstance(ref, dict) and (kind, str(ref.get("name", ""))) not in out:
                out.append((kind, str(ref.get("name", ""))))
    return out


def _values(obj: dict[str, Any]) -> dict[str, str]:
    """What a container sees of a ConfigMap (its data; binaryData never reaches env) or a Secret (its bytes)."""
    if obj.get("kind") == "Secret":
        # As Go's string(bytes): the bytes as they are; surrogateescape carries any that are not UTF-8 through
        # to the process's environment unchanged.
        return {k: v.decode("utf-8", "surrogateescape") for k, v in secret_bytes(obj).items()}
    return {str(k): str(v) for k, v in (obj.get("data") or {}).items()}


def _source(sources: Sources, kind: str, name: str, optional: bool) -> dict[str, str] | None:
    """The values of a referenced object; None if it is missing and optional; ConfigError if required."""
    obj = sources.get((kind, name))
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind.lower()} "{name}" not found')  # the kubelet's cache says configmap/secret
    return _values(obj)


def hostname(pod: dict[str, Any]) -> str:
    """The pod's hostname as the kubelet gives it (GeneratePodHostNameAndDomain): spec.hostname if set (an
    Indexed Job's pods, a StatefulSet's), else the pod's name cut to 63 characters without a trailing - or ."""
    name = (pod.get("spec") or {}).get("hostname") or (pod.get("metadata") or {}).get("name", "")
    return str(name)[:63].rstrip("-.") if len(str(name)) > 63 else str(name)


def build_env(pod: dict[str, Any], container: dict[str, Any], *, pod_ip: str, host_ip: str,
              service_env: Mapping[str, str], allocatable: Mapping[str, str], sources: Sources | None = None,
              on_invalid: Callable[[str], None] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(the container's environment, the variables its command and args may reference).

    Like the kubelet (makeEnvironmentVariables): envFrom first, each source's keys (with its prefix) over the
    ones before, skipping names that are not valid variable names (`on_invalid` gets the kubelet's event
    message); then each `env` entry, expanded against everything before it and the service variables;
    command/args may reference all of it. `sources` holds the ConfigMaps and Secrets env_references names.
    HOSTNAME and the POD_* variables kube-tui adds are not referenceable, exactly as in Kubernetes, where
    they are not pod env at all.
    """
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    services = dict(service_env)
    if spec.get("enableServiceLinks") is False:
        # Only the master service's variables remain, as in Kubernetes.
        services = {k: v for k, v in services.items() if k.startswith("KUBERNETES_")}
    sources = sources or {}
    ns = md.get("namespace", "default")
    own: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        kind = "ConfigMap" if source.get("configMapRef") is not None else "Secret"
        ref = source.get("configMapRef") or source.get("secretRef") or {}
        name = str(ref.get("name", ""))
        values = _source(sources, kind, name, ref.get("optional") is True)
        if values is None:
            continue
        prefix = str(source.get("prefix") or "")
        skipped = []
        for key, value in values.items():
            if is_env_var_name(prefix + key):
                skipped.append(prefix + key)
                continue
            own[prefix + key] = value
        if skipped and on_invalid is not None:
            on_invalid(f"Keys [{', '.join(sorted(skipped))}] from the EnvFrom {kind.lower()} {ns}/{name} were "
                       "skipped since they are considered invalid environment variable names.")
    for item in container.get("env") or []:
        name = item.get("name", "")
        source = item.get("valueFrom")
        if source is None:
            value = item.get("value") or ""
            own[name] = expand(value, own, services) if value else ""
        elif "fieldRef" in source:
            own[name] = field_value(pod, source["fieldRef"].get("fieldPath", ""), pod_ip=pod_ip, host_ip=host_ip)
        elif "resourceFieldRef" in source:
            own[name] = resource_value(pod, container, source["resourceFieldRef"], allocatable)
        else:
            kind = "ConfigMap" if source.get("configMapKeyRef") is not None else "Secret"
            ref = source.get("configMapKeyRef") or source.get("secretKeyRef") or {}
            optional = ref.get("optional") is True
            values = _source(sources, kind, str(ref.get("name", "")), optional)
            if values is None:
                continue
            key = str(ref.get("key", ""))
            if key not in values:
                if optional:
                    continue
                raise ConfigError(f"couldn't find key {key} in {kind} {ns}/{ref.get('name', '')}")
            own[name] = values[key]
    references = {**services, **own}
    # HOSTNAME as every container has it. POD_IP is kube-tui's own: pods share the node's network stack, so a
    # server must listen on its pod's address (the built-in images do); Kubernetes sets no such variable
    # unless the downward API asks for it, so nothing else is added.
    env = {
        "HOSTNAME": hostname(pod),
        "POD_IP": pod_ip,
        **references,
    }
    return env, references
