"""What the dashboard does to the cluster besides watching: apply files (and re-apply on save), node commands."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from tui import manifests
from tui.commands.apply import apply_all

# apply_all prints kubectl's lines; they are captured per call, so two applies must not interleave
_APPLY_LOCK = asyncio.Lock()
JOIN_TOKEN_HINT = "<join token printed by kube-tui control>"


async def apply_files(client: Any, paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """`kube-tui apply -f` for each path, with the same code; returns (result lines, error lines)."""
    try:
        items = manifests.load(list(paths))
    except manifests.ManifestError as e:
        return [], [str(e)]
    _, items = manifests.split_cluster(items)  # a cluster file's `kind: Cluster` is for the launcher
    out, err = io.StringIO(), io.StringIO()
    async with _APPLY_LOCK:
        with redirect_stdout(out), redirect_stderr(err):
            await apply_all(client, items, create_only=False, namespace=None)
    return out.getvalue().splitlines(), err.getvalue().splitlines()


def summarize_apply(lines: list[str], errors: list[str]) -> tuple[str, str]:
    """A notification: what changed (unchanged objects only counted), and its severity."""
    changed = [ln for ln in lines if not ln.endswith(" unchanged")]
    unchanged = len(lines) - len(changed)
    parts = changed[:8] + ([f"... {len(changed) - 8} more"] if len(changed) > 8 else [])
    if unchanged:
        parts.append(f"{unchanged} unchanged")
    parts.extend(errors[:4])
    return "\n".join(parts) or "nothing to apply", "error" if errors else "information"


def watch_targets(paths: Iterable[str]) -> tuple[list[Path], set[Path], set[Path]]:
    """(directories to watch, files applied, directories applied).

    Directories are watched rather than files because editors save by rename, which loses a file watch.
    """
    files: set[Path] = set()
    applied_dirs: set[Path] = set()
    for p in paths:
        path = Path(p).resolve()
        if path.is_dir():
            applied_dirs.add(path)
        else:
            files.add(path)
    return sorted(applied_dirs | {f.parent for f in files}), files, applied_dirs


def relevant(changed: Iterable[str], files: set[Path], applied_dirs: set[Path]) -> list[str]:
    """The changed paths that are manifests we applied, or manifests inside a directory we applied."""
    out = set()
    for c in changed:
        p = Path(c).resolve()
        if p in files or (p.parent in applied_dirs and p.suffix in manifests.SUFFIXES):
            if p.is_file():
                out.add(str(p))
    return sorted(out)


def next_node_name(existing: Iterable[str]) -> str:
    names = set(existing)
    i = 1
    while f"node-{i}" in names:
        i += 1
    return f"node-{i}"


def join_command(server: str, name: str) -> str:
    """The command a user pastes into another terminal when the dashboard did not start the cluster."""
    return f"kube-tui node --server {server} --token {JOIN_TOKEN_HINT} --name {name}"
