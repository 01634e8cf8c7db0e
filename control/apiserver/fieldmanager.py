"""Server-side apply (KEP-555): who owns which fields of an object (metadata.managedFields in FieldsV1), the
merge of an applied configuration by the schema's list and map types, and conflicts between managers, as
kube-apiserver's fieldmanager does it with sigs.k8s.io/structured-merge-diff.

A field set is a Python set of paths; a path is a tuple of FieldsV1 keys ("f:spec", 'k:{"name":"nginx"}',
'v:"a"', "i:0"). Only objects with an Apply manager pay for field sets on ordinary writes (record())."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from control import errors
from control.api import meta, openapi

Path = tuple[str, ...]
FieldSet = set[Path]

APPLY, UPDATE = "Apply", "Update"
MAX_UPDATE_MANAGERS = 10  # kube-apiserver's cap: older Update managers are merged into "ancient-changes"
ANCIENT = "ancient-changes"
BEFORE_FIRST_APPLY = "before-first-apply"
# Key fields of associative lists that the API server defaults (an applied port without a protocol is TCP's).
KEY_DEFAULTS = {"protocol": "TCP"}
# Fields no manager owns (structured-merge-diff's stripMeta), and what a main-resource write never owns.
STRIPPED: frozenset[Path] = frozenset({
    ("f:apiVersion",), ("f:kind",), ("f:metadata",),
    *(("f:metadata", f"f:{f}") for f in ("name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
                                           "generation", "managedFields", "resourceVersion", "deletionTimestamp",
                                           "deletionGracePeriodSeconds")),
})

_ABSENT: Any = object()  # a field a value does not have (None is a null)


# -- the schema: what kind of node each field is ----------------------------------------------------------------
@dataclass
class Node:
    """One place in a kind's schema, as structured-merge-diff sees it: a struct (named fields), a map (any
    keys), a list (atomic, set or map by keys) or a scalar; `atomic` means it is replaced, never merged."""

    shape: str  # "struct", "map", "list", "scalar"
    atomic: bool = False
    fields: dict[str, Any] = field(default_factory=dict)  # struct: property -> raw schema
    elem: Any = None  # map values' or list items' raw schema
    list_type: str = "atomic"  # "atomic", "set", "map"
    keys: tuple[str, ...] = ()

    def child(self, name: str) -> Node:
        return node_of(self.fields.get(name, self.elem) if self.shape == "struct" else self.elem)


# by id() of the raw schema, which is kept too: a dict that is freed (root_of's) gives its id to the next one
_NODES: dict[int, tuple[Any, Node]] = {}
_ROOTS: dict[str, dict] = {}  # each kind's {"$ref": ...}, made once
_UNKNOWN = Node("map")  # no schema: a map is merged key by key, a list replaced (structured-merge-diff's deduced)


def node_of(raw: Any) -> Node:
    """The Node of a raw schema (a property's, with its $ref or allOf followed), kept per schema."""
    if not isinstance(raw, dict):
        return _UNKNOWN
    known = _NODES.get(id(raw))
    if known is not None:
        return known[1]
    s = dict(raw)
    for ref in [raw.get("$ref"), *[a.get("$ref") for a in raw.get("allOf") or () if isinstance(a, dict)]]:
        target = openapi.resolve(ref) if isinstance(ref, str) else None
        if target is not None:
            s = {**target, **{k: v for k, v in raw.items() if k.startswith("x-kubernetes-")}}
    atomic = s.get("x-kubernetes-map-type") == "atomic"
    if s.get("properties"):
        add = s.get("additionalProperties")
        node = Node("struct", atomic, s["properties"], add if isinstance(add, dict) else None)
    elif s.get("type") == "array":
        list_type = s.get("x-kubernetes-list-type")
        keys = tuple(s.get("x-kubernetes-list-map-keys") or ())
        if list_type is None:  # kube-openapi's reading of a strategic-merge-only list
            merge_key = s.get("x-kubernetes-patch-merge-key")
            merging = "merge" in str(s.get("x-kubernetes-patch-strategy") or "")
            list_type = ("map" if merge_key else "set") if merging else "atomic"
            keys = (merge_key,) if merge_key else ()
        node = Node("list", list_type == "atomic", elem=s.get("items"), list_type=list_type, keys=keys)
    elif s.get("type") == "object" or "additionalProperties" in s:
        add = s.get("additionalProperties")
        node = Node("map", atomic, elem=add if isinstance(add, dict) else None)
    else:
        node = Node("scalar", True)
    _NODES[id(raw)] = (raw, node)
    return node


def root_of(api_version: str, kind: str) -> Node:
    name = openapi.schema_of(api_version, kind)
    return node_of(_ROOTS.setdefault(name, {"$ref": openapi.PREFIX + name})) if name else _UNKNOWN


# -- path elements ----------------------------------------------------------------------------------------------
def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def item_element(node: Node, index: int, item: Any) -> str:
    """The path element of a list item: by its keys (k:), its value (v:), or where it is (i:)."""
    if node.list_type == "map" and isinstance(item, dict):
        key = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in node.keys}
        return "k:" + _json({k: v for k, v in key.items() if v is not None})
    if node.list_type == "set" and not isinstance(item, dict | list):
        return "v:" + _json(item)
    return f"i:{index}"


