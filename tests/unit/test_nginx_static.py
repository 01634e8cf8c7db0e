"""The built-in nginx image's static files (nodes/images/nginx.py static_file): what nginx's static module answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.images.nginx import serves_files, static_file


def test_static_files_index_forbidden_missing_and_bad_paths(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hello")
    (tmp_path / "empty").mkdir()
    assert static_file(str(tmp_path), "/") == (200, b"hello", "text/html")
    assert static_file(str(tmp_path), "/empty/")[0] == 403
    assert static_file(str(tmp_path), "/nope")[0] == 404
    assert static_file(str(tmp_path), "/%2e%2e/etc/passwd")[0] == 400
    # an encoded NUL: nginx answers 400; it must not raise (ValueError from open) and drop the connection
    assert static_file(str(tmp_path), "/index.html%00.txt")[0] == 400


def test_only_a_mounted_html_root_is_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host with nginx installed has /usr/share/nginx/html: a pod without a volume there (which sees the host's
    filesystem) still names itself, and does not serve the host's files."""
    from nodes.images import nginx

    (tmp_path / "html").mkdir()
    (tmp_path / "html" / "index.html").write_text("the host's own nginx page")
    assert not serves_files(str(tmp_path / "html"))

    class Writer:
        out = b""

        def write(self, data: bytes) -> None:
            self.out += data

    monkeypatch.setattr(nginx, "HTML_ROOT", str(tmp_path / "html"))
    w = Writer()
    nginx.Server("10.0.0.5", "web-1")._respond(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "10.0.0.9", 80, w)  # type: ignore[arg-type]
    assert b"web-1" in w.out and b"the host's own" not in w.out
    assert serves_files("/proc/self")  # a directory in a mount point: a volume at the parent
    assert not serves_files(str(tmp_path / "absent"))
