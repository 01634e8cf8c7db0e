"""EndpointSlices (discovery.k8s.io/v1), as pkg/apis/discovery/validation checks them."""

from __future__ import annotations

import ipaddress
from typing import Any

from control.api.endpointslice import ADDRESS_TYPES
from control.api.labels import is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_label_value
from control.api.validation.field import (
    IMMUTABLE,
    Errors,
    as_dict,
    as_item,
    as_list,
    check_name,
    duplicate,
    invalid,
    not_supported,
    required,
    shown,
)
from control.api.validation.meta import validate_labels
from control.errors import FieldError

MAX_ENDPOINTS = 1000
MAX_PORTS = 100
MAX_ADDRESSES = 100
MAX_TOPOLOGY_LABELS = 16
MAX_HINTS = 8
PROTOCOLS = ("SCTP", "TCP", "UDP")
# The deprecated addressType "IP" is still accepted on update, for slices stored before it was dropped.
DEPRECATED_ADDRESS_TYPES = ("IP",)


def _too_many(errs: Errors, path: str, actual: int, most: int) -> None:
    errs.append(FieldError(path, "Too many", f"{actual}: must have at most {most} items"))


def _endpoint_ip(errs: Errors, path: str, address: str, version: int) -> None:
    """IsValidIPv4Address / IsValidIPv6Address, then ValidateEndpointIP. Kubernetes also refuses loopback
    addresses; kube-tui's pods live in 127.0.0.0/8, so it can't."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    if ip is None or ip.version != version:
        invalid(errs, path, address, f"must be a valid IPv{version} address")
        return
    if ip.is_unspecified:
        invalid(errs, path, address, f"may not be unspecified ({address})")
    if ip.is_link_local:
        invalid(errs, path, address, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    if ip in ipaddress.ip_network("224.0.0.0/24") or ip in ipaddress.ip_network("ff02::/16"):
        invalid(errs, path, address, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")


def _fqdn(errs: Errors, path: str, name: str) -> None:
    """IsFullyQualifiedDomainName: a DNS subdomain of at least two labels (a trailing dot allowed)."""
    if not name:
        required(errs, path)
        return
    name = name.removesuffix(".")
    msgs = is_dns1123_subdomain(name)
    if msgs:
        invalid(errs, path, name, ",".join(msgs))
        return
    labels = name.split(".")
    if len(labels) < 2:
        invalid(errs, path, name, "should be a domain with at least two segments separated by dots")
        return
    for label in labels:
        msgs = is_dns1123_label(label)
        if msgs:
            invalid(errs, path, label, ",".join(msgs))
            return


def _hints(errs: Errors, hints: dict[str, Any], path: str) -> None:
    for key, rule in (("forZones", is_valid_label_value), ("forNodes", is_dns1123_subdomain)):
        items = as_list(errs, hints.get(key), f"{path}.{key}")
        if len(items) > MAX_HINTS:
            _too_many(errs, f"{path}.{key}", len(items), MAX_HINTS)
            continue
        seen: set[str] = set()
        for i, item in enumerate(items):
            npath = f"{path}.{key}[{i}].name"
            name = str((as_item(errs, item, f"{path}.{key}[{i}]") or {}).get("name") or "")
            if name in seen:
                duplicate(errs, npath, name)
            seen.add(name)
            for msg in rule(name):
                invalid(errs, npath, name, msg)


def _endpoints(errs: Errors, endpoints: list[Any], address_type: str) -> None:
    if len(endpoints) > MAX_ENDPOINTS:
        _too_many(errs, "endpoints", len(endpoints), MAX_ENDPOINTS)
        return
    for i, ep in enumerate(endpoints):
        path = f"endpoints[{i}]"
        ep = as_item(errs, ep, path) or {}
        addresses = as_list(errs, ep.get("addresses"), f"{path}.addresses")
        if not addresses:
            required(errs, f"{path}.addresses", "must contain at least 1 address")
        elif len(addresses) > MAX_ADDRESSES:
            _too_many(errs, f"{path}.addresses", len(addresses), MAX_ADDRESSES)
        for j, address in enumerate(addresses):
            apath, address = f"{path}.addresses[{j}]", str(address)
            if address_type in ("IPv4", "IPv6"):
                _endpoint_ip(errs, apath, address, 4 if address_type == "IPv4" else 6)
            elif address_type == "FQDN":
                _fqdn(errs, apath, address)
        node = ep.get("nodeName")
        if node is not None:
            for msg in is_dns1123_subdomain(str(node)):
                invalid(errs, f"{path}.nodeName", shown(node), msg)
        topology = as_dict(errs, ep.get("deprecatedTopology"), f"{path}.deprecatedTopology") or {}
        if len(topology) > MAX_TOPOLOGY_LABELS:
            _too_many(errs, f"{path}.deprecatedTopology", len(topology), MAX_TOPOLOGY_LABELS)
        validate_labels(errs, topology, f"{path}.deprecatedTopology")
        if ep.get("hostname") is not None:
            check_name(errs, str(ep["hostname"]), f"{path}.hostname", is_dns1123_label)
        hints = as_dict(errs, ep.get("hints"), f"{path}.hints")
        if hints is not None:
            _hints(errs, hints, f"{path}.hints")


def _ports(errs: Errors, ports: list[Any]) -> None:
    if len(ports) > MAX_PORTS:
        _too_many(errs, "ports", len(ports), MAX_PORTS)
        return
    names: set[str] = set()
    for i, p in enumerate(ports):
        path = f"ports[{i}]"
        p = as_item(errs, p, path) or {}
        name = str(p.get("name") or "")
        if name:
            check_name(errs, name, f"{path}.name", is_dns1123_label)
        if name in names:
            duplicate(errs, f"{path}.name", name)
        names.add(name)
        proto = p.get("protocol")
        if proto is None:
            required(errs, f"{path}.protocol")
        elif proto not in PROTOCOLS:
            not_supported(errs, f"{path}.protocol", shown(proto), PROTOCOLS)
        app = p.get("appProtocol")
        if app is not None:
            for msg in is_qualified_name(str(app)):
                invalid(errs, f"{path}.appProtocol", shown(app), msg)


def validate_endpointslice(obj: dict[str, Any], old: dict[str, Any] | None, errs: Errors) -> None:
    """ValidateEndpointSliceCreate / ValidateEndpointSliceUpdate: addressType (immutable), endpoints, ports."""
    address_type = obj.get("addressType")
    allowed = ADDRESS_TYPES if old is None else tuple(sorted(ADDRESS_TYPES + DEPRECATED_ADDRESS_TYPES))
    if not address_type:
        required(errs, "addressType")
    elif address_type not in allowed:
        not_supported(errs, "addressType", shown(address_type), allowed)
    _endpoints(errs, as_list(errs, obj.get("endpoints"), "endpoints"), str(address_type or ""))
    _ports(errs, as_list(errs, obj.get("ports"), "ports"))
    if old is not None and address_type != old.get("addressType"):
        invalid(errs, "addressType", shown(address_type), IMMUTABLE)
