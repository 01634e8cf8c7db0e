"""kubectl's `-o jsonpath=TEMPLATE`, the common part of it: `{.a.b}`, `{.items[*].metadata.name}`, `{.a[0]}`,
`{.a['b.c']}`, `{range .items[*]}...{end}`, quoted literals (`{"\\n"}`) and text between expressions.

What it leaves out (filters `[?()]`, slices, `..` recursion) is refused with an error saying so.
"""

from __future__ import annotations

import json
import re
from typing import Any

_NOTHING = object()


class JSONPathError(ValueError):
    pass


def _steps(expr: str) -> list[str | int | None]:
    """`.items[*].metadata.name` -> ["items", None, "metadata", "name"] (None: every item)."""
    if expr in ("", "."):
        return []
    if not expr.startswith("."):
        raise JSONPathError(f'unrecognized identifier "{expr}": a path starts with "."')
    steps: list[str | int | None] = []
    for m in re.finditer(r"\.([^.\[\]]+)|\[(\*|-?\d+|'[^']*'|\"[^\"]*\")\]|(.)", expr):
        key, index, other = m.groups()
        if other is not None or (key is not None and key == "."):
            raise JSONPathError(f"kube-tui's jsonpath does not support {expr!r} (filters, slices and '..' are "
                                "left out): use -o json and jq, or kubectl")
        if key is not None:
            steps.append(key)
        elif index == "*":
            steps.append(None)
        elif index[0] in "'\"":
            steps.append(index[1:-1])
        else:
            steps.append(int(index))
    return steps


def _walk(values: list[Any], steps: list[str | int | None]) -> list[Any]:
    for step in steps:
        out: list[Any] = []
        for v in values:
            if step is None:
                if isinstance(v, list):
                    out.extend(v)
                elif isinstance(v, dict):
                    out.extend(v.values())
            elif isinstance(step, int):
                if isinstance(v, list) and -len(v) <= step < len(v):
                    out.append(v[step])
            elif isinstance(v, dict) and step in v:
                out.append(v[step])
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


def render(template: str, obj: Any) -> str:
    """The template applied to obj, as kubectl prints it (values of one expression separated by spaces)."""
    tokens = _tokens(template)
    out, _ = _run(tokens, 0, obj)
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
