"""`explain`: a kind's fields with Kubernetes' own descriptions, printed as `kubectl explain` prints them
(its plaintext template, kubectl/pkg/explain/v2/templates/plaintext.tmpl), from control/api/openapi."""

from __future__ import annotations

import textwrap
from typing import Any

from control.api import openapi


class ExplainError(Exception):
    """What kubectl explain says when the path leads nowhere."""


def explain(api_version: str, kind: str, path: list[str], *, recursive: bool = False) -> str:
    """The explanation of `kind` (group/version or v1), or of the field `path` (spec, containers, ...) in it."""
    name = openapi.schema_of(api_version, kind)
    if name is None:
        raise ExplainError(f"error: GVK {api_version}, Kind={kind} not found in OpenAPI schema")
    body = _output(openapi.schemas()[name], path, set(), recursive)
    if not body:
        raise ExplainError(f'error: field "{path[-1]}" does not exist')
    return header(api_version, kind) + body + "\n"


def header(api_version: str, kind: str) -> str:
    """GROUP (for a kind in a group), KIND and VERSION: what kubectl explain prints first, even before an error."""
    group, _, version = api_version.rpartition("/")
    return (f"GROUP:      {group}\n" if group else "") + f"KIND:       {kind}\nVERSION:    {version}\n\n"


def _resolve(schema: dict) -> dict:
    ref = schema.get("$ref")
    return (openapi.resolve(ref) if isinstance(ref, str) else None) or schema


def _map_value(schema: dict) -> dict | None:
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _output(schema: dict, path: list[str], history: set[str], recursive: bool) -> str:
    ref = schema.get("$ref") or ""
    seen = history | {ref}
    resolved = _resolve(schema)
    if not path:
        out = "DESCRIPTION:\n" + _indent(4, _wrap(76, _description(resolved) or "<empty>")) + "\n"
        fields = _field_list(resolved, 1, set(), recursive)
        return out + ("FIELDS:\n" + fields if fields else "")
    if ref and ref in history:
        return ""  # a cycle
    props = resolved.get("properties") or {}
    if path[0] in props:
        sub = props[path[0]]
        out = ""
        if len(path) == 1:
            out = f"FIELD: {path[0]} <{_type(sub)}>\n" + _enum(sub, long=True, limit=-1) + "\n\n"
        return out + _output(sub, path[1:], set(), recursive)
    if resolved.get("items"):
        return _output(resolved["items"], path, seen, recursive)
    if _map_value(resolved) is not None:
        return _output(_map_value(resolved), path, seen, recursive)  # type: ignore[arg-type]
    for alternative in resolved.get("allOf") or ():
        out = _output(alternative, path, seen, recursive)
        if out:
            return out
    return ""


def _description(schema: dict) -> str:
    s = _resolve(schema)
    out = s["description"] + "\n" if s.get("description") else ""
    for alternative in s.get("allOf") or ():
        out += _description(alternative)
    if s.get("items"):
        out += _description(s["items"])
    if _map_value(s) is not None:
        out += _description(_map_value(s))  # type: ignore[arg-type]
    return out


def _field_list(schema: dict, level: int, history: set[str], recursive: bool) -> str:
    ref = schema.get("$ref") or ""
    if ref and ref in history:
        return ""  # a cycle
    seen = history | {ref}
    resolved = _resolve(schema)
    out = ""
    props = resolved.get("properties") or {}
    for name in sorted(props):
        out += _field(name, resolved, recursive, level)
        if recursive:
            out += _field_list(props[name], level + 1, seen, recursive)
    for alternative in resolved.get("allOf") or ():
        out += _field_list(alternative, level, seen, recursive)
    if resolved.get("items"):
        out += _field_list(resolved["items"], level, seen, recursive)
    if _map_value(resolved) is not None:
        out += _field_list(_map_value(resolved), level, seen, recursive)  # type: ignore[arg-type]
    return out


def _field(name: str, schema: dict, short: bool, level: int) -> str:
    pad = level * 2
    field = schema["properties"][name]
    out = " " * pad + f"{name}\t<{_type(field)}>"
    if name in (schema.get("required") or ()):
        out += " -required-"
    out += _enum(field, long=False, limit=4, pad=pad) + "\n"
    if not short:
        out += _indent(pad + 2, _wrap(78 - pad, field.get("description") or "<no description>")) + "\n\n"
    return out


def _type(schema: dict) -> str:
    """kubectl's guess at a field's type: string, []Container, map[string]Quantity, Object, ..."""
    if schema.get("items"):
        return "[]" + _type(schema["items"])
    if _map_value(schema) is not None:
        return "map[string]" + _type(_map_value(schema))  # type: ignore[arg-type]
    all_of = schema.get("allOf")
    if all_of and not schema.get("properties") and len(all_of) == 1:
        return _type(all_of[0])
    ref = schema.get("$ref")
    if ref:
        target: dict[str, Any] | None = openapi.resolve(ref)
        if not target or not target.get("type") or target.get("type") == "object":
            return ref.rsplit("/", 1)[-1].rsplit(".", 1)[-1] or "Object"
        return str(target["type"])
    kind = schema.get("type")
    return "Object" if kind == "object" or not kind else str(kind)


def _enum(schema: dict, *, long: bool, limit: int, pad: int = 0) -> str:
    values = schema.get("enum")
    if not values:
        return ""
    out = "ENUM:" if long else "\n" + " " * pad + "enum: "
    for i, v in enumerate(values):
        if -1 < limit <= i:
            return out + ", ...."
        if long:
            out += "\n    "
        elif i > 0:
            out += ", "
        out += '""' if v == "" else str(v)
    return out


def _wrap(width: int, text: str) -> str:
    """Word-wrap each line of `text` at `width`, keeping its tabs and spaces; a word longer than that has a
    line of its own (kubectl's word-wrap writer)."""
    return "\n".join("\n".join(textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False,
                                             expand_tabs=False, replace_whitespace=False))
                     for line in text.split("\n"))


def _indent(n: int, text: str) -> str:
    pad = " " * n
    return pad + text.replace("\n", "\n" + pad)
