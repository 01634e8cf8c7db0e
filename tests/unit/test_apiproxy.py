"""kubectl proxy's filter, ServeMux and file server as kube-tui proxy has them (control/apiproxy.py), checked
against what kubectl v1.32 answers; the forwarding itself is tests/integration/test_kubectl_proxy.py's."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import RawTestServer

from control.apiproxy import Filter, FilterError, ProxyServer, Upstream, clean_path, host_of, regexps
from control.netutil import free_port_pair


@pytest.mark.parametrize(("method", "path", "host", "accepted"), [
    ("GET", "/api/v1/namespaces/default/pods", "localhost", True),
    ("GET", "/api/v1/namespaces/default/pods", "127.0.0.1", True),
    ("GET", "/api/v1/namespaces/default/pods", "[::1]", True),
    ("GET", "/api/v1/namespaces/default/pods", "::1", False),  # "[::1]:8001" loses its brackets: kubectl's quirk
    ("GET", "/api/v1/namespaces/default/pods", "evil.example", False),
    ("GET", "/api/v1/namespaces/default/pods", "127.0.0.1.evil.example", False),
    ("POST", "/api/v1/namespaces/default/pods/web/exec", "localhost", False),
    ("GET", "/api/v1/namespaces/default/pods/web/attach", "localhost", False),
    ("GET", "/api/v1/namespaces/default/pods/web/log", "localhost", True),
    ("POST", "/api/v1/namespaces/default/pods/web/portforward", "localhost", True),
    ("DELETE", "/apis/apps/v1/namespaces/default/deployments/web", "localhost", True),
])
def test_the_default_filter_is_kubectls(method: str, path: str, host: str, accepted: bool) -> None:
    assert Filter().accept(method, path, host) is accepted


def test_a_rejected_method_or_path_wins_over_an_accepted_one() -> None:
    f = Filter.parse("^/api/", "/secrets", "^localhost$", "POST,PUT,PATCH")
    assert f.accept("GET", "/api/v1/pods", "localhost")
    assert not f.accept("POST", "/api/v1/pods", "localhost")
    assert not f.accept("GET", "/api/v1/namespaces/default/secrets", "localhost")
    assert not f.accept("GET", "/apis/apps/v1/deployments", "localhost")  # /apis/ is not /api/
    assert Filter.parse("^.*", "", "^.*", "").accept("GET", "/api/v1/namespaces/x/pods/y/exec", "anything")


def test_a_bad_regular_expression_names_its_flag() -> None:
    with pytest.raises(FilterError, match=r"--reject-paths: '\(' is not a regular expression"):
        Filter.parse("^.*", "^/ok,(", "^localhost$", "^$")
    assert regexps("--accept-paths", "") == []


@pytest.mark.parametrize(("header", "host"), [
    ("localhost:8001", "localhost"), ("localhost", "localhost"), ("127.0.0.1:8001", "127.0.0.1"),
    ("[::1]:8001", "::1"), ("[::1]", "[::1]"), ("::1", "::1"),
])
def test_the_host_of_a_host_header_is_gos_split_host_port(header: str, host: str) -> None:
    assert host_of(header) == host


@pytest.mark.parametrize(("path", "cleaned"), [
    ("/api/v1/pods", "/api/v1/pods"), ("/api//v1/", "/api/v1/"), ("/a/./b", "/a/b"), ("/a/../b", "/b"),
    ("/../x", "/x"), ("//", "/"), ("/a/.", "/a"), ("", "/"),
])
def test_paths_are_cleaned_as_gos_serve_mux_cleans_them(path: str, cleaned: str) -> None:
    assert clean_path(path) == cleaned


@pytest.fixture
def www(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("hello\n")
    (tmp_path / "sub" / "page.html").write_text("<p>x</p>\n")
    return tmp_path


async def _get(server: ProxyServer, path: str, **kw: str) -> tuple[int, dict[str, str], bytes]:
    async with RawTestServer(server.handle) as raw, aiohttp.ClientSession() as s, \
            s.get(raw.make_url(path), allow_redirects=False, **kw) as r:
        body = await r.read()
        await server.close()
        return r.status, dict(r.headers), body


# An address nothing serves: requests that reach the API handler fail with a 500, which tells them apart
DEAD = Upstream(f"https://127.0.0.1:{free_port_pair()}", "token", b"")


async def test_serve_mux_answers_as_kubectls(www: Path) -> None:
    server = ProxyServer(DEAD, "/custom", Filter(), str(www), "/static/")
    status, headers, body = await _get(server, "/custom?x=1")
    assert (status, headers["Location"], body) == (301, "/custom/?x=1", b'<a href="/custom/?x=1">Moved Permanently</a>.\n\n')
    status, headers, body = await _get(server, "/custom//api")
    assert (status, headers["Location"]) == (301, "/custom/api")
    for path in ("/version", "/customx/version"):
        status, headers, body = await _get(server, path)
        assert (status, headers["Content-Type"], body) == (404, "text/plain; charset=utf-8", b"404 page not found\n")
    status, _, body = await _get(server, "/custom/api/v1/namespaces/default/pods/web/exec")
    assert (status, body) == (403, b"Forbidden\n")  # the filter sees the path with the prefix taken off


async def test_a_refused_host_gets_kubectls_forbidden() -> None:
    status, headers, body = await _get(ProxyServer(DEAD, "/", Filter()), "/api/v1/pods", headers={"Host": "evil.example"})
    assert (status, body) == (403, b"Forbidden\n")
    assert headers["Content-Type"] == "text/plain; charset=utf-8" and headers["X-Content-Type-Options"] == "nosniff"


async def test_an_unreachable_api_server_is_a_500_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, body = await _get(ProxyServer(DEAD, "/", Filter()), "/api/v1/pods")
    assert status == 500 and b"127.0.0.1" in body and body.endswith(b"\n")
    assert "Error while proxying request" in capsys.readouterr().err


async def test_static_files_are_served_as_gos_file_server_serves_them(www: Path) -> None:
    server = ProxyServer(DEAD, "/api/", Filter(), str(www), "/static")
    status, headers, body = await _get(server, "/static/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == (b'<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n'
                    b'<a href="a.txt">a.txt</a>\n<a href="sub/">sub/</a>\n</pre>\n')
    status, headers, body = await _get(server, "/static/a.txt")
    assert (status, headers["Content-Type"], body) == (200, "text/plain; charset=utf-8", b"hello\n")
    assert (await _get(server, "/static/sub"))[1]["Location"] == "sub/"
    assert (await _get(server, "/static/a.txt/"))[1]["Location"] == "../a.txt"
    assert (await _get(server, "/static/nope"))[2] == b"404 page not found\n"
    assert (await _get(server, "/static"))[1]["Location"] == "/static/"
    assert (await _get(server, "/other"))[0] == 404  # neither prefix: the API is under /api/ only
