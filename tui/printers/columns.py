"""kubectl get's --sort-by and -o custom-columns (kubectl/pkg/cmd/get/sorter.go, customcolumn.go).

Both take kubectl's relaxed JSONPath (`.metadata.name`, `metadata.name`, `{.metadata.name}`); values are
compared and printed as kubectl does for the objects it decodes from JSON.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from control.api import quantity
from tui.printers.jsonpath import JSONPathError, find
from tui.printers.tabwriter import tabwrite

_RELAXED = re.compile(r"^\{\.?([^{}]+)\}$|^\.?([^{}]+)$")


def relaxed_jsonpath(expr: str) -> str:
    """kubectl's RelaxedJSONPathExpression: the path as `.a.b` (kubectl writes it `{.a.b}`)."""
    m = _RELAXED.match(expr)
    if m is None:
        raise ValueError("unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or "
                         "'{.name1.name2}'")
    return "." + (m.group(1) or m.group(2))


def _first(path: str, obj: Any) -> Any:
    try:
        values = find(path, obj)
    except JSONPathError:
        return None
    return values[0] if values else None


def _quantity(text: str) -> Any:
    try:
        return quantity.parse(text)
    except (ValueError, TypeError, ArithmeticError):
        return None


def _go_type(value: Any) -> str:
    """The Go type kubectl names for a decoded JSON value."""
    return {dict: "map[string]interface {}", list: "[]interface {}", bool: "bool", str: "string", int: "int64",
            float: "float64"}.get(type(value), "interface {}")


def _less(a: Any, b: Any) -> bool:
    """kubectl's isLess for decoded JSON values (kubectl 1.32): numbers as numbers, two quantities as quantities
    (100m < 250m < 1 < 1500m), other strings byte by byte (a-10 before a-2, as kubectl 1.32 orders them), lists
    element by element."""
    if isinstance(a, bool) or isinstance(b, bool):
        raise ValueError(f"unsortable type: {_go_type(a)}")
    if isinstance(a, int | float) and isinstance(b, int | float) and type(a) is type(b):
        return a < b
    if isinstance(a, str) and isinstance(b, str):
        qa, qb = _quantity(a), _quantity(b)
        if qa is not None and qb is not None:
            return bool(qa < qb)
        return a.encode() < b.encode()
    if isinstance(a, list) and isinstance(b, list):
        for x, y in zip(a, b, strict=False):
            if not _less(x, y):
                return False
        return True
    raise ValueError(f"unsortable type: {_go_type(a)}")


def sort_objects(objs: list[dict], field: str) -> list[dict]:
    """The objects ordered by the value at `field`, as kubectl get --sort-by orders them: objects without the
    field come first (in the order listed: kubectl's unstable sort leaves them in no set order); ValueError
    (kubectl's words) when no object has it or the values cannot be ordered."""
    path = relaxed_jsonpath(field)
    keyed = [(_first(path, o), o) for o in objs]
    if objs and all(v is None for v, _ in keyed):
        raise ValueError(f'couldn\'t find any field with path "{{{path}}}" in the list of objects')

    def cmp(x: tuple[Any, dict], y: tuple[Any, dict]) -> int:
        a, b = x[0], y[0]
        if a is None:
            return -1 if b is not None else 0
        if b is None:
            return 1
        return -1 if _less(a, b) else (1 if _less(b, a) else 0)

    try:
        return [o for _, o in sorted(keyed, key=functools.cmp_to_key(cmp))]
    except ValueError as e:  # kubectl's words, without its log line's prefix
        raise ValueError(f"Field {{{path}}} is an {e}") from None


@dataclass(frozen=True)
class Column:
    header: str
    path: str  # `.a.b`


def parse_spec(spec: str) -> list[Column]:
    """-o custom-columns=HEADER:PATH,... as kubectl's NewCustomColumnsPrinterFromSpec reads it."""
    if not spec:
        raise ValueError("custom-columns format specified but no custom columns given")
    out = []
    for part in spec.split(","):
        header, sep, path = part.partition(":")
        if not sep:
            raise ValueError(f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>")
        out.append(Column(header, relaxed_jsonpath(path)))
    return out


def parse_template(text: str) -> list[Column]:
    """-o custom-columns-file=FILE: a line of headers and a line of paths, whitespace-separated."""
    lines = text.splitlines()
    if not lines:
        raise ValueError("invalid template, missing header line. Expected format is one line of space separated "
                         "headers, one line of space separated column specs.")
    if len(lines) < 2:
        raise ValueError("invalid template, missing spec line. Expected format is one line of space separated "
                         "headers, one line of space separated column specs.")
    headers, specs = lines[0].split(), lines[1].split()
    if len(headers) != len(specs):
        raise ValueError(f"number of headers ({len(headers)}) and field specifications ({len(specs)}) don't match")
    return [Column(h, relaxed_jsonpath(s)) for h, s in zip(headers, specs, strict=True)]


def go_sprint(value: Any) -> str:
    """fmt.Sprint of a decoded JSON value: maps as map[k:v ...] (keys sorted), lists as [a b]."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e21 else str(int(value))
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_sprint(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    return str(value)


def custom_columns(columns: list[Column], objs: list[dict], *, headers: bool = True) -> str:
    """The table kubectl's CustomColumnsPrinter prints: each cell the path's values joined by commas, or <none>."""
    lines = ["\t".join(c.header for c in columns)] if headers else []
    for obj in objs:
        cells = []
        for c in columns:
            try:
                values = find(c.path, obj)
            except JSONPathError:
                values = []
            cells.append(",".join(go_sprint(v) for v in values) if values else "<none>")
        lines.append("\t".join(cells))
    return tabwrite("\n".join(lines), minwidth=6, padding=3)