def _items(node: Node, items: Any) -> dict[str, Any]:
    """A list's items by path element, in order; a repeated element counts once (the first)."""
    out: dict[str, Any] = {}
    for i, item in enumerate(items if isinstance(items, list) else ()):
        out.setdefault(item_element(node, i, item), item)
    return out


def _is_leaf(node: Node, value: Any) -> bool:
    if node.atomic or node.shape == "scalar":
        return True
    return not isinstance(value, list if node.shape == "list" else dict)


# -- field sets of values ---------------------------------------------------------------------------------------
def fields_of(value: Any, node: Node, path: Path = (), out: FieldSet | None = None) -> FieldSet:
    """The fields an applied configuration sets (structured-merge-diff's ToFieldSet): its leaves, its list
    items, and the keys of its maps; an atomic list or map is one leaf."""
    out = set() if out is None else out
    if _is_leaf(node, value):
        out.add(path)
    elif node.shape == "list":
        for pe, item in _items(node, value).items():
            p = (*path, pe)
            fields_of(item, node_of(node.elem), p, out)
            out.add(p)
    else:
        for k, v in value.items():
            p = (*path, f"f:{k}")
            fields_of(v, node.child(k), p, out)
            if node.shape != "struct" or k not in node.fields:
                out.add(p)
    return out


def _all(value: Any, node: Node, path: Path, out: FieldSet) -> None:
    """Every field of a value, its maps and list items included (what is added or removed with it)."""
    out.add(path)
    if _is_leaf(node, value):
        return
    if node.shape == "list":
        for pe, item in _items(node, value).items():
            _all(item, node_of(node.elem), (*path, pe), out)
    else:
        for k, v in value.items():
            _all(v, node.child(k), (*path, f"f:{k}"), out)


@dataclass
class Comparison:
    added: FieldSet = field(default_factory=set)
    modified: FieldSet = field(default_factory=set)
    removed: FieldSet = field(default_factory=set)

    def changed(self) -> FieldSet:
        return self.added | self.modified


def compare(old: Any, new: Any, node: Node, path: Path = (), out: Comparison | None = None) -> Comparison:
    """What changed from `old` to `new`, field by field (structured-merge-diff's Compare). Equal parts are
    skipped whole, so a small change to a big object costs little."""
    out = Comparison() if out is None else out
    if old is new or old == new:
        return out
    if old is _ABSENT:
        _all(new, node, path, out.added)
    elif new is _ABSENT:
        _all(old, node, path, out.removed)
    elif _is_leaf(node, old) or _is_leaf(node, new) or type(old) is not type(new):
        out.modified.add(path)
    elif node.shape == "list":
        a, b = _items(node, old), _items(node, new)
        elem = node_of(node.elem)
        for pe in {**a, **b}:
            compare(a.get(pe, _ABSENT), b.get(pe, _ABSENT), elem, (*path, pe), out)
    else:
        for k in {**old, **new}:
            compare(old.get(k, _ABSENT), new.get(k, _ABSENT), node.child(k), (*path, f"f:{k}"), out)
    return out


