"""Reading manifests: multi-document YAML (JSON-style too) from files, directories or stdin."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from control.api import strict_yaml

SUFFIXES = (".yaml", ".yml", ".json")
CLUSTER_API = "kube-tui/v1"


class ManifestError(Exception):
    pass


@dataclass
class Manifest:
    source: str  # file name (or "STDIN") as the user gave it
    index: int  # document number in that file
    obj: dict


def files_of(paths: list[str], recursive: bool = False) -> list[Path | None]:
    """Expand -f arguments: a directory gives its manifest files in name order (with `recursive`, those of its
    subdirectories too, in kubectl -R's walk order); "-" is stdin (None)."""
    out: list[Path | None] = []
    for p in paths:
        if p == "-":
            out.append(None)
            continue
        path = Path(p)
        if path.is_dir():
            found = _walk(path, recursive)
            if not found:
                raise ManifestError(f'error: no manifest files (*.yaml, *.yml, *.json) in directory "{p}"')
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise ManifestError(f'error: the path "{p}" does not exist')
    return out


def _walk(directory: Path, recursive: bool) -> list[Path]:
    """A directory's manifest files by name; with `recursive`, a subdirectory's in its place among them
    (filepath.Walk's lexical order, as kubectl -R reads them)."""
    out: list[Path] = []
    for entry in sorted(directory.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if recursive:
                out.extend(_walk(entry, recursive))
        elif entry.suffix in SUFFIXES and entry.is_file():
            out.append(entry)
    return out


def parse(text: str, source: str) -> list[Manifest]:
    try:
        docs = strict_yaml.load_all(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = e.problem or e.context or "invalid YAML"
        raise ManifestError(f"error: error parsing {source}: {where}: {problem}") from e
    except yaml.YAMLError as e:
        raise ManifestError(f"error: error parsing {source}: {e}") from e
    out = []
    for i, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ManifestError(
                f"error: error parsing {source}: document {i + 1} is a {type(doc).__name__}, not an object with apiVersion and kind"
            )
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out.extend(Manifest(source, i, item) for item in doc["items"] if isinstance(item, dict))
            continue
        if "kind" not in doc:
            raise ManifestError(f"error: error validating {source}: document {i + 1}: Object 'Kind' is missing")
        out.append(Manifest(source, i, doc))
    return out


def load(paths: list[str], recursive: bool = False) -> list[Manifest]:
    out: list[Manifest] = []
    for f in files_of(paths, recursive):
        if f is None:
            out.extend(parse(sys.stdin.read(), "STDIN"))
        else:
            try:
                text = f.read_text()
            except (OSError, UnicodeDecodeError) as e:
                raise ManifestError(f'error: cannot read "{f}": {e}') from e
            out.extend(parse(text, str(f)))
    return out


def split_cluster(manifests: list[Manifest]) -> tuple[dict | None, list[Manifest]]:
    """Separate demo.yaml's `kind: Cluster` document (apiVersion kube-tui/v1) from the Kubernetes objects."""
    cluster = None
    rest = []
    for m in manifests:
        if m.obj.get("kind") == "Cluster" and m.obj.get("apiVersion") == CLUSTER_API:
            cluster = m.obj
        else:
            rest.append(m)
    return cluster, rest
