"""kubectl's `-o jsonpath=TEMPLATE`: `{.a.b}`, `{.items[*].metadata.name}`, `{.a[0]}`, `{.a[-1:]}` (slices),
`{.a[0,2]}` and `{.a['b','c']}` (unions), `{.a['b.c']}` or `{.a.b\\.c}`, filters (`{.items[?(@.status.phase=="Running")]}`,
`[?(@.x)]`, ==, !=, <, <=, >, >=), `..` (recursive descent: `{..image}`), `{range .items[*]}...{end}`, quoted
literals (`{"\\n"}`) and text between expressions. Regular-expression filters (=~) are refused, as kubectl does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_NOTHING = object()


class JSONPathError(ValueError):
    pass


# A path's steps: a key, every item (None), an index, or one of these.
@dataclass(frozen=True)
class _Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True)
class _Union:
    keys: tuple[str | int, ...]


@dataclass(frozen=True)
class _Filter:
    """`[?(@.a.b OP value)]`, or `[?(@.a)]` (the field is there)."""

    left: tuple[Any, ...]
    op: str | None
    right: Any  # a literal, or a _Path


@dataclass(frozen=True)
class _Path:
    steps: tuple[Any, ...]


_RECURSE = object()  # `..`: this value and every value under it


def _steps(expr: str) -> list[Any]:
    """`.items[*].metadata.name` -> ["items", None, "metadata", "name"] (None: every item)."""
    if expr.startswith("$"):  # the root, which kubectl lets a path name or leave out
        expr = expr[1:]
    if expr in ("", "."):
        return []
    if expr[0] not in ".[":
        raise JSONPathError(f'unrecognized identifier "{expr}": a path starts with "."')
    steps: list[Any] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if expr.startswith("..", i):
            steps.append(_RECURSE)
            i += 1  # the second "." starts the key, unless a "[" follows
            if i + 1 < n and expr[i + 1] == "[":
                i += 1
            continue
        if c == ".":
            i += 1
            key = []
            while i < n and expr[i] not in ".[":
                if expr[i] == "\\" and i + 1 < n:  # an escaped dot: .labels.app\.kubernetes\.io/name
                    i += 1
                key.append(expr[i])
                i += 1
            if not key:
                raise JSONPathError(f"empty field name in {expr!r}")
            steps.append("".join(key))
            continue
        if c == "[":
            j = _closing(expr, i)
            steps.append(_bracket(expr[i + 1:j].strip(), expr))
            i = j + 1
            continue
        raise JSONPathError(f"unexpected {c!r} in {expr!r}")
    return steps


def _closing(expr: str, i: int) -> int:
    """The index of the "]" that closes the "[" at i (quotes and parentheses inside are skipped)."""
    depth, quote = 0, ""
    for j in range(i + 1, len(expr)):
        ch = expr[j]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "]" and depth == 0:
            return j
    raise JSONPathError(f"unterminated array in {expr!r}")


def _literal(text: str) -> Any:
    text = text.strip()
    if text[:1] in "'\"" and text[-1:] == text[:1] and len(text) >= 2:
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("@"):
        return _Path(tuple(_steps(text[1:] or ".")))
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JSONPathError(f"unrecognized value {text!r} in a filter: quote strings") from None


def _bracket(inner: str, expr: str) -> Any:
    if inner == "*":
        return None
    if inner.startswith("?"):
        m = re.fullmatch(r"\?\(\s*(@[^=!<>~]*?)\s*(?:(==|!=|<=|>=|<|>|=~)\s*(.+?))?\s*\)", inner, re.S)
        if m is None:
            raise JSONPathError(f"unrecognized filter {inner!r} in {expr!r}: write [?(@.field==\"value\")]")
        left, op, right = m.groups()
        if op == "=~":
            raise JSONPathError("regular expression filters (=~) are not supported, as in kubectl")
        return _Filter(tuple(_steps(left[1:] or ".")), op, _literal(right) if op else None)
    if ":" in inner:
        parts = [p.strip() for p in inner.split(":")]
        if len(parts) > 3:
            raise JSONPathError(f"bad slice [{inner}] in {expr!r}")
        try:
            nums = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
        except ValueError:
            raise JSONPathError(f"bad slice [{inner}] in {expr!r}") from None
        if nums[2] == 0:
            raise JSONPathError("a slice's step cannot be 0")
        return _Slice(*nums)
    items = [p.strip() for p in _split_union(inner)]
    keys: list[str | int] = []
    for item in items:
        if item[:1] in "'\"" and item[-1:] == item[:1] and len(item) >= 2:
            keys.append(item[1:-1])
        else:
            try:
                keys.append(int(item))
            except ValueError:
                raise JSONPathError(f"bad array index [{inner}] in {expr!r}") from None
    return keys[0] if len(keys) == 1 else _Union(tuple(keys))


def _split_union(inner: str) -> list[str]:
    out, cur, quote = [], [], ""
    for ch in inner:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch == ",":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def _descendants(v: Any) -> list[Any]:
    out = [v]
    if isinstance(v, dict):
        for x in v.values():
            out.extend(_descendants(x))
    elif isinstance(v, list):
        for x in v:
            out.extend(_descendants(x))
    return out


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, (int, float)) and not isinstance(right, bool) and \
            isinstance(left, (int, float)) and not isinstance(left, bool):
        a, b = left, right
    else:
        a, b = _text(left), _text(right)
    try:
        return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def _matches(item: Any, f: _Filter) -> bool:
    found = _walk([item], list(f.left))
    if f.op is None:
        return bool(found) and found[0] is not None
    if not found:
        return False
    right = f.right
    if isinstance(right, _Path):
        rs = _walk([item], list(right.steps))
        if not rs:
            return False
        right = rs[0]
    return _compare(found[0], f.op, right)


def _walk(values: list[Any], steps: list[Any]) -> list[Any]:
    for step in steps:
        out: list[Any] = []
        for v in values:
            if step is _RECURSE:
                out.extend(_descendants(v))
            elif step is None:
                if isinstance(v, list):
                    out.extend(v)
                elif isinstance(v, dict):
                    out.extend(v.values())
            elif isinstance(step, int):
                if isinstance(v, list) and -len(v) <= step < len(v):
                    out.append(v[step])
            elif isinstance(step, str):
                if isinstance(v, dict) and step in v:
                    out.append(v[step])
            elif isinstance(step, _Slice):
                if isinstance(v, list):
                    out.extend(v[step.start:step.stop:step.step])
            elif isinstance(step, _Union):
                for k in step.keys:
                    out.extend(_walk([v], [k]))
            elif isinstance(step, _Filter):
                if isinstance(v, list):
                    out.extend(x for x in v if _matches(x, step))
        values = out
    return values


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)  # as Go marshals a map
    return str(v)


def _tokens(template: str) -> list[tuple[str, str]]:
    """("text", s) and ("expr", inside the braces)."""
    out: list[tuple[str, str]] = []
    pos = 0
    for m in re.finditer(r"\{((?:[^{}\"']|\"(?:\\.|[^\"\\])*\"|'[^']*')*)\}", template):
        if m.start() > pos:
            out.append(("text", template[pos:m.start()]))
        out.append(("expr", m.group(1).strip()))
        pos = m.end()
    if pos < len(template):
        if "{" in template[pos:] or "}" in template[pos:]:
            raise JSONPathError(f"unclosed action in template {template!r}")
        out.append(("text", template[pos:]))
    return out


def find(expr: str, obj: Any) -> list[Any]:
    """The values one path (`.status.phase`, no braces) selects in obj, missing keys giving none: what
    kubectl's FindResults gives for a template of one expression (kubectl wait --for=jsonpath reads it)."""
    return _walk([obj], _steps(expr))