# -- merge and removal ------------------------------------------------------------------------------------------
def merge(live: Any, config: Any, node: Node) -> Any:
    """The applied configuration merged into the live value: maps and structs key by key, associative lists
    item by item by their keys, sets value by value; atomic lists and maps and scalars are replaced."""
    if live is _ABSENT or live is None or _is_leaf(node, live) or _is_leaf(node, config) \
            or type(live) is not type(config):
        return config
    if node.shape == "list":
        return _merge_list(live, config, node)
    out = dict(live)
    for k, v in config.items():
        out[k] = merge(live.get(k, _ABSENT), v, node.child(k))
    return out


def _merge_list(live: list, config: list, node: Node) -> list:
    """structured-merge-diff's order: the applied items in their order, each live-only item kept where it was
    relative to the shared ones."""
    lhs, rhs = _items(node, live), _items(node, config)
    elem = node_of(node.elem)
    lorder, rorder = list(lhs), list(rhs)
    shared = [pe for pe in rorder if pe in lhs]
    nxt = shared.pop(0) if shared else None
    out: list = []
    li = ri = 0
    while li < len(lorder) or ri < len(rorder):
        if li < len(lorder) and ri < len(rorder):
            pe = lorder[li]
            if pe == rorder[ri]:
                out.append(merge(lhs[pe], rhs[pe], elem))
                li, ri = li + 1, ri + 1
                nxt = shared.pop(0) if shared else None
                continue
            if pe in rhs and nxt is not None and nxt != pe:
                li += 1  # a shared item, merged when the applied order reaches it
                continue
        if li < len(lorder) and lorder[li] not in rhs:
            out.append(lhs[lorder[li]])
            li += 1
            continue
        if ri < len(rorder):
            pe = rorder[ri]
            out.append(merge(lhs.get(pe, _ABSENT), rhs[pe], elem))
            ri += 1
            if nxt == pe:
                nxt = shared.pop(0) if shared else None
    return out


def remove(obj: dict, paths: Iterable[Path], node: Node) -> None:
    """Take these fields (or list items) out of the object, in place: parents first (a list item's key
    fields name it until it goes). A list or map left empty goes too, as Kubernetes' omitempty drops it."""
    for path in sorted(paths, key=len):
        _remove(obj, path, node)


def _remove(value: Any, path: Path, node: Node) -> None:
    if not path:
        return
    pe, rest = path[0], path[1:]
    if node.shape == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            if item_element(node, i, item) == pe:
                if rest:
                    _remove(item, rest, node_of(node.elem))
                else:
                    del value[i]
                return
    elif isinstance(value, dict) and pe.startswith("f:") and pe[2:] in value:
        name = pe[2:]
        if rest:
            _remove(value[name], rest, node.child(name))
            if value[name] in ([], {}) and node.child(name).shape in ("list", "map"):
                del value[name]
        else:
            del value[name]


# -- FieldsV1 ---------------------------------------------------------------------------------------------------
def _order(pe: str) -> tuple[int, str]:
    return ({".": 0, "f": 1, "k": 2, "v": 3, "i": 4}.get(pe[0], 5), pe)


def to_fields_v1(paths: Iterable[Path]) -> dict:
    """A field set in Kubernetes' FieldsV1 form: {"f:spec": {"f:replicas": {}}}, with ".": {} marking a
    member that also has members under it."""
    tree: dict = {}
    members: list[dict] = []
    for path in paths:
        if not path:
            continue
        cur = tree
        for pe in path:
            cur = cur.setdefault(pe, {})
        members.append(cur)
    for m in members:
        if m:
            m["."] = {}

    def ordered(d: dict) -> dict:
        return {k: ordered(d[k]) for k in sorted(d, key=_order)}

    return ordered(tree)


