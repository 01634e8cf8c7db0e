"""Ingress and IngressClass (networking.k8s.io/v1), as pkg/apis/networking/validation checks them."""

from __future__ import annotations

import re
from typing import Any

from control.api.ingress import CLASS_ANNOTATION, PATH_TYPES
from control.api.labels import (
    DNS1123_SUBDOMAIN_FMT,
    DNS1123_SUBDOMAIN_MAX,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    max_len_error,
    regex_error,
)
from control.api.validation.field import (
    IMMUTABLE,
    Errors,
    as_dict,
    as_item,
    as_list,
    forbidden,
    invalid,
    is_int,
    is_ip,
    not_supported,
    required,
    shown,
)
from control.api.validation.ports import is_valid_port_name, is_valid_port_num
from control.errors import FieldError

INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
WILDCARD_FMT = "\\*\\." + DNS1123_SUBDOMAIN_FMT
WILDCARD_ERR = ("a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must "
                "consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character")
_WILDCARD = re.compile(f"^{WILDCARD_FMT}$")
HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+"
_HTTP_PATH = re.compile(f"^{HTTP_PATH_FMT}$")
MAX_CONTROLLER = 250
SCOPES = ("Cluster", "Namespace")


class GoValue:
    """A value apimachinery prints with %#v (a Go slice or struct), not quoted."""

    def __init__(self, shown: str) -> None:
        self.shown = shown

    def __repr__(self) -> str:
        return self.shown


def is_wildcard_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX))
    if not _WILDCARD.match(value):
        errs.append(regex_error(WILDCARD_ERR, WILDCARD_FMT, "*.example.com"))
    return errs


def _path_segment(errs: Errors, value: Any, path: str) -> None:
    """IsValidPathSegmentName: a kind or name that can be a URL path segment."""
    if not value:
        required(errs, path)
        return
    value = str(value)
    if value in (".", ".."):
        invalid(errs, path, value, f"may not be '{value}'")
        return
    for bad in ("/", "%"):
        if bad in value:
            invalid(errs, path, value, f"may not contain '{bad}'")


def _api_group(errs: Errors, ref: dict[str, Any], path: str) -> None:
    group = ref.get("apiGroup")
    if group is not None:
        for msg in is_dns1123_subdomain(str(group)):
            invalid(errs, f"{path}.apiGroup", str(group), msg)


def _backend(errs: Errors, backend: dict[str, Any], path: str) -> None:
    """validateIngressBackend: a Service (name, and a port by number or by name) or a resource, not both."""
    service = as_dict(errs, backend.get("service"), f"{path}.service")
    resource = as_dict(errs, backend.get("resource"), f"{path}.resource")
    if service is not None and resource is not None:
        invalid(errs, path, "", "cannot set both resource and service backends")
        return
    if resource is not None:
        _api_group(errs, resource, f"{path}.resource")
        _path_segment(errs, resource.get("kind"), f"{path}.resource.kind")
        _path_segment(errs, resource.get("name"), f"{path}.resource.name")
        return
    if service is None:
        invalid(errs, path, "", "resource or service backend is required")
        return
    name = service.get("name")
    if not name:
        required(errs, f"{path}.service.name")
    else:
        for msg in is_dns1035_label(str(name)):
            invalid(errs, f"{path}.service.name", str(name), msg)
    port = as_dict(errs, service.get("port"), f"{path}.service.port") or {}
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        invalid(errs, path, "", "cannot set both port name & port number")
    elif port_name:
        for msg in is_valid_port_name(str(port_name)):
            invalid(errs, f"{path}.service.port.name", str(port_name), msg)
    elif number:
        if not is_int(number):
            invalid(errs, f"{path}.service.port.number", shown(number), "must be an integer")
        else:
            for msg in is_valid_port_num(number):
                invalid(errs, f"{path}.service.port.number", number, msg)
    else:
        required(errs, path, "port name or number is required")


def _http_path(errs: Errors, item: dict[str, Any], path: str) -> None:
    """validateHTTPIngressPath: a pathType, an absolute path without `//`, `/./`, `/../` or an encoded `/`."""
    path_type = item.get("pathType")
    if path_type is None:
        required(errs, f"{path}.pathType", "pathType must be specified")
        return
    value = item.get("path") or ""
    if not isinstance(value, str):
        invalid(errs, f"{path}.path", shown(value), "must be a string")
        value = ""
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            invalid(errs, f"{path}.path", value, "must be an absolute path")
        if value:
            for seq in INVALID_PATH_SEQUENCES:
                if seq in value:
                    invalid(errs, f"{path}.path", value, f"must not contain '{seq}'")
            for suffix in INVALID_PATH_SUFFIXES:
                if value.endswith(suffix):
                    invalid(errs, f"{path}.path", value, f"cannot end with '{suffix}'")
    elif path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            invalid(errs, f"{path}.path", value, "must be an absolute path")
    else:
        not_supported(errs, f"{path}.pathType", shown(path_type), PATH_TYPES)
    _backend(errs, as_item(errs, item.get("backend"), f"{path}.backend") or {}, f"{path}.backend")


def _host(errs: Errors, host: str, path: str) -> None:
    if "*" in host:
        for msg in is_wildcard_dns1123_subdomain(host):
            invalid(errs, path, host, msg)
        return
    for msg in is_dns1123_subdomain(host):
        invalid(errs, path, host, msg)


