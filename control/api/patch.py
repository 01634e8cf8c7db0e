"""Patches the API server applies: RFC 7386 JSON merge patch (kubectl patch --type=merge) and RFC 6902 JSON patch."""

from __future__ import annotations

import copy
from typing import Any

from control.errors import ApiError, bad_request

PATCH_TYPES = ("merge", "json")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces. Inputs are not mutated."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f'invalid JSON pointer "{path}": must start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], op: str, path: str) -> tuple[Any, str]:
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise bad_request(f"jsonpatch {op} operation does not apply: doc is missing path: {path}")
    return cur, parts[-1]


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, op, path)
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise bad_request(f"jsonpatch {op} operation does not apply: doc is missing key: {path}")


def _remove(doc: Any, path: str, op: str) -> Any:
    parent, last = _parent(doc, _pointer(path), op, path)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise bad_request(f"jsonpatch {op} operation does not apply: doc is missing key: {path}")


def _add(doc: Any, path: str, value: Any, op: str, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, op, path)
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise bad_request(f"jsonpatch {op} operation does not apply: doc is missing key: {path}")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent) - (1 if replace else 0):
            if replace:
                parent[int(last)] = value
            else:
                parent.insert(int(last), value)
        else:
            raise bad_request(f"jsonpatch {op} operation does not apply: index out of range: {path}")
    else:
        raise bad_request(f"jsonpatch {op} operation does not apply: doc is missing path: {path}")
    return doc


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 (kubectl patch --type=json): add, remove, replace, move, copy, test."""
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for o in ops:
        if not isinstance(o, dict) or "op" not in o or "path" not in o:
            raise bad_request(f"invalid json patch operation: {o!r}")
        op, path = o["op"], o["path"]
        if op in ("add", "replace", "test") and "value" not in o:
            raise bad_request(f"jsonpatch {op} operation is missing value")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(o["value"]), op)
        elif op == "replace":
            doc = _add(doc, path, copy.deepcopy(o["value"]), op, replace=True)
        elif op == "remove":
            _remove(doc, path, op)
        elif op in ("move", "copy"):
            src = o.get("from", "")
            value = _remove(doc, src, op) if op == "move" else copy.deepcopy(_get(doc, src, op))
            doc = _add(doc, path, value, op)
        elif op == "test":
            if _get(doc, path, op) != o["value"]:
                raise bad_request(f"testing value {path} failed: test failed")
        else:
            raise bad_request(f'Unexpected kind: {op}')
    return doc


def apply_patch(obj: dict, patch: Any, type: str = "merge") -> dict:  # noqa: A002 - kubectl's --type
    """Apply a patch of the given type to a copy of `obj`; ApiError 415 for an unknown type, 400 for a bad patch."""
    if type == "merge":
        result = merge_patch(obj, patch)
    elif type == "json":
        result = json_patch(obj, patch)
    else:
        raise ApiError(
            415, "UnsupportedMediaType",
            f'the patch type "{type}" is not supported by kube-tui (supported: {", ".join(PATCH_TYPES)})',
        )
    if not isinstance(result, dict):
        raise bad_request("the patch must produce an object")
    return result