def from_fields_v1(tree: Any, path: Path = (), out: FieldSet | None = None) -> FieldSet:
    out = set() if out is None else out
    if not isinstance(tree, dict):
        return out
    if path and (not tree or "." in tree):
        out.add(path)
    for pe, sub in tree.items():
        if pe != ".":
            from_fields_v1(sub, (*path, pe), out)
    return out


def path_string(path: Path) -> str:
    """A path as structured-merge-diff prints one: .spec.containers[name="nginx"].image."""
    parts = []
    for pe in path:
        kind, text = pe[0], pe[2:]
        if kind == "f":
            parts.append(f".{text}")
        elif kind == "k":
            key = json.loads(text)
            parts.append("[" + ",".join(f"{k}={_go_json(v)}" for k, v in key.items()) + "]")
        elif kind == "v":
            parts.append(f"[={_go_json(json.loads(text))}]")
        else:
            parts.append(f"[{text}]")
    return "".join(parts)


def _go_json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


# -- managers ---------------------------------------------------------------------------------------------------
@dataclass
class Manager:
    entry: dict  # the managedFields entry as stored (fieldsV1 re-encoded only when `fields` changed)
    fields: FieldSet
    changed: bool = False

    @property
    def ident(self) -> tuple[str, str, str]:
        e = self.entry
        return str(e.get("manager", "")), str(e.get("operation", "")), str(e.get("subresource", ""))

    def describe(self) -> str:
        """As kube-apiserver names a manager in a conflict: "kubectl-scale" using apps/v1."""
        e = self.entry
        text = json.dumps(str(e.get("manager", "")))
        if e.get("subresource"):
            text += f" with subresource {json.dumps(e['subresource'])}"
        if e.get("operation") == UPDATE:
            text += f" using {e.get('apiVersion', '')}"
        return text

    def entry_out(self) -> dict:
        if not self.changed:
            return self.entry
        out = {k: v for k, v in self.entry.items() if k not in ("fieldsType", "fieldsV1")}
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = to_fields_v1(self.fields)
        return out


def managers_of(obj: dict) -> list[Manager]:
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return [Manager(e, from_fields_v1(e.get("fieldsV1"))) for e in entries if isinstance(e, dict)]


def has_applier(obj: dict | None) -> bool:
    """Whether an object has an Apply manager: only then do ordinary writes record their fields."""
    entries = ((obj or {}).get("metadata") or {}).get("managedFields") or ()
    return any(isinstance(e, dict) and e.get("operation") == APPLY for e in entries)


def _kept(path: Path, owned: FieldSet) -> bool:
    """Whether a field an applier dropped stays: someone owns it, or it is a field with something owned under
    it. A list item stays only when the item itself is owned: structured-merge-diff's prune removes a
    container whose image another manager set, rather than leave the image without the container's name."""
    if path in owned:
        return True
    n = len(path)
    return path[-1].startswith("f:") and any(p[:n] == path for p in owned)


def _strip(fields: FieldSet, subresource: str) -> FieldSet:
    """What no manager owns: identity metadata; and, by subresource, status or everything but status."""
    out = {p for p in fields if p not in STRIPPED}
    if subresource == "status":
        return {p for p in out if p[:1] == ("f:status",)}
    return {p for p in out if p[:1] != ("f:status",)}


