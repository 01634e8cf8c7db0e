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


def files_of(paths: list[str]) -> list[Path | None]:
    """Expand -f arguments: a directory gives its manifest files in name order; "-" is stdin (None)."""
    out: list[Path | None] = []
    for p in paths:
        if p == "-":
            out.append(None)
            continue
        path = Path(p)
        if path.is_dir():
            found = sorted(f for f in path.iterdir() if f.suffix in SUFFIXES and f.is_file())
            if not found:
                raise ManifestError(f'error: no manifest files (*.yaml, *.yml, *.json) in directory "{p}"')
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise ManifestError(f'error: the path "{p}" does not exist')
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


def load(paths: list[str]) -> list[Manifest]:
    out: list[Manifest] = []
    for f in files_of(paths):
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