def render(template: str, obj: Any) -> str:
    """The template applied to obj, as kubectl prints it (values of one expression separated by spaces)."""
    tokens = _tokens(template)
    out, end = _run(tokens, 0, obj)
    if end < len(tokens):  # _run stopped at an {end} no {range} opened
        raise JSONPathError("an {end} without its {range}")
    return out


def _run(tokens: list[tuple[str, str]], i: int, current: Any) -> tuple[str, int]:
    parts: list[str] = []
    while i < len(tokens):
        kind, body = tokens[i]
        if kind == "text":
            parts.append(body)
            i += 1
            continue
        if body == "end":
            return "".join(parts), i
        if body.startswith("range "):
            items = _walk([current], _steps(body[len("range "):].strip()))
            end = i + 1
            for item in items:
                text, end = _run(tokens, i + 1, item)
                parts.append(text)
            if not items:  # find the matching end without output
                _, end = _run(tokens, i + 1, _NOTHING)
            if end >= len(tokens) or tokens[end] != ("expr", "end"):
                raise JSONPathError("a {range} without its {end}")
            i = end + 1
            continue
        if body[:1] in "\"'":
            try:
                parts.append(json.loads(body, strict=False) if body[0] == "\"" else body[1:-1])
            except ValueError as e:
                raise JSONPathError(f"bad literal {body}: {e}") from None
            i += 1
            continue
        if current is not _NOTHING:
            parts.append(" ".join(_text(v) for v in _walk([current], _steps(body))))
        i += 1
    return "".join(parts), i
