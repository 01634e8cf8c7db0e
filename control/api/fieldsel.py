"""Field selectors (`--field-selector spec.nodeName=n1,status.phase!=Running`), with the fields each kind supports.

Follows k8s.io/apimachinery pkg/fields/selector.go for the syntax and each kind's
field label conversion for what may be selected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from control.errors import ApiError

_COMMON = ("metadata.name", "metadata.namespace")

# Kubernetes' per-kind field label conversion functions, limited to kube-tui's kinds.
SUPPORTED_FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": _COMMON + (
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName",
    ),
    "Node": _COMMON + ("spec.unschedulable",),
    "Namespace": _COMMON + ("status.phase",),
    "Event": _COMMON + (
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
        "reason", "reportingComponent", "source", "type",
    ),
    "Service": _COMMON + ("spec.clusterIP", "spec.type"),
    "ReplicaSet": _COMMON + ("status.replicas",),
    "Job": _COMMON + ("status.successful",),
    "Secret": _COMMON + ("type",),
}


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, obj: Mapping[str, Any]) -> bool:
        have = field_value(obj, self.field)
        return have != self.value if self.operator == "!=" else have == self.value

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{_escape(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    def requirement(self, field: str) -> str | None:
        """The value the selector requires `field` to equal, if any (RequiresExactMatch)."""
        for r in self.requirements:
            if r.field == field and r.operator in ("=", "=="):
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# Go renders an unset bool or int field as its zero value, so "spec.unschedulable=false" matches it.
_ZERO: dict[str, str] = {
    "spec.unschedulable": "false", "spec.hostNetwork": "false", "status.replicas": "0", "status.successful": "0",
}


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The selectable value of a field, as the apiserver's field set renders it (missing -> zero value)."""
    if path == "source":
        # Events select on the component that reported them.
        cur: Any = (obj.get("source") or {}).get("component", "")
    else:
        cur = obj
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, Mapping) else None
            if cur is None:
                return _ZERO.get(path, "")
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return "" if cur is None else str(cur)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _split_terms(s: str) -> list[str]:
    """Split on unescaped commas, keeping escapes for the term parser."""
    terms, cur, i = [], "", 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur += s[i : i + 2]
            i += 2
            continue
        if c == ",":
            terms.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    terms.append(cur)
    return terms


def _unescape(v: str, selector: str) -> str:
    out, i = "", 0
    while i < len(v):
        if v[i] == "\\":
            if i + 1 >= len(v) or v[i + 1] not in "\\,=":
                raise ApiError(400, "BadRequest", f"invalid field selector: '{selector}'; invalid escape sequence")
            out += v[i + 1]
            i += 2
            continue
        out += v[i]
        i += 1
    return out


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse_field_selector(s: str | None, kind: str | None = None) -> FieldSelector:
    """Parse a field selector; with `kind`, reject fields that kind cannot select on (ApiError 400)."""
    if s is None or not s.strip():
        return FieldSelector()
    reqs: list[FieldRequirement] = []
    for term in _split_terms(s):
        if not term:
            continue
        parts = _split_term(term)
        if parts is None:
            raise ApiError(400, "BadRequest", f"invalid selector: '{s}'; can't understand '{term}'")
        field, op, value = parts
        field = field.strip()
        if not field:
            raise ApiError(400, "BadRequest", f"invalid selector: '{s}'; can't understand '{term}'")
        reqs.append(FieldRequirement(field, op, _unescape(value, s)))
    if kind is not None:
        supported = SUPPORTED_FIELDS.get(kind, _COMMON)
        for r in reqs:
            if r.field not in supported:
                raise ApiError(400, "BadRequest", f"field label not supported: {r.field}")
    return FieldSelector(tuple(reqs))
