"""Port numbers, IANA port names and protocols, shared by containers, probes, services and endpoints."""

from __future__ import annotations

import re
from typing import Any

from control.api.validation.field import Errors, invalid, is_int, not_supported, required, shown

PORT_RANGE = "must be between 1 and 65535, inclusive"
PROTOCOLS = ("SCTP", "TCP", "UDP")


def is_valid_port_num(port: int) -> list[str]:
    return [] if 1 <= port <= 65535 else [PORT_RANGE]


_PORT_NAME_CHARSET = re.compile(r"^[-a-z0-9]+$")
_PORT_NAME_LETTER = re.compile(r"[a-z]")


def is_valid_port_name(port: str) -> list[str]:
    """IANA_SVC_NAME, as apimachinery checks it for named ports."""
    errs: list[str] = []
    if len(port) > 15:
        errs.append("must be no more than 15 characters")
    if not _PORT_NAME_CHARSET.match(port):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _PORT_NAME_LETTER.search(port):
        errs.append("must contain at least one letter (a-z)")
    if "--" in port:
        errs.append("must not contain consecutive hyphens")
    if port and (port[0] == "-" or port[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def port_num_or_name(errs: Errors, value: Any, path: str) -> None:
    if is_int(value):
        for msg in is_valid_port_num(value):
            invalid(errs, path, value, msg)
    elif isinstance(value, str):
        for msg in is_valid_port_name(value):
            invalid(errs, path, value, msg)
    else:
        invalid(errs, path, shown(value), "must be an integer or a port name")


def port_num(errs: Errors, obj: dict[str, Any], key: str, path: str) -> None:
    v = obj.get(key, 0)
    if not is_int(v):
        invalid(errs, path, shown(v), "must be an integer")
        return
    for msg in is_valid_port_num(v):
        invalid(errs, path, v, msg)


def protocol(errs: Errors, obj: dict[str, Any], path: str) -> None:
    proto = obj.get("protocol")
    if proto is None:
        return  # defaulted to TCP
    if proto == "":
        required(errs, path)
    elif proto not in PROTOCOLS:
        not_supported(errs, path, shown(proto), PROTOCOLS)
