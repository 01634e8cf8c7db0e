"""Patches the API server applies: RFC 7386 JSON merge patch (kubectl patch --type=merge), RFC 6902 JSON
patch, and Kubernetes' strategic merge patch (kubectl's default, and what the real kubectl's apply sends);
and the three-way merge patch `kube-tui apply` computes on the client."""

from __future__ import annotations

import copy
import json
from typing import Any

from control.api.meta import LAST_APPLIED_ANNOTATION
from control.errors import ApiError, bad_request

PATCH_TYPES = ("merge", "json", "strategic")


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


# Lists whose items are matched by a key, as Kubernetes' strategic merge patch matches them (the
# patchMergeKey of the API types): an item the manifest names is merged into the live one, keeping
# what the server filled in (a container's defaults). "ports" is a container's (containerPort) or a
# Service's (port). Other lists are replaced whole.
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",), "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port"), "hostAliases": ("ip",), "topologySpreadConstraints": ("topologyKey",),
    "ownerReferences": ("uid",), "conditions": ("type",),
}
# Lists of scalars a strategic merge patch merges as sets (patchStrategy "merge" without a key).
MERGE_SETS = ("finalizers",)


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes' strategic merge patch (apimachinery's strategicpatch, for the kinds served here):
    a merge patch whose MERGE_KEYS lists merge item by item (an item the patch names is merged into the
    live one, a new one is appended) and whose MERGE_SETS lists gain their new values; the directives
    `$patch: replace|delete|merge`, `$setElementOrder/F`, `$deleteFromPrimitiveList/F` and `$retainKeys`
    do what they do in Kubernetes. Inputs are not mutated."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch", "merge")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    if directive != "merge":
        raise bad_request(f'strategic merge patch: unknown patch directive "$patch: {directive}": use replace, delete or merge')
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key == "$patch":
            continue
        if key.startswith("$setElementOrder/"):
            orders[key.partition("/")[2]] = value if isinstance(value, list) else []
        elif key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            gone = value if isinstance(value, list) else []
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in gone]
        elif key == "$retainKeys":
            continue  # applied below, after the fields are merged
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            merged = _strategic_list(key, result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            merged = strategic_merge_patch(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    for field, order in orders.items():
        if isinstance(result.get(field), list):
            live = target.get(field) if isinstance(target, dict) and isinstance(target.get(field), list) else []
            result[field] = _ordered(field, result[field], order, live)
    if "$retainKeys" in patch:
        keep = patch["$retainKeys"]
        if not isinstance(keep, list) or not all(isinstance(k, str) for k in keep):
            raise bad_request("strategic merge patch: $retainKeys must be a list of field names")
        result = {k: v for k, v in result.items() if k in set(keep)}
    return result


def _strategic_list(field: str, current: Any, patch: list[Any]) -> list[Any] | None:
    """One list of a strategic merge patch: merged by key, as a set, or (other lists) replaced."""
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
    if field in MERGE_SETS and all(not isinstance(i, dict | list) for i in patch):
        out = list(current) if isinstance(current, list) else []
        return out + [i for i in patch if i not in out]
    key = _merge_key(field, patch, current if isinstance(current, list) else [])
    if key is None:
        key = next((k for k in MERGE_KEYS.get(field, ()) if all(isinstance(i, dict) and k in i for i in patch)), None)
    if key is None:
        return [copy.deepcopy(i) for i in patch if not (isinstance(i, dict) and i.get("$patch"))]
    out = [copy.deepcopy(i) for i in current] if isinstance(current, list) else []
    for item in patch:
        at = next((n for n, have in enumerate(out) if isinstance(have, dict) and _same(key, have, item)), None)
        if item.get("$patch") == "delete":
            if at is not None:
                out.pop(at)
        elif at is None:
            out.append(strategic_merge_patch({}, item))
        else:
            out[at] = strategic_merge_patch(out[at], item)
    return out


def _same(key: str, a: dict, b: dict) -> bool:
    if key in ("containerPort", "port"):  # a port is its number and protocol, as in _merge_list
        return a.get(key) == b.get(key) and (a.get("protocol") or "TCP") == (b.get("protocol") or "TCP")
    return a.get(key) == b.get(key)


def _ordered(field: str, items: list[Any], order: list[Any], live: list[Any]) -> list[Any]:
    """$setElementOrder, as apimachinery's normalizeElementOrder: the items the patch orders, in its order,
    with the items only the server has inserted among them where they stood in the live list (each goes
    before the first ordered item that stood after it), keeping both groups' own order."""
    def ident(i: Any) -> str:
        if isinstance(i, dict):
            i = next((i.get(k) for k in MERGE_KEYS.get(field, ()) if k in i), i)
        return json.dumps(i, sort_keys=True, default=str)  # hashable, whatever the item is
    rank = {ident(o): n for n, o in enumerate(order)}
    at = {ident(i): n for n, i in enumerate(live)}
    ordered = sorted((i for i in items if ident(i) in rank), key=lambda i: rank[ident(i)])
    others = [i for i in items if ident(i) not in rank]
    out: list[Any] = []
    j = 0
    for item in others:
        mine = at.get(ident(item), len(live))
        while j < len(ordered) and at.get(ident(ordered[j]), -1) <= mine:
            out.append(ordered[j])
            j += 1
        out.append(item)
    return out + ordered[j:]


def three_way_merge_patch(original: dict | None, modified: dict, current: dict) -> dict:
    """The merge patch that makes `current` (the live object) what `modified` (the manifest) asks for,
    deleting only what `original` (the manifest applied last time) set and `modified` no longer does:
    kubectl apply's client-side three-way merge.

    What others set and neither manifest mentions (a pod's spec.nodeName, a controller's annotations,
    a Service's clusterIP, defaults) is left alone. Lists of MERGE_KEYS are merged item by item, as a
    strategic merge patch merges them (the patch carries the whole merged list, so it is only right
    against this `current`: send it with its resourceVersion); other lists are replaced whole. An empty
    patch means nothing to change.
    """
    return _union(_deletions(original or {}, modified), _changes(current, modified, original or {}))


def with_last_applied(obj: dict, *, empty_annotations: bool = False) -> dict:
    """A copy of the manifest carrying itself, as JSON, in the last-applied-configuration annotation
    (kubectl's form: compact, keys sorted, the annotation itself left out). With empty_annotations, an
    annotations map left empty stays in the JSON as {}, as kubectl apply, replace and create --save-config
    write it."""
    md = dict(obj.get("metadata") or {})
    notes = {k: v for k, v in (md.get("annotations") or {}).items() if k != LAST_APPLIED_ANNOTATION}
    keep = notes or empty_annotations
    bare = dict(obj, metadata=dict(md, annotations=notes) if keep else {k: v for k, v in md.items() if k != "annotations"})
    md["annotations"] = dict(notes, **{LAST_APPLIED_ANNOTATION: json.dumps(bare, sort_keys=True, separators=(",", ":")) + "\n"})
    return dict(obj, metadata=md)


def last_applied(obj: dict) -> dict | None:
    """The manifest last applied to obj, from its annotation; None if it has none (or it is unreadable)."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    try:
        out = json.loads(text) if text else None
    except ValueError:
        return None
    return out if isinstance(out, dict) else None


def _union(a: dict, b: dict) -> dict:
    """Both patches in one (b's value where both set a field), nulls kept: they are deletions."""
    out = dict(a)
    for key, value in b.items():
        have = out.get(key)
        out[key] = _union(have, value) if isinstance(have, dict) and isinstance(value, dict) else value
    return out


def _deletions(original: dict, modified: dict) -> dict:
    """null for every field of `original` that `modified` no longer has (maps compared key by key)."""
    out: dict[str, Any] = {}
    for key, value in original.items():
        if key not in modified:
            out[key] = None
        elif isinstance(value, dict) and isinstance(modified[key], dict):
            sub = _deletions(value, modified[key])
            if sub:
                out[key] = sub
    return out


def _changes(current: dict, modified: dict, original: dict) -> dict:
    """Every field of `modified` whose value `current` does not have (maps compared key by key)."""
    out: dict[str, Any] = {}
    for key, value in modified.items():
        have, was = current.get(key), original.get(key)
        if isinstance(value, dict) and isinstance(have, dict):
            sub = _changes(have, value, was if isinstance(was, dict) else {})
            if sub:
                out[key] = sub
            continue
        merge_key = _merge_key(key, value, have)
        if merge_key:
            value = _merge_list(merge_key, have, value, was if isinstance(was, list) else [])  # type: ignore[arg-type]
        if key not in current or have != value:
            out[key] = copy.deepcopy(value)
    return out


def _merge_key(field: str, modified: Any, current: Any) -> str | None:
    """The key that matches the items of these two lists, if the field has one and every item carries it."""
    if not isinstance(modified, list) or not isinstance(current, list):
        return None
    for k in MERGE_KEYS.get(field, ()):
        if all(isinstance(i, dict) and k in i for i in modified + current):
            return k
    return None


def _merge_list(k: str, current: list[dict], modified: list[dict], original: list[Any]) -> list[dict]:
    """The live list with the manifest's items merged in (in the manifest's order), the items the last
    manifest had and this one dropped removed, and items others added kept after them."""
    def ident(item: dict) -> Any:
        # A port is its number and protocol (TCP/53 and UDP/53 are two), as server-side apply keys it.
        return (item[k], item.get("protocol") or "TCP") if k in ("containerPort", "port") else item[k]

    live = {ident(c): c for c in current}
    before = {ident(o): o for o in original if isinstance(o, dict) and k in o}
    out = []
    for m in modified:
        c = live.get(ident(m))
        out.append(merge_patch(c, three_way_merge_patch(before.get(ident(m)), m, c)) if c is not None else m)
    named = {ident(m) for m in modified}
    out.extend(c for c in current if ident(c) not in named and ident(c) not in before)
    return out


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
    elif type == "strategic":
        result = strategic_merge_patch(obj, patch)
    else:
        raise ApiError(
            415, "UnsupportedMediaType",
            f'the patch type "{type}" is not supported by kube-tui (supported: {", ".join(PATCH_TYPES)})',
        )
    if not isinstance(result, dict):
        raise bad_request("the patch must produce an object")
    return result


# Maps whose strategic merge patches carry $retainKeys (patchStrategy "retainKeys": a Deployment's
# spec.strategy) and lists whose items do (a pod's volumes: "merge,retainKeys").
RETAIN_KEYS = ("strategy", "volumes")


def two_way_merge_patch(original: dict, modified: dict) -> dict:
    """The strategic merge patch that turns `original` into `modified` (apimachinery's
    CreateTwoWayMergePatch, as kubectl edit computes it): changed and new fields, null for a field removed,
    MERGE_KEYS lists item by item (a changed item with its key, a new one whole, a removed one as
    `$patch: delete`, and their order in `$setElementOrder/F`), MERGE_SETS lists as additions and
    `$deleteFromPrimitiveList/F`, other lists whole. What neither changed is not in it, so it applies over
    a concurrent change to other fields. An empty patch means no change."""
    return _diff_maps(original, modified, retain=False)


def _equal(a: Any, b: Any) -> bool:
    """Equal as JSON values (Go's DeepEqual of decoded JSON): 1, 1.0 and true are three values."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _diff_maps(original: dict, modified: dict, *, retain: bool) -> dict:
    patch: dict[str, Any] = {}
    for key, value in modified.items():
        if key not in original:
            patch[key] = copy.deepcopy(value)
            continue
        was = original[key]
        if isinstance(was, dict) and isinstance(value, dict):
            sub = _diff_maps(was, value, retain=key in RETAIN_KEYS)
            if sub:
                patch[key] = sub
        elif isinstance(was, list) and isinstance(value, list):
            _diff_lists(key, was, value, patch)
        elif not _equal(was, value):
            patch[key] = copy.deepcopy(value)
    for key in original:
        if key not in modified:
            patch[key] = None
    # as apimachinery: the fields to keep, when something changed or a field the original had is gone
    if retain and modified and (patch or any(k not in modified for k in original)):
        patch["$retainKeys"] = sorted(k for k, v in modified.items() if v is not None)
    return patch


def _diff_lists(field: str, original: list, modified: list, patch: dict) -> None:
    """One list of a two-way patch, written into `patch` (with its directives beside it)."""
    key = _merge_key(field, modified, original)
    if key is not None:
        changed, deleted = _diff_items(field, key, original, modified)
        if changed or deleted:
            patch[field] = changed + deleted
        if changed or deleted or [i[key] for i in original] != [i[key] for i in modified]:
            patch[f"$setElementOrder/{field}"] = [{key: i[key]} for i in modified]
    elif field in MERGE_SETS and all(not isinstance(i, dict | list) for i in original + modified):
        added = [i for i in modified if i not in original]
        gone = sorted((i for i in original if i not in modified), key=str)
        if added:
            patch[field] = added
        if gone:
            patch[f"$deleteFromPrimitiveList/{field}"] = gone
        if gone or not _equal(original, modified):
            patch[f"$setElementOrder/{field}"] = list(modified)
    elif not _equal(original, modified):
        patch[field] = copy.deepcopy(modified)


def _diff_items(field: str, key: str, original: list[dict], modified: list[dict]) -> tuple[list[dict], list[dict]]:
    """The changed and new items of a keyed list (in `modified`'s order), and a delete directive for each
    item gone (in the order of their keys, as apimachinery sorts them)."""
    before = {json.dumps(i[key], sort_keys=True): i for i in original}
    after = {json.dumps(i[key], sort_keys=True) for i in modified}
    changed: list[dict] = []
    for item in modified:
        was = before.get(json.dumps(item[key], sort_keys=True))
        if was is None:
            changed.append(copy.deepcopy(item))
            continue
        sub = _diff_maps(was, item, retain=field in RETAIN_KEYS)
        if sub:
            changed.append({**sub, key: item[key]})
    deleted = [{"$patch": "delete", key: i[key]} for k, i in sorted(before.items(), key=lambda kv: str(kv[1][key]))
               if k not in after]
    return changed, deleted
