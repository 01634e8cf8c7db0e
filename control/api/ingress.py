"""Ingresses and IngressClasses (networking.k8s.io/v1): what the API server's admission and the ingress controller
share about them, as pure functions of the objects.

kube-tui's class is `kube-tui` (controller `kube-tui.io/ingress-controller`), the cluster's default one. Routing
follows the Ingress documentation: a rule's host exactly, else a wildcard host one label deep, else a rule with no
host; within it the longest matching path, Exact before Prefix on a tie; Prefix matches whole path elements
(`/foo` matches `/foo/bar`, not `/foobar`); ImplementationSpecific is matched as Prefix, as ingress-nginx does
for a path without regex annotations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

API_VERSION = "networking.k8s.io/v1"
CONTROLLER = "kube-tui.io/ingress-controller"
CLASS_NAME = "kube-tui"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"  # the class before spec.ingressClassName existed
PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")  # sets.List(): sorted, as the API server lists them

DEFAULT_CLASS: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": "IngressClass",
    "metadata": {"name": CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
    "spec": {"controller": CONTROLLER},
}


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def is_default_class(ic: Mapping[str, Any]) -> bool:
    return (_md(ic).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"


def default_class(classes: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The DefaultIngressClass plugin's choice: of several default classes, the newest (then the first by name)."""
    defaults = sorted((c for c in classes if is_default_class(c)),
                      key=lambda c: (str(_md(c).get("creationTimestamp") or ""), str(_md(c).get("name") or "")))
    if not defaults:
        return None
    newest = str(_md(defaults[-1]).get("creationTimestamp") or "")
    return next(c for c in defaults if str(_md(c).get("creationTimestamp") or "") == newest)


def admit(ingress: dict[str, Any], classes: Iterable[Mapping[str, Any]]) -> None:
    """The DefaultIngressClass admission plugin, on create: an Ingress that names no class, neither in
    spec.ingressClassName nor in the kubernetes.io/ingress.class annotation, gets the default class."""
    spec = ingress.get("spec")
    if not isinstance(spec, dict) or spec.get("ingressClassName") is not None:
        return
    if CLASS_ANNOTATION in (_md(ingress).get("annotations") or {}):
        return
    default = default_class(classes)
    if default is not None:
        spec["ingressClassName"] = _md(default).get("name")


def class_of(ingress: Mapping[str, Any]) -> str:
    """The Ingress's class: spec.ingressClassName, else the annotation (which the API server keeps equal)."""
    name = _spec(ingress).get("ingressClassName")
    if name:
        return str(name)
    return str((_md(ingress).get("annotations") or {}).get(CLASS_ANNOTATION) or "")


# -- matching ------------------------------------------------------------------------------------------


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def path_matches(path_type: str, path: str, request_path: str) -> bool:
    """Whether an Ingress path of this type matches a request's path (the spec's table of examples)."""
    if path_type == "Exact":
        return request_path == path
    want = _elements(path or "/")
    got = _elements(request_path)
    return got[:len(want)] == want


def host_matches(rule_host: str, host: str) -> bool:
    """A rule's host: none matches every host; `*.foo.com` matches exactly one more label (`bar.foo.com`, not
    `baz.bar.foo.com` nor `foo.com`); any other must be equal."""
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == rule_host[2:]
    return host == rule_host


def request_host(header: str) -> str:
    """The Host header without its port, lower case, as a rule's host is compared with it."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal
        return header.partition("]")[0] + "]"
    return header.rpartition(":")[0] if ":" in header else header


@dataclass(frozen=True)
class Route:
    """Where a request goes: the Ingress that routed it and its backend (a Service's name and port)."""

    namespace: str
    ingress: str
    backend: Mapping[str, Any]
    path: str = ""  # the matching path ("" for a default backend)


def _host_rank(rule_host: str) -> int:
    return 0 if rule_host and not rule_host.startswith("*.") else 1 if rule_host else 2


def route(ingresses: Iterable[Mapping[str, Any]], host: str, path: str) -> Route | None:
    """The backend of the best matching path of every Ingress given, else the default backend of the oldest
    one that has one, else None (the controller's own default backend: 404).

    Hosts first (exact, then wildcard, then none); among the paths of those rules, the longest (in path
    elements, then characters), Exact before Prefix, then the oldest Ingress."""
    ordered = sorted(ingresses, key=lambda i: (str(_md(i).get("creationTimestamp") or ""), str(_md(i).get("namespace") or ""),
                                               str(_md(i).get("name") or "")))
    best: tuple[tuple[int, int, int, int, int], Route] | None = None
    for order, ing in enumerate(ordered):
        md = _md(ing)
        for rule in _spec(ing).get("rules") or []:
            if not isinstance(rule, Mapping):
                continue
            rule_host = str(rule.get("host") or "")
            if not host_matches(rule_host, host):
                continue
            for p in (rule.get("http") or {}).get("paths") or []:
                if not isinstance(p, Mapping):
                    continue
                p_type, p_path = str(p.get("pathType") or "Prefix"), str(p.get("path") or "/")
                if not path_matches(p_type, p_path, path):
                    continue
                rank = (_host_rank(rule_host), -len(_elements(p_path)), -len(p_path), 0 if p_type == "Exact" else 1, order)
                if best is None or rank < best[0]:
                    best = (rank, Route(str(md.get("namespace") or ""), str(md.get("name") or ""), p.get("backend") or {}, p_path))
    if best is not None:
        return best[1]
    for ing in ordered:
        backend = _spec(ing).get("defaultBackend")
        if backend:
            md = _md(ing)
            return Route(str(md.get("namespace") or ""), str(md.get("name") or ""), backend)
    return None


def service_port_name(service: Mapping[str, Any], port: Mapping[str, Any]) -> str | None:
    """The name of the Service port an Ingress backend's port (number or name) means, None if it has none such."""
    for sp in _spec(service).get("ports") or []:
        if port.get("number") and sp.get("port") == port.get("number"):
            return str(sp.get("name") or "")
        if port.get("name") and sp.get("name") == port.get("name"):
            return str(sp.get("name"))
    return None


def ready_addresses(endpoints: Mapping[str, Any] | None, port_name: str) -> list[tuple[str, int]]:
    """The ready addresses of an Endpoints for one port name (kube-proxy's matching), sorted."""
    out: set[tuple[str, int]] = set()
    for subset in (endpoints or {}).get("subsets") or []:
        port = next((int(p["port"]) for p in subset.get("ports") or []
                     if (p.get("name") or "") == port_name and p.get("port")), None)
        if port is None:
            continue
        for a in subset.get("addresses") or []:
            if a.get("ip"):
                out.add((str(a["ip"]), port))
    return sorted(out)
