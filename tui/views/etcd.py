"""The store's raw contents: keys as a tree by path segment, revisions, a value as YAML, earlier revisions.

The tree is built lazily (a directory's children appear when it is expanded) so 10,000 keys cost
nothing until looked at; keys changed in the last few seconds are highlighted.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from control.api import kinds
from control.errors import ApiError
from tui import printers
from tui.views.base import View

if TYPE_CHECKING:
    from tui.model import Changes, ClusterModel, RawKey

ROOT = "/registry/"
HOT_SECONDS = 3.0  # how long a changed key stays highlighted


def object_of_key(key: str) -> tuple[str, str, str] | None:
    """(kind, namespace, name) of a /registry/<resource>/[<ns>/]<name> key, or None."""
    parts = key.removeprefix(ROOT).split("/")
    try:
        info = kinds.lookup(parts[0])
    except ApiError:
        return None
    if info.namespaced and len(parts) == 3:
        return info.kind, parts[1], parts[2]
    if not info.namespaced and len(parts) == 2:
        return info.kind, "", parts[1]
    return None


def _tree_order(node: TreeNode[str]) -> tuple[bool, str]:
    data = node.data or ""
    return not data.endswith("/"), data


class EtcdView(View):
    title = "etcd"
    aliases = ("etcd", "store", "raw")
    BINDINGS = [
        Binding("left_square_bracket", "older", "Older rev"),
        Binding("right_square_bracket", "newer", "Newer rev"),
    ]

    def __init__(self, *, id: str = "etcd") -> None:
        super().__init__(id=id)
        self._dirs: dict[str, TreeNode[str]] = {}
        self._leaves: dict[str, TreeNode[str]] = {}
        self._populated: set[str] = set()
        self._hot: dict[str, float] = {}
        self._shown: list[dict] = []  # the selected key's revisions being looked at; [-1] is on screen
        self._key: str | None = None
        self._note = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="etcd-header", classes="caption")
        with Horizontal():
            tree: Tree[str] = Tree("/registry", data=ROOT, id="etcd-tree")
            tree.show_root = True
            self._dirs[ROOT] = tree.root
            yield tree
            with Vertical(id="etcd-detail"):
                yield Static("select a key", id="etcd-meta")
                with VerticalScroll(id="etcd-value-box"):
                    yield Static("", id="etcd-value", markup=False)

    @property
    def key_tree(self) -> Tree[str]:
        return self.query_one("#etcd-tree", Tree)

    def focus_main(self) -> None:
        self.key_tree.focus()

    # -- tree building ---------------------------------------------------------------------------------
    def _label(self, key: str, rk: RawKey | None, now: float) -> Text:
        name = key.rstrip("/").rsplit("/", 1)[-1]
        if rk is None:  # a directory
            return Text(f"{name}/", style="bold")
        hot = now - self._hot.get(key, -1e9) < HOT_SECONDS
        t = Text(name, style="black on yellow" if hot else "")
        t.append(f"  c{rk.create_revision} m{rk.mod_revision} v{rk.version}", style="dim")
        return t

    def _populate(self, prefix: str, model: ClusterModel) -> None:
        node = self._dirs.get(prefix)
        if node is None or prefix in self._populated:
            return
        self._populated.add(prefix)
        dirs: set[str] = set()
        leaves: list[str] = []
        for key in model.raw_keys:
            if key.startswith(prefix):
                rest = key[len(prefix):]
                seg, sep, _ = rest.partition("/")
                if sep:
                    dirs.add(prefix + seg + "/")
                else:
                    leaves.append(key)
        now = model.clock()
        for d in sorted(dirs):
            if d not in self._dirs:
                self._dirs[d] = self._add(node, d, self._label(d, None, now))
        for key in sorted(leaves):
            if key not in self._leaves:
                self._leaves[key] = self._add(node, key, self._label(key, model.raw_keys[key], now))

    @staticmethod
    def _add(parent: TreeNode[str], data: str, label: Text) -> TreeNode[str]:
        """A child in the tree's order (directories first, then keys, each by name), wherever it arrives."""
        leaf = not data.endswith("/")
        before = bisect.bisect_right(parent.children, (leaf, data), key=_tree_order)
        if leaf:
            return parent.add_leaf(label, data=data, before=before)
        return parent.add(label, data=data, before=before)

    def _place(self, key: str, model: ClusterModel, now: float) -> None:
        """Show a new or changed key in the tree, if its directory is already open."""
        rk = model.raw_keys.get(key)
        leaf = self._leaves.get(key)
        if rk is None:
            if leaf is not None:
                del self._leaves[key]
                parent = leaf.parent
                leaf.remove()
                self._prune(parent)
            return
        if leaf is not None:
            leaf.set_label(self._label(key, rk, now))
            return
        prefix = ROOT
        rest = key[len(ROOT):]
        while prefix in self._populated:
            seg, sep, rest = rest.partition("/")
            if not sep:
                self._leaves[key] = self._add(self._dirs[prefix], key, self._label(key, rk, now))
                return
            child = prefix + seg + "/"
            if child not in self._dirs:
                self._dirs[child] = self._add(self._dirs[prefix], child, self._label(child, None, now))
            prefix = child

    def _prune(self, node: TreeNode[str] | None) -> None:
        while node is not None and node.data != ROOT and not node.children:
            self._dirs.pop(node.data or "", None)
            self._populated.discard(node.data or "")
            parent = node.parent
            node.remove()
            node = parent

    def _drop_empty_dirs(self, candidates: set[str], model: ClusterModel) -> None:
        """Remove the directories, of those given, that no key lives under any more. A directory never
        expanded has no leaves to lose, so _prune alone would leave it standing."""
        candidates &= self._dirs.keys() - {ROOT}
        if not candidates:
            return
        live: set[str] = set()
        for key in model.raw_keys:
            cut = len(ROOT)
            while (cut := key.find("/", cut) + 1) > 0:
                live.add(key[:cut])
        for d in sorted(candidates - live, key=len):  # a parent first: its removal takes its children
            node = self._dirs.get(d)
            if node is None:
                continue
            for gone in [x for x in self._dirs if x.startswith(d)]:
                del self._dirs[gone]
                self._populated.discard(gone)
            for gone in [x for x in self._leaves if x.startswith(d)]:
                del self._leaves[gone]
            parent = node.parent
            node.remove()
            self._prune(parent)

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[str]) -> None:
        if event.node.data:
            self._populate(event.node.data, self.app.model)  # type: ignore[attr-defined]

    # -- View ---------------------------------------------------------------------------------------
    def refresh_all(self, model: ClusterModel) -> None:
        # Changes reach only the view on screen, so whatever came and went while another view was
        # showing (a DaemonSet's first key: a new daemonsets/ directory) is found here.
        now = model.clock()
        if ROOT not in self._populated:
            self._populate(ROOT, model)
            self.key_tree.root.expand()
        for key in list(self._leaves):
            self._place(key, model, now)
        for key in model.raw_keys:
            if key not in self._leaves:
                self._place(key, model, now)
        self._drop_empty_dirs(set(self._dirs), model)
        self._header(model)

    def apply(self, changes: Changes, model: ClusterModel) -> None:
        now = model.clock()
        emptied: set[str] = set()
        for key in changes.raw:
            self._hot[key] = model.raw_changed_at.get(key, now)
            self._place(key, model, now)
            if key not in model.raw_keys:
                emptied.update(key[:i + 1] for i in range(len(ROOT), len(key)) if key[i] == "/")
        self._drop_empty_dirs(emptied, model)
        for key, t in list(self._hot.items()):
            if now - t >= HOT_SECONDS:
                del self._hot[key]
                if key in self._leaves and key in model.raw_keys:
                    self._leaves[key].set_label(self._label(key, model.raw_keys[key], now))
        if self._key in changes.raw and len(self._shown) <= 1:
            self.show_key(self._key)
        self._header(model)

    def _header(self, model: ClusterModel) -> None:
        raw = model.raw
        extra = f" · compacted at {raw.compact_revision}" if raw is not None and raw.compact_revision else ""
        self.query_one("#etcd-header", Static).update(
            f"[b]etcd[/]  revision {model.revision} · {len(model.raw_keys)} keys{extra}   "
            "[dim]yellow: changed in the last 3 s · [ ] walk a key's revisions[/]")

    def selected(self) -> tuple[str, dict] | None:
        ref = object_of_key(self._key or "")
        if ref is None:
            return None
        obj = self.app.model.get(*ref)  # type: ignore[attr-defined]
        return (ref[0], obj) if obj is not None else None

    # -- the selected key ----------------------------------------------------------------------------
    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        data = event.node.data or ""
        if data and not data.endswith("/"):
            self.show_key(data)

    def show_key(self, key: str) -> None:
        self._key = key
        self._shown = []
        self._note = ""
        self._fetch(key, 0)

    @work(exclusive=True, group="etcd-value")
    async def _fetch(self, key: str, revision: int) -> None:
        model: Any = self.app.model  # type: ignore[attr-defined]
        try:
            kv = await model.raw_value(key, revision)
        except ApiError as e:
            self._note = f"revision {revision}: compacted ({e.message})" if e.code == 410 else f"error: {e.message}"
            self._show_value()
            return
        if kv is None:
            if revision:
                first = self._shown[-1]["create_revision"] if self._shown else "?"
                self._note = f"no earlier revision: the key was created at revision {first}"
            else:
                self._note = "the key no longer exists"
        else:
            self._note = ""
            self._shown.append(kv)
        self._show_value()

    def _show_value(self) -> None:
        if not self._shown:
            self.query_one("#etcd-meta", Static).update(f"[b]{self._key}[/]\n{self._note}")
            self.query_one("#etcd-value", Static).update("")
            return
        kv = self._shown[-1]
        which = "current" if len(self._shown) == 1 else f"{len(self._shown) - 1} back from current"
        meta = (f"[b]{kv['key']}[/]\ncreate_revision {kv['create_revision']} · mod_revision {kv['mod_revision']} · "
                f"version {kv['version']}" + (f" · lease {kv['lease']}" if kv.get("lease") else "") + f"  [dim]({which})[/]")
        if self._note:
            meta += f"\n[yellow]{self._note}[/]"
        self.query_one("#etcd-meta", Static).update(meta)
        value = kv.get("value")
        self.query_one("#etcd-value", Static).update(printers.to_yaml(value) if value is not None else "(no value)")

    def action_older(self) -> None:
        if not self._shown or self._key is None:
            return
        kv = self._shown[-1]
        if kv["mod_revision"] <= kv["create_revision"]:
            self._note = f"no earlier revision: the key was created at revision {kv['create_revision']}"
            self._show_value()
            return
        self._fetch(self._key, kv["mod_revision"] - 1)

    def action_newer(self) -> None:
        if len(self._shown) > 1:
            self._shown.pop()
            self._note = ""
            self._show_value()