def _keep_manager_list(managers: list[Manager]) -> list[dict]:
    """The entries to store: managers that own nothing go; past MAX_UPDATE_MANAGERS Update managers the oldest
    are merged into one "ancient-changes" entry, as kube-apiserver's capManagers."""
    # one that owns nothing goes; an entry from before field sets (manager and time only) stays
    kept = [m for m in managers if m.fields or not (m.changed or "fieldsV1" in m.entry)]
    updates = [m for m in kept if m.entry.get("operation") == UPDATE]
    if len(updates) > MAX_UPDATE_MANAGERS:
        old = updates[: len(updates) - MAX_UPDATE_MANAGERS + 1]
        ancient = next((m for m in old if m.entry.get("manager") == ANCIENT), None)
        fields: FieldSet = set().union(*(m.fields for m in old))
        merged = Manager({"manager": ANCIENT, "operation": UPDATE, "apiVersion": old[-1].entry.get("apiVersion"),
                          "time": (ancient or old[-1]).entry.get("time")}, fields, True)
        gone = {id(m) for m in old}
        kept = [merged] + [m for m in kept if id(m) not in gone]
    return [m.entry_out() for m in kept]


# -- the two operations -----------------------------------------------------------------------------------------
def apply(live: dict | None, config: dict, *, manager: str, force: bool, subresource: str = "") -> dict:
    """Server-side apply of `config` to `live` (None: it does not exist yet) by `manager`: the object to store,
    its metadata.managedFields set. A field another manager owns with a different value is a 409 Conflict
    unless `force`, which takes it over; fields this manager applied before and applies no more are removed
    when no other manager owns them."""
    api_version, kind = str(config.get("apiVersion", "")), str(config.get("kind", ""))
    node = root_of(api_version, kind)
    config = {k: v for k, v in config.items() if k != "status" or subresource == "status"}
    md = config.get("metadata")
    if isinstance(md, dict):
        if md.get("managedFields") is not None:  # kube-apiserver's words: an applier states fields, not owners
            raise errors.bad_request("metadata.managedFields must be nil")
        config["metadata"] = {k: v for k, v in md.items() if k != "resourceVersion"}
    # the result shares nothing with `live` (removal changes it in place)
    base = copy.deepcopy(live) if live is not None else {"apiVersion": api_version, "kind": kind, "metadata": {}}
    managers = managers_of(base)
    if live is not None and not any("fieldsV1" in m.entry for m in managers):
        # kube-apiserver's before-first-apply: an object nobody applied yet belongs as a whole to one manager
        everything: FieldSet = set()
        _all(live, node, (), everything)
        managers = [Manager({"manager": BEFORE_FIRST_APPLY, "operation": UPDATE, "apiVersion": api_version,
                             "time": meta.now()}, _strip(everything - {()}, subresource), True)]
    mine_id = (manager, APPLY, subresource)
    mine = next((m for m in managers if m.ident == mine_id), None)
    applied = _strip(fields_of(config, node), subresource)
    merged = merge(base, config, node)
    if mine is not None:
        owned: FieldSet = applied.union(*(m.fields for m in managers if m is not mine))
        remove(merged, {p for p in mine.fields - applied if not _kept(p, owned)}, node)
    cmp = compare(base, merged, node)
    changes, removed = _strip(cmp.changed(), subresource), _strip(cmp.removed, subresource)
    conflicts = [(m, p) for m in managers if m is not mine for p in sorted(m.fields & changes)]
    if conflicts and not force:
        raise conflict_error(conflicts)
    for m in managers:  # what changed hands (forced) or is gone is no longer theirs
        if m is not mine and m.fields & (changes | removed):
            m.fields = m.fields - changes - removed
            m.changed = True
    unchanged = mine is not None and mine.fields == applied and _same(base, merged)
    entry = {"manager": manager, "operation": APPLY, "apiVersion": api_version,
             "time": mine.entry.get("time") if unchanged and mine is not None else meta.now()}
    if subresource:
        entry["subresource"] = subresource
    me = Manager(entry, applied, True)
    if unchanged and mine is not None:
        me = mine
    merged.setdefault("metadata", {})["managedFields"] = _keep_manager_list(
        [m for m in managers if m is not mine] + [me])
    return merged


