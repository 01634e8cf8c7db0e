"""`kubectl get -o yaml` and `-o json`."""

from __future__ import annotations

import json
from typing import Any

import yaml


class _KubeDumper(yaml.SafeDumper):
    """Block style, keys in the object's order, double quotes where a plain scalar would change type."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    node = dumper.represent_scalar("tag:yaml.org,2002:str", value)
    # go-yaml (kubectl's) also reads y, Y, n and N as booleans, so quotes them, which PyYAML's resolver does not
    if value in ("y", "Y", "n", "N") or dumper.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
        node.style = '"'
    return node


_KubeDumper.add_representer(str, _represent_str)


def to_yaml(obj: Any) -> str:
    """kubectl -o yaml: block style, keys in the object's order, sequences not indented under their key."""
    text = yaml.dump(obj, Dumper=_KubeDumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     width=1 << 30)
    return text.rstrip("\n")


def to_json(obj: Any) -> str:
    """kubectl -o json: four-space indent."""
    return json.dumps(obj, indent=4, ensure_ascii=False)
