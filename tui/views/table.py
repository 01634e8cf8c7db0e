"""A DataTable kept in sync with a cache by difference: rows keyed by object uid, only changed cells touched.

Three shortcuts keep 10,000 rows cheap in Textual's DataTable: columns have fixed widths, so new rows
need no measuring (`_update_dimensions`); removals are batched (`remove_rows`) instead of re-indexing
the whole table once per removed row; and a changed row that is off screen is only remembered, and
written into the table when it scrolls into view (every cell write invalidates the table's render
caches, so 500 writes a tick for rows nobody sees would cost a full repaint each).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, RowKey

from control.informer import Key
from tui.views.rows import Cell, TableSpec, row_text, spec_for

if TYPE_CHECKING:
    from tui.model import ClusterModel


class FastTable(DataTable):
    """DataTable with fixed-width columns, batched row removal and a quick path for one-line cells.

    A column added with `fit` still has a width set in advance, but grows (never shrinks) to show a
    longer value whole, up to `fit` cells: names, which truncated can make two pods look the same."""

    _fast_cells = True
    _geometry = 0  # bumped when rows are added, removed or reordered (not when a cell changes)
    _geometry_cache: tuple[tuple[int, int], list, list] | None = None
    _fit: tuple[tuple[int, ColumnKey, int], ...] = ()  # (index, key, most cells) of the columns that grow

    def add_column(self, label: Any, *, width: int | None = None, key: str | None = None, default: Any = None,
                   fit: int = 0) -> ColumnKey:
        column_key = super().add_column(label, width=width, key=key, default=default)
        if fit and width is not None:
            self._fit = (*self._fit, (len(self.columns) - 1, column_key, fit))
        return column_key

    def _grow_to(self, column_key: ColumnKey, value: Any, most: int) -> bool:
        column = self.columns[column_key]
        need = min(most, value.cell_len if isinstance(value, Text) else cell_len(str(value)))
        if need <= column.width:
            return False
        column.width = need
        return True

    def _widened(self) -> None:
        # every cached line was cut to the old widths; the virtual width changes too
        self._clear_caches()
        self._require_update_dimensions = True
        self.refresh()

    # DataTable recomputes row order and line offsets (O(rows)) after every cell update; with rows of
    # height 1 they only change when rows are added, removed or sorted.
    def _geometry_key(self) -> tuple[int, int]:
        return (self.row_count, self._geometry)

    @property
    def ordered_rows(self) -> list:  # type: ignore[override]
        cache = self._geometry_cache
        if cache is None or cache[0] != self._geometry_key():
            rows = [self.rows[self._row_locations.get_key(i)] for i in range(self.row_count)]
            offsets = [(row.key, y) for row in rows for y in range(row.height)]
            cache = self._geometry_cache = (self._geometry_key(), rows, offsets)
        return cache[1]

    @property
    def _y_offsets(self) -> list:  # type: ignore[override]
        self.ordered_rows  # noqa: B018 - refreshes the cache
        assert self._geometry_cache is not None
        return self._geometry_cache[2]

    # (bumped after the change too: anything cached while DataTable was mid-change is dropped)
    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None, label: Any = None) -> RowKey:
        if any([self._grow_to(k, cells[i], most) for i, k, most in self._fit if i < len(cells)]):
            self._widened()
        self._geometry += 1
        try:
            return super().add_row(*cells, height=height, key=key, label=label)
        finally:
            self._geometry += 1

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        for _, k, most in self._fit:
            if k == column_key and self._grow_to(k, value, most):
                self._widened()

    def remove_row(self, row_key: RowKey | str) -> None:
        self._geometry += 1
        try:
            super().remove_row(row_key)
        finally:
            self._geometry += 1

    def sort(self, *columns: Any, key: Any = None, reverse: bool = False) -> Any:
        self._geometry += 1
        try:
            return super().sort(*columns, key=key, reverse=reverse)
        finally:
            self._geometry += 1

    def clear(self, columns: bool = False) -> Any:
        self._geometry += 1
        try:
            return super().clear(columns)
        finally:
            self._geometry += 1

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        """Render a one-line body cell straight to segments.

        DataTable renders each cell through Rich's full layout (markup parsing, Padding, Styled,
        render_lines): ~150 µs a cell, 60-150 ms for a screen of rows, paid again after every update.
        A one-line cell is just its text cropped and padded to the column, with the same styles
        (pre = base + component, post from the cursor's CSS priority) and the same cache key.
        """
        if not self._fast_cells or row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        try:
            row_key = self._row_locations.get_key(row_index)
            column_key = self._column_locations.get_key(column_index)
            cache_key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor,
                         self._update_count, self._pseudo_class_state)
            cached = self._cell_render_cache.get(cache_key)
            if cached is not None:
                return cached
            if self.rows[row_key].height != 1:
                return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            component_style, post_style = self._get_styles_to_render_cell(
                False, False, row_index < self.fixed_rows or column_index < self.fixed_columns, hover, cursor,
                self.show_cursor, self._show_hover_cursor, self.cursor_foreground_priority == "css",
                self.cursor_background_priority == "css")
        except (AttributeError, KeyError, TypeError):  # a Textual whose internals moved: use its own path
            self._fast_cells = False
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        style = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component_style
        value = self._data[row_key][column_key]
        text = value.copy() if isinstance(value, Text) else Text(str(value))
        pad = self.cell_padding
        text.truncate(max(0, width - 2 * pad), overflow="ellipsis", pad=True)
        segments = [Segment(" " * pad, style)]
        segments.extend(Segment(seg.text, style + seg.style if seg.style else style) for seg in text.render(self.app.console, end=""))
        segments.append(Segment(" " * pad, style))
        if post_style:
            segments = [Segment(seg.text, (seg.style or Style()) + post_style) for seg in segments]
        lines = [segments]
        self._cell_render_cache[cache_key] = lines
        return lines

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        if any(c.auto_width for c in self.columns.values()) or any(self.rows[k].label is not None for k in new_rows if k in self.rows):
            super()._update_dimensions(new_rows)
            return
        # Fixed widths: nothing to measure, only the virtual size changes.
        width = sum(c.get_render_width(self) for c in self.columns.values()) + self._row_label_column_width
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self._total_row_height + header)

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Remove many rows with one re-index (DataTable.remove_row re-indexes all rows per call)."""
        doomed = {RowKey(k) for k in keys if k in self._row_locations}
        if len(doomed) <= 2:
            for k in doomed:
                self.remove_row(k)
            return
        kept = sorted((self._row_locations.get(k), k) for k in self._row_locations if k not in doomed)
        self._row_locations = type(self._row_locations)({k: i for i, (_, k) in enumerate(kept)})
        for k in doomed:
            for column_key in self._data.get(k, {}):
                self._updated_cells.discard(CellKey(k, column_key))
            self._new_rows.discard(k)
            del self.rows[k]
            del self._data[k]
        self._geometry += 1
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)
        self.check_idle()

    def key_at_cursor(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        except Exception:  # the cursor may briefly point past a shrinking table
            return None

    def move_to_key(self, key: str) -> None:
        if key in self._row_locations:
            self.move_cursor(row=self.get_row_index(key), scroll=False)


class ResourceTable(FastTable):
    """The rows of one kind, filtered by text (and by namespace when the dashboard is scoped to one),
    updated by difference and kept sorted by namespace/name."""

    def __init__(self, kind: str, *, spec: TableSpec | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row")
        self.kind = kind
        self.spec = spec or spec_for(kind)
        self.filter_text = ""
        self.namespace: str | None = None  # None: every namespace (cluster-scoped objects always show)
        self._cells: dict[str, tuple[Cell, ...]] = {}  # what each row should show
        self._pushed: dict[str, tuple[Cell, ...]] = {}  # what the DataTable holds, when it differs
        self._uid_by_key: dict[Key, str] = {}
        self._key_by_uid: dict[str, Key] = {}
        self._col_keys = [c.key for c in self.spec.columns]
        for c in self.spec.columns:
            self.add_column(c.label, width=c.width, key=c.key, fit=c.fit)
        self._sort_cols = [k for k in self.spec.sort_by if k in self._col_keys]

    # -- queries --------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self._cells)

    def selected_key(self) -> Key | None:
        uid = self.key_at_cursor()
        return self._key_by_uid.get(uid) if uid else None

    def select(self, key: Key) -> None:
        uid = self._uid_by_key.get(key)
        if uid:
            self.move_to_key(uid)

    # -- syncing ----------------------------------------------------------------------------------
    def _uid(self, obj: dict, k: Key) -> str:
        return str((obj.get("metadata") or {}).get("uid") or f"{self.kind}:{k[0]}/{k[1]}")

    def _matches(self, cells: tuple[Cell, ...]) -> bool:
        return not self.filter_text or self.filter_text in row_text(cells)

    def _in_scope(self, k: Key) -> bool:
        return self.namespace is None or not k[0] or k[0] == self.namespace

    def sync_all(self, objs: Mapping[Key, dict], model: ClusterModel) -> None:
        """Bring every row in line with objs: the full diff, for a view being shown or refiltered."""
        want: dict[str, tuple[Key, tuple[Cell, ...]]] = {}
        row = self.spec.row
        for k, obj in objs.items():
            if not self._in_scope(k):
                continue
            cells = row(obj, model)
            if self._matches(cells):
                want[self._uid(obj, k)] = (k, cells)
        doomed = [uid for uid in self._cells if uid not in want]
        self._forget(doomed)
        self._apply(want)

    def sync_keys(self, keys: Iterable[Key], objs: Mapping[Key, dict], model: ClusterModel) -> None:
        """Bring only the rows of `keys` in line (the dirty set of one tick)."""
        want: dict[str, tuple[Key, tuple[Cell, ...]]] = {}
        doomed: list[str] = []
        if not self._sort_cols:
            # Arrival order (events): the rows of one tick go in the order the store wrote them.
            keys = sorted(keys, key=lambda k: (_revision(objs.get(k)), k))
        for k in keys:
            obj = objs.get(k) if self._in_scope(k) else None
            old_uid = self._uid_by_key.get(k)
            cells = self.spec.row(obj, model) if obj is not None else None
            if obj is None or cells is None or not self._matches(cells):
                if old_uid:
                    doomed.append(old_uid)
                continue
            uid = self._uid(obj, k)
            if old_uid and old_uid != uid:
                doomed.append(old_uid)  # deleted and recreated under the same name
            want[uid] = (k, cells)
        self._forget(doomed)
        self._apply(want)

    def sync_visible(self, objs: Mapping[Key, dict], model: ClusterModel) -> None:
        """Recompute only the rows on screen: for ages, which change with no event (cheap at 10,000 rows)."""
        if not self.row_count:
            return
        top = max(0, self.scroll_offset.y - (self.header_height if self.show_header else 0))
        rows = range(top, min(self.row_count, top + self.size.height + 1))
        keys = []
        for i in rows:
            uid = self.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value
            k = self._key_by_uid.get(uid or "")
            if k is not None:
                keys.append(k)
        self.sync_keys(keys, objs, model)

    def _visible_rows(self) -> range:
        top = int(self.scroll_offset.y)
        return range(max(0, top - 1), min(self.row_count, top + self.size.height + 1))

    def _visible_uids(self) -> list[str]:
        out = []
        for i in self._visible_rows():
            uid = self.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value
            if uid is not None:
                out.append(uid)
        return out

    def _write(self, uid: str, old: tuple[Cell, ...], cells: tuple[Cell, ...]) -> None:
        for col, a, b in zip(self._col_keys, old, cells, strict=False):
            if a != b:
                self.update_cell(uid, col, b)

    def flush_visible(self) -> None:
        """Write the remembered changes of rows now on screen into the table."""
        if not self._pushed:
            return
        for uid in self._visible_uids():
            old = self._pushed.pop(uid, None)
            if old is not None:
                self._write(uid, old, self._cells[uid])

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value):
            self.flush_visible()

    def on_resize(self) -> None:
        self.flush_visible()

    def _forget(self, uids: list[str]) -> None:
        if not uids:
            return
        for uid in uids:
            self._cells.pop(uid, None)
            self._pushed.pop(uid, None)
            k = self._key_by_uid.pop(uid, None)
            if k is not None and self._uid_by_key.get(k) == uid:
                del self._uid_by_key[k]
        self.remove_rows(uids)

    def _apply(self, want: dict[str, tuple[Key, tuple[Cell, ...]]]) -> None:
        added = False
        selected = self.key_at_cursor()
        visible = set(self._visible_uids()) if len(want) > 8 else None
        for uid, (k, cells) in want.items():
            old = self._cells.get(uid)
            if old is None:
                self.add_row(*cells, key=uid)
                added = True
            elif old != cells:
                if visible is None or uid in visible:
                    self._write(uid, self._pushed.pop(uid, old), cells)
                else:
                    self._pushed.setdefault(uid, old)  # written when it scrolls into view
            self._cells[uid] = cells
            self._uid_by_key[k] = uid
            self._key_by_uid[uid] = k
        if added and self._sort_cols:
            self.sort(*self._sort_cols)
            if selected:
                self.move_to_key(selected)
        if added or visible is not None:
            self.flush_visible()  # rows moved (sort, removals) or were deferred

    def set_filter(self, text: str, objs: Mapping[Key, dict], model: ClusterModel) -> None:
        self.filter_text = text.strip().lower()
        self.sync_all(objs, model)


def _revision(obj: dict | None) -> int:
    rv = ((obj or {}).get("metadata") or {}).get("resourceVersion")
    return int(rv) if isinstance(rv, str) and rv.isdigit() else 0
