"""The built-in nginx image's static files (nodes/images/nginx.py static_file): what nginx's static module answers."""

from __future__ import annotations

from pathlib import Path

from nodes.images.nginx import static_file


def test_static_files_index_forbidden_missing_and_bad_paths(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("hello")
    (tmp_path / "empty").mkdir()
    assert static_file(str(tmp_path), "/") == (200, b"hello", "text/html")
    assert static_file(str(tmp_path), "/empty/")[0] == 403
    assert static_file(str(tmp_path), "/nope")[0] == 404
    assert static_file(str(tmp_path), "/%2e%2e/etc/passwd")[0] == 400
    # an encoded NUL: nginx answers 400; it must not raise (ValueError from open) and drop the connection
    assert static_file(str(tmp_path), "/index.html%00.txt")[0] == 400
