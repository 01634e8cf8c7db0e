"""kube-tui create configmap|secret generic: the object built from literals, files and env files, as kubectl's."""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

import pytest

from tui.commands.imperative import config_for


def args(**kw: object) -> argparse.Namespace:
    base = {"name": "game", "from_literal": [], "from_file": [], "from_env_file": [], "secret_type": ""}
    return argparse.Namespace(**{**base, **kw})


def test_configmap_from_literals_files_directories_and_env_files(tmp_path: Path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    (d / "game.properties").write_text("lives=3\n")
    (d / "blob.bin").write_bytes(b"\xff\x00\x01")
    env = tmp_path / "env"
    env.write_text("# comment\nMODE=fast\n\nLEVEL = 2\n")
    cm = config_for("ConfigMap", args(from_literal=["a=b=c"], from_file=[f"ui={d / 'game.properties'}", str(d)]))
    assert cm["data"] == {"a": "b=c", "ui": "lives=3\n", "game.properties": "lives=3\n"}
    assert cm["binaryData"] == {"blob.bin": base64.b64encode(b"\xff\x00\x01").decode()}
    assert config_for("ConfigMap", args(from_env_file=[str(env)]))["data"] == {"MODE": "fast", "LEVEL": " 2"}


def test_env_file_with_other_sources_is_refused_as_kubectl(tmp_path: Path) -> None:
    """kubectl v1.32.5 refuses --from-env-file beside --from-file or --from-literal (kube-tui merged them)."""
    env = tmp_path / "env"
    env.write_text("MODE=fast\n")
    for kind in ("ConfigMap", "Secret"):
        for other in ({"from_literal": ["a=b"]}, {"from_file": [str(env)]}):
            with pytest.raises(ValueError) as e:
                config_for(kind, args(from_env_file=[str(env)], **other))
            assert str(e.value) == "error: from-env-file cannot be combined with from-file or from-literal"


def test_secret_values_are_base64_and_mistakes_are_named(tmp_path: Path) -> None:
    s = config_for("Secret", args(name="db", from_literal=["password=s3cr3t"]))
    # no type unless --type: kubectl sends none, and the API server defaults it to Opaque
    assert "type" not in s and base64.b64decode(s["data"]["password"]) == b"s3cr3t"
    with pytest.raises(ValueError, match='cannot add key "a", another key by that name already exists'):
        config_for("ConfigMap", args(from_literal=["a=1", "a=2"]))
    with pytest.raises(ValueError, match="invalid literal source novalue, expected key=value"):
        config_for("ConfigMap", args(from_literal=["novalue"]))
    with pytest.raises(ValueError, match="error reading"):
        config_for("Secret", args(from_file=[str(tmp_path / "missing")]))