def _same(a: dict, b: dict) -> bool:
    def bare(o: dict) -> dict:
        md = {k: v for k, v in (o.get("metadata") or {}).items() if k not in ("managedFields", "resourceVersion")}
        return {**o, "metadata": md}

    return bare(a) == bare(b)


def conflict_error(conflicts: list[tuple[Manager, Path]]) -> errors.ApiError:
    """409 Conflict in kube-apiserver's words, one FieldManagerConflict cause per field."""
    causes = [{"type": "FieldManagerConflict", "message": f"conflict with {m.describe()}", "field": path_string(p)}
              for m, p in conflicts]
    if len(conflicts) == 1:
        m, p = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {m.describe()}: {path_string(p)}"
    else:
        by: dict[str, list[str]] = {}
        for m, p in conflicts:
            by.setdefault(m.describe(), []).append(path_string(p))
        lines = []
        for who in sorted(by):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {p}" for p in by[who])
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, {"causes": causes})


def record(obj: dict, old: dict | None, manager: str, subresource: str = "") -> bool:
    """An Update (create, update, patch) by `manager` of an object that has an Apply manager: its entry gains
    the fields it added or changed and loses those it removed, and other managers lose what it changed (an
    Update always wins) and what it removed. False, touching nothing, when `old` has no Apply manager: the caller records the
    writer without field sets, which costs nothing per write."""
    if old is None or not has_applier(old):
        return False
    node = root_of(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    cmp = compare(old, obj, node)
    changed, removed = _strip(cmp.changed(), subresource), _strip(cmp.removed, subresource)
    managers = managers_of(old)
    ident = (manager, UPDATE, subresource)
    mine = next((m for m in managers if m.ident == ident), None)
    for m in managers:  # what it changed is its own now, what it removed nobody's
        if m is not mine and m.fields & (changed | removed):
            m.fields = m.fields - changed - removed
            m.changed = True
    fields = ((mine.fields if mine is not None else set()) | changed) - removed
    entry = {"manager": manager, "operation": UPDATE, "apiVersion": obj.get("apiVersion"), "time": meta.now()}
    if subresource:
        entry["subresource"] = subresource
    obj.setdefault("metadata", {})["managedFields"] = _keep_manager_list(
        [m for m in managers if m is not mine] + [Manager(entry, fields, True)])
    return True


def written_managed_fields(new: Any, live: Any) -> list | None:
    """The metadata.managedFields an update or patch of the main resource sets, as kube-apiserver's
    decodeLiveOrNew takes them: [{}] resets them (the documented way to clear them); entries that differ
    from the live ones replace them (kubectl apply --server-side moves kubectl-client-side-apply's fields to
    its own Apply entry so); anything else (absent, [], not entries) keeps the live ones: None."""
    if new == [{}]:
        return []
    if not isinstance(new, list) or not new or new == live:
        return None
    for e in new:
        if (not isinstance(e, dict) or not isinstance(e.get("manager"), str)
                or e.get("operation") not in (APPLY, UPDATE) or not isinstance(e.get("fieldsV1", {}), dict)):
            return None
    return new


def check_options(patch_type: str, manager: Any, force: Any) -> None:
    """PatchOptions as kube-apiserver validates them: an apply names its field manager; force is for applies."""
    if force is not None and not isinstance(force, bool):
        raise errors.bad_request(f'force: not true or false: "{force}"')
    if patch_type == "apply" and not manager:
        raise _invalid_options(errors.FieldError("fieldManager", "Required value", "is required for apply patch"))
    if force and patch_type != "apply":
        raise _invalid_options(errors.FieldError("force", "Forbidden", "may not be specified for non-apply patch"))
    if manager is not None and not isinstance(manager, str):
        raise errors.bad_request("fieldManager: must be a string, the name of the manager (e.g. kubectl)")


def _invalid_options(e: errors.FieldError) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", f'PatchOptions.meta.k8s.io "" is invalid: {e}',
                           {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [e.cause()]})
