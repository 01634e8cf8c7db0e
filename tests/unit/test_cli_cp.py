"""`kube-tui cp`: which side is the pod's, and a tar from a pod cannot write outside the destination."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tui.commands.cp import UnsafeTar, extract, split_remote


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


def _tar(*members: tuple[str, bytes | str]) -> io.BytesIO:
    """Members: (name, file content) or (name, "->target") for a symlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, str):
                info.type, info.linkname = tarfile.SYMTYPE, data.removeprefix("->")
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_a_copied_tar_lands_only_under_the_destination(tmp_path: Path) -> None:
    dest = tmp_path / "home" / "dest"
    written, skipped = extract(_tar(("src/a.txt", b"a"), ("src/sub/b", b"b"), ("other", b"x"),
                                    ("src/up", "->.."), ("src/up/.profile", b"evil")), "src", dest)
    assert (dest / "a.txt").read_bytes() == b"a" and (dest / "sub" / "b").read_bytes() == b"b"
    assert not (tmp_path / "home" / "other").exists()  # not what was asked for
    assert skipped == ["src/up"] and written == 3
    assert not (tmp_path / "home" / ".profile").exists()  # the skipped link was no way out: written inside
    for evil in ("src/../.bashrc", "src/x/../../.bashrc", "/etc/evil"):
        with pytest.raises(UnsafeTar):
            extract(_tar((evil, b"!")), "src" if not evil.startswith("/") else "/etc", tmp_path / "d2" / "dest")
    assert not (tmp_path / ".bashrc").exists() and not (tmp_path / "d2" / ".bashrc").exists()


class _HalfTaking:
    """A node that takes only half of each input it is sent, and says the command ended once stdin's end came."""

    def __init__(self) -> None:
        self.got = bytearray()
        self.eof_after: int | None = None

    async def exec_open(self, *args: object, **kw: object) -> dict:
        return {"session": "s"}

    async def exec_stream(self, pod: str, sid: str, ns: str, *, input: bytes = b"", eof: bool = False,
                          read: bool = False, wait: float = 0.0, close: bool = False) -> dict:
        taken = len(input) // 2 if len(input) > 1 else len(input)
        self.got += input[:taken]
        if eof and taken == len(input):
            self.eof_after = len(self.got)
            return {"accepted": taken, "exitCode": 0}
        return {"accepted": taken}


async def test_stdins_end_goes_only_after_all_of_it_even_when_the_node_takes_chunks_in_part() -> None:
    from tui.commands.cp import INPUT_MAX, run_in_pod

    node = _HalfTaking()
    data = b"z" * (3 * INPUT_MAX + 100)
    code, _ = await run_in_pod(node, "default", "box", ["wc", "-c"], None, stdin=io.BytesIO(data))  # type: ignore[arg-type]
    assert code == 0 and bytes(node.got) == data and node.eof_after == len(data)
