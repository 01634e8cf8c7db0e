"""Make control/api/openapi/schemas.json.gz: the OpenAPI v3 schemas (with Kubernetes' own field
descriptions) of the kinds kube-tui serves, so that `kubectl explain` and `kube-tui explain` work.

Kubernetes publishes its API's schemas with kube-apiserver (/openapi/v3). The same schemas, as JSON Schema,
ship in the kubernetes-validate package (the kubernetes-json-schema set, generated from Kubernetes'
OpenAPI document; Apache-2.0, as Kubernetes). This script reads that set's _definitions.json for one
Kubernetes version and writes back, in kube-apiserver's OpenAPI v3 form, only the definitions reachable
from kube-tui's kinds:

    python3 -m pip download --no-deps kubernetes-validate -d /tmp/kv
    unzip -o /tmp/kv/kubernetes_validate-*.whl '*/v1.30.0-local/_definitions.json' -d /tmp/kv
    python3 tools/make_openapi.py /tmp/kv/kubernetes_validate/kubernetes-json-schema/v1.30.0-local/_definitions.json

The conversion: `type: [T, "null"]` becomes `type: T`; `$ref: #/$defs/X` becomes
`#/components/schemas/X`, wrapped in `allOf` beside the field's description as kube-apiserver writes it;
the `enum` of apiVersion and kind that the JSON Schema set adds is left out.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "control" / "api" / "openapi" / "schemas.json.gz"

# Kinds kube-tui serves or is about to, as (group, version, kind); their schemas and all they refer to are kept.
EXTRA = [("apps", "v1", "StatefulSet"), ("apps", "v1", "ControllerRevision"), ("batch", "v1", "CronJob"),
         ("autoscaling", "v1", "HorizontalPodAutoscaler"), ("autoscaling", "v2", "HorizontalPodAutoscaler"),
         ("apps", "v1", "Scale"), ("autoscaling", "v1", "Scale")]


def served() -> set[tuple[str, str, str]]:
    sys.path.insert(0, str(ROOT))
    from control.api.kinds import KINDS

    out = set(EXTRA)
    for info in KINDS.values():
        group, _, version = info.api_version.rpartition("/")
        out.add((group, version, info.kind))
    return out


def convert(node: Any, *, field: bool = False) -> Any:
    if isinstance(node, list):
        return [convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k == "type" and isinstance(v, list):
            types = [t for t in v if t != "null"]
            out[k] = types[0] if len(types) == 1 else types
        elif k == "$ref":
            out[k] = "#/components/schemas/" + v.rsplit("/", 1)[-1]
        elif k == "properties":
            out[k] = {name: convert(p, field=True) for name, p in v.items()}
        elif k in ("items", "additionalProperties"):
            out[k] = convert(v, field=True)
        else:
            out[k] = convert(v)
    if field and "$ref" in out and len(out) > 1:  # kube-apiserver: {"allOf": [{"$ref": ...}], "description": ...}
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **out}
    return out


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str):
                found.add(ref.rsplit("/", 1)[-1])
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return found


def main(path: str) -> None:
    defs: dict[str, Any] = json.loads(Path(path).read_text())["$defs"]
    wanted = served()
    roots = [name for name, d in defs.items()
             if any((g["group"], g["version"], g["kind"]) in wanted for g in d.get("x-kubernetes-group-version-kind") or [])]
    keep: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        d = json.loads(json.dumps(defs[name]))
        for p in ("apiVersion", "kind"):
            prop = (d.get("properties") or {}).get(p)
            if isinstance(prop, dict):
                prop.pop("enum", None)
        keep[name] = convert(d)
        todo.extend(refs(defs[name]) - keep.keys())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(keep, sort_keys=True, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(data, 9, mtime=0))
    print(f"{OUT.relative_to(ROOT)}: {len(keep)} schemas from {len(roots)} kinds, "
          f"{len(data)} bytes ({OUT.stat().st_size} gzipped)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
