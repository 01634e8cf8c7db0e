"""A container's environment as the kubelet builds it: env entries, the downward API, service
variables, and Kubernetes' $(VAR) expansion of env values, command and args.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from control.api import quantity


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


def build_env(pod: dict[str, Any], container: dict[str, Any], *, pod_ip: str, host_ip: str,
              service_env: Mapping[str, str], allocatable: Mapping[str, str]
              ) -> tuple[dict[str, str], dict[str, str]]:
    """(the container's environment, the variables its command and args may reference).

    Like the kubelet: each `env` entry is expanded against the entries before it and the service
    variables; command/args may reference both. HOSTNAME and the POD_* variables kube-tui adds
    are not referenceable, exactly as in Kubernetes, where they are not pod env at all.
    """
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    services = dict(service_env)
    if spec.get("enableServiceLinks") is False:
        # Only the master service's variables remain, as in Kubernetes.
        services = {k: v for k, v in services.items() if k.startswith("KUBERNETES_")}
    own: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef") or source.get("secretRef")
        if ref and not ref.get("optional"):
            kind = "configmap" if "configMapRef" in source else "secret"
            raise ConfigError(f'{kind} "{ref.get("name", "")}" not found')
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
            ref = source.get("configMapKeyRef") or source.get("secretKeyRef") or {}
            if ref.get("optional"):
                continue
            kind = "configmap" if "configMapKeyRef" in source else "secret"
            raise ConfigError(f'{kind} "{ref.get("name", "")}" not found')
    references = {**services, **own}
    env = {
        "HOSTNAME": md.get("name", ""),
        "POD_NAME": md.get("name", ""),
        "POD_NAMESPACE": md.get("namespace", "default"),
        "POD_IP": pod_ip,
        **references,
    }
    return env, references
