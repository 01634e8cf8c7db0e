"""kubectl wait's --for: what it asks (delete, create, condition=TYPE[=STATUS], jsonpath='{PATH}'[=VALUE]) and
whether an object meets it, as kubectl v1.32 reads and checks them (pkg/cmd/wait: wait.go, condition.go, json.go)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from control.errors import go_quote
from tui.printers import jsonpath


@dataclass(frozen=True)
class For:
    """A parsed --for: `verb` is "delete", "create", "condition" or "jsonpath"."""

    verb: str
    condition: str = ""  # a condition's type
    status: str = "true"  # the status it must have
    path: str = ""  # a jsonpath expression, without its braces (.status.phase)
    value: str | None = None  # the value the path must have; None: any


def parse_for(text: str) -> For:
    """--for's value as kubectl reads it; ValueError with kubectl's words (without its "error: ")."""
    if text.lower() in ("delete", "create"):
        return For(text.lower())
    if text.startswith("condition="):
        name, eq, status = text[len("condition="):].partition("=")
        return For("condition", condition=name, status=status if eq else "true")
    if text.startswith("jsonpath="):
        parts = split_jsonpath_input(text[len("jsonpath="):])
        if len(parts) > 2:
            raise ValueError("jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or "
                             "--for=jsonpath='{.status.readyReplicas}'")
        expr = relaxed_jsonpath(parts[0])
        value = parts[1].strip("'\"") if len(parts) == 2 else None
        if value == "":
            raise ValueError("jsonpath wait has to have a value after equal sign, like "
                             "--for=jsonpath='{.status.readyReplicas}'=3")
        if not expr:
            raise ValueError("jsonpath expression cannot be empty")
        path = expr[1:-1]
        try:
            jsonpath.find(path, {})  # its syntax, before any object is read
        except jsonpath.JSONPathError as e:
            raise ValueError(str(e)) from None
        return For("jsonpath", path=path, value=value)
    raise ValueError(f"unrecognized condition: {go_quote(text)}")


def split_jsonpath_input(text: str) -> list[str]:
    """Split on each single "=", keeping "==" (a filter's) whole: "{.a[?(@.b==1)].c}=x" -> ["{...}", "x"]."""
    parts, cur, i = [], "", 0
    while i < len(text):
        if text[i] == "=":
            if text.startswith("==", i):
                cur += "=="
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    return [*parts, cur]


_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed_jsonpath(expr: str) -> str:
    """kubectl's RelaxedJSONPathExpression: `.a.b`, `a.b`, `{a.b}` and `{.a.b}` all become `{.a.b}`."""
    if not expr:
        return expr
    m = _RELAXED.match(expr)
    if m is None:
        raise ValueError("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' "
                         "or '{.name1.name2}'")
    return "{." + (m[1] or m[2]) + "}"


def _equal_fold(a: str, b: str) -> bool:
    """Go's strings.EqualFold: equal under simple (one character for one) case folding."""
    return len(a) == len(b) and all(x == y or x.lower() == y.lower() or x.upper() == y.upper() for x, y in zip(a, b, strict=True))


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def condition_met(obj: dict, want: For) -> bool:
    """The first status.conditions entry of the wanted type has the wanted status, and is not older than the
    object's spec (its observedGeneration, or status.observedGeneration, is not below metadata.generation)."""
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return False
    generation = _int((obj.get("metadata") or {}).get("generation"))
    for c in conditions:
        if not isinstance(c, dict):
            return False
        if not isinstance(c.get("type"), str) or not _equal_fold(c["type"], want.condition):
            continue
        if not isinstance(c.get("status"), str):
            continue
        observed = _int(c.get("observedGeneration"))
        if observed is None:
            observed = _int(status.get("observedGeneration"))
        if generation is not None and observed is not None and observed < generation:
            return False
        return _equal_fold(c["status"], want.status)
    return False


def _go_value(v: Any) -> str:
    """A JSON scalar as Go's %v prints it."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def jsonpath_met(obj: dict, want: For) -> bool:
    """The path selects one value (any, or the wanted one, spaces around either ignored). ValueError, as
    kubectl's, for a path that selects several values, or a map or a list to compare."""
    found = jsonpath.find(want.path, obj)
    if not found:
        return False
    if len(found) > 1:
        raise ValueError("given jsonpath expression matches more than one value")
    if want.value is None:
        return True
    if isinstance(found[0], (dict, list)):
        raise ValueError("jsonpath leads to a nested object or list which is not supported")
    return _go_value(found[0]).strip() == want.value.strip()


def met(obj: dict, want: For) -> bool:
    """Whether obj meets a condition or jsonpath --for."""
    return condition_met(obj, want) if want.verb == "condition" else jsonpath_met(obj, want)
