"""The OpenAPI v3 schemas of the kinds kube-tui serves, with Kubernetes' own field descriptions (v1.30, the
version the API server reports), for `kubectl explain` (through /openapi/v3) and `kube-tui explain`. Made by
tools/make_openapi.py from the schemas Kubernetes publishes; read once, on first use."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

PREFIX = "#/components/schemas/"


@functools.cache
def schemas() -> dict[str, Any]:
    """Every schema, by its name (io.k8s.api.core.v1.Pod, ...)."""
    return json.loads(gzip.decompress((Path(__file__).parent / "schemas.json.gz").read_bytes()))


def schema_of(api_version: str, kind: str) -> str | None:
    """The name of the schema of a kind (group/version or v1, Kind), or None when there is none."""
    group, _, version = api_version.rpartition("/")
    for name, s in schemas().items():
        for gvk in s.get("x-kubernetes-group-version-kind") or ():
            if gvk.get("group") == group and gvk.get("version") == version and gvk.get("kind") == kind:
                return name
    return None


def resolve(ref: str) -> dict | None:
    """The schema a `$ref` names."""
    return schemas().get(ref[len(PREFIX):]) if ref.startswith(PREFIX) else None


@functools.cache
def closure(roots: tuple[str, ...]) -> dict[str, Any]:
    """These schemas and all they refer to, as the components.schemas of a group version's document."""
    out: dict[str, Any] = {}
    todo = [r for r in roots if r in schemas()]
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = schemas()[name]
        stack: list[Any] = [out[name]]
        while stack:
            cur = stack.pop()
            if isinstance(cur, dict):
                ref = cur.get("$ref")
                if isinstance(ref, str) and ref.startswith(PREFIX) and ref[len(PREFIX):] not in out:
                    todo.append(ref[len(PREFIX):])
                stack.extend(cur.values())
            elif isinstance(cur, list):
                stack.extend(cur)
    return out
