"""`kube-tui cp`: which side is the pod's, and a tar from a pod cannot write outside the destination."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tui.commands.cp import _extract, split_remote


@pytest.mark.parametrize("spec, expect", [
    ("web:/tmp/x", ("default", "web", "/tmp/x")),
    ("prod/web:/tmp/x", ("prod", "web", "/tmp/x")),
    ("web:", ("default", "web", "")),
    ("/tmp/x", None),
    ("./a:b", None),
    ("a/b/c:d", None),
    ("file.txt", None),
])
def test_which_side_is_the_pods(spec: str, expect: tuple[str, str, str] | None) -> None:
    assert split_remote(spec, "default") == expect


def _tar(*members: tuple[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_copied_tar_lands_only_under_the_destination(tmp_path: Path) -> None:
    _extract(_tar(("src/a.txt", b"a"), ("src/sub/b", b"b"), ("other", b"x")), "src", tmp_path / "dest")
    assert (tmp_path / "dest" / "a.txt").read_bytes() == b"a" and (tmp_path / "dest" / "sub" / "b").read_bytes() == b"b"
    assert not (tmp_path / "other").exists()  # not what was asked for
    with pytest.raises(tarfile.TarError):  # a hostile pod's `..` cannot climb out
        _extract(_tar(("src/../../escaped", b"!")), "src", tmp_path / "d2" / "dest")
    assert not (tmp_path / "escaped").exists()