def _rules(errs: Errors, rules: list[Any], path: str) -> None:
    for i, rule in enumerate(rules):
        rpath = f"{path}[{i}]"
        rule = as_item(errs, rule, rpath) or {}
        host = rule.get("host") or ""
        if host:
            host = str(host)
            if is_ip(host):
                invalid(errs, f"{rpath}.host", host, "must be a DNS name, not an IP address")
            _host(errs, host, f"{rpath}.host")
        http = as_dict(errs, rule.get("http"), f"{rpath}.http")
        if http is None:
            continue
        paths = as_list(errs, http.get("paths"), f"{rpath}.http.paths")
        if not paths:
            required(errs, f"{rpath}.http.paths")
        for j, item in enumerate(paths):
            _http_path(errs, as_item(errs, item, f"{rpath}.http.paths[{j}]") or {}, f"{rpath}.http.paths[{j}]")


def validate_ingress(obj: dict[str, Any], old: dict[str, Any] | None, errs: Errors) -> None:
    """ValidateIngressCreate / ValidateIngressUpdate: the spec, and on create the class annotation, which must
    agree with spec.ingressClassName when both are set."""
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    rules = as_list(errs, spec.get("rules"), "spec.rules")
    default = as_dict(errs, spec.get("defaultBackend"), "spec.defaultBackend")
    if not rules and default is None:
        invalid(errs, "spec", GoValue("[]networking.IngressRule(nil)"), "either `defaultBackend` or `rules` must be specified")
    if default is not None:
        _backend(errs, default, "spec.defaultBackend")
    _rules(errs, rules, "spec.rules")
    for i, tls in enumerate(as_list(errs, spec.get("tls"), "spec.tls")):
        tls = as_item(errs, tls, f"spec.tls[{i}]") or {}
        for j, host in enumerate(as_list(errs, tls.get("hosts"), f"spec.tls[{i}].hosts")):
            _host(errs, str(host), f"spec.tls[{i}].hosts[{j}]")
        secret = tls.get("secretName") or ""
        if secret:
            for msg in is_dns1123_subdomain(str(secret)):
                invalid(errs, f"spec.tls[{i}].secretName", str(secret), msg)
    class_name = spec.get("ingressClassName")
    if class_name is not None:
        for msg in is_dns1123_subdomain(str(class_name)):
            invalid(errs, "spec.ingressClassName", str(class_name), msg)
    if old is None:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if CLASS_ANNOTATION in annotations and class_name is not None and annotations[CLASS_ANNOTATION] != class_name:
            invalid(errs, f"annotations.{CLASS_ANNOTATION}", str(annotations[CLASS_ANNOTATION]),
                    "must match `ingressClassName` when both are specified")
    status = as_dict(errs, obj.get("status"), "status") or {}
    lb = as_dict(errs, status.get("loadBalancer"), "status.loadBalancer") or {}
    for i, item in enumerate(as_list(errs, lb.get("ingress"), "status.loadBalancer.ingress")):
        item = as_item(errs, item, f"status.loadBalancer.ingress[{i}]") or {}
        if item.get("ip") and not is_ip(str(item["ip"])):
            invalid(errs, f"status.loadBalancer.ingress[{i}].ip", str(item["ip"]), "must be a valid IP address")


def validate_ingressclass(obj: dict[str, Any], errs: Errors) -> None:
    """validateIngressClassSpec: a controller that is a domain-prefixed path, and well-formed parameters."""
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    controller = spec.get("controller") or ""
    if not controller:
        required(errs, "spec.controller")
    else:
        controller = str(controller)
        if len(controller) > MAX_CONTROLLER:
            errs.append(FieldError("spec.controller", "Too long", f"may not be more than {MAX_CONTROLLER} bytes"))
        _domain_prefixed_path(errs, controller, "spec.controller")
    params = as_dict(errs, spec.get("parameters"), "spec.parameters")
    if params is None:
        return
    _api_group(errs, params, "spec.parameters")
    _path_segment(errs, params.get("kind"), "spec.parameters.kind")
    _path_segment(errs, params.get("name"), "spec.parameters.name")
    scope = params.get("scope")
    if scope is None:
        required(errs, "spec.parameters.scope")
        return
    if scope not in SCOPES:
        not_supported(errs, "spec.parameters.scope", shown(scope), SCOPES)
    elif scope == "Namespace":
        namespace = params.get("namespace")
        if namespace is None:
            required(errs, "spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'")
        else:
            for msg in is_dns1123_label(str(namespace)):
                invalid(errs, "spec.parameters.namespace", str(namespace), msg)
    elif params.get("namespace") is not None:
        forbidden(errs, "spec.parameters.namespace", "`parameters.scope` is set to 'Cluster'")


def _domain_prefixed_path(errs: Errors, value: str, path: str) -> None:
    """IsDomainPrefixedPath: `acme.io/foo`."""
    host, sep, rest = value.partition("/")
    if not sep or not host or not rest:
        invalid(errs, path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')
        return
    for msg in is_dns1123_subdomain(host):
        invalid(errs, path, host, msg)
    if not _HTTP_PATH.match(rest):
        invalid(errs, path, rest, regex_error("Invalid path", HTTP_PATH_FMT))


def validate_ingressclass_update(obj: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    if ((obj.get("spec") or {}).get("controller") or "") != ((old.get("spec") or {}).get("controller") or ""):
        invalid(errs, "spec.controller", str((obj.get("spec") or {}).get("controller") or ""), IMMUTABLE)
