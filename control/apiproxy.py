"""kubectl proxy's server: plain HTTP on this machine, forwarded to the Kubernetes REST API (HTTPS) with the
admin's bearer token, so that `curl http://127.0.0.1:8001/api/v1/pods` reaches the API server as kubectl would.

As kubectl's pkg/proxy/proxy_server.go: a ServeMux of two prefixes (the API's, and the static files' when --www
is given), kubectl's request filter (paths, methods and the Host header, each a comma-separated list of
regular expressions) in front of the API, and bodies streamed both ways, so a `?watch=true` stream shows each
event as the API server sends it. Upgrades (exec, attach, port-forward streams) are not forwarded.
"""

from __future__ import annotations

import asyncio
import html
import mimetypes
import re
import ssl
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from yarl import URL

# kubectl's defaults (pkg/proxy: DefaultHostAcceptRE, DefaultPathAcceptRE, DefaultPathRejectRE, DefaultMethodRejectRE)
ACCEPT_HOSTS = r"^localhost$,^127\.0\.0\.1$,^\[::1\]$"
ACCEPT_PATHS = r"^.*"
REJECT_PATHS = r"^/api/.*/pods/.*/exec,^/api/.*/pods/.*/attach"
REJECT_METHODS = r"^$"

# Headers of one connection, not of the request (RFC 9110 7.6.1): Go's ReverseProxy drops them both ways.
_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                  "te", "trailer", "transfer-encoding", "upgrade"))
_TEXT = "text/plain; charset=utf-8"


class FilterError(ValueError):
    """A flag's regular expression does not compile."""


def regexps(flag: str, text: str) -> list[re.Pattern[str]]:
    """kubectl's MakeRegexpArray: a comma-separated list, each an unanchored regular expression ('' is none)."""
    out = []
    for part in text.split(",") if text else []:
        try:
            out.append(re.compile(part))
        except re.error as e:
            raise FilterError(f"{flag}: {part!r} is not a regular expression: {e}; "
                              "give a comma-separated list of regular expressions") from None
    return out


def _matches(value: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(p.search(value) for p in patterns)  # Go's MatchString: anywhere in the string


@dataclass
class Filter:
    """kubectl's FilterServer: which requests reach the API server."""

    accept_paths: list[re.Pattern[str]] = field(default_factory=lambda: regexps("--accept-paths", ACCEPT_PATHS))
    reject_paths: list[re.Pattern[str]] = field(default_factory=lambda: regexps("--reject-paths", REJECT_PATHS))
    accept_hosts: list[re.Pattern[str]] = field(default_factory=lambda: regexps("--accept-hosts", ACCEPT_HOSTS))
    reject_methods: list[re.Pattern[str]] = field(default_factory=lambda: regexps("--reject-methods", REJECT_METHODS))

    @classmethod
    def parse(cls, accept_paths: str, reject_paths: str, accept_hosts: str, reject_methods: str) -> Filter:
        return cls(regexps("--accept-paths", accept_paths), regexps("--reject-paths", reject_paths),
                   regexps("--accept-hosts", accept_hosts), regexps("--reject-methods", reject_methods))

    def accept(self, method: str, path: str, host: str) -> bool:
        """A rejected path or method loses even when accepted; else both the path and the host must match."""
        if _matches(path, self.reject_paths) or _matches(method, self.reject_methods):
            return False
        return _matches(path, self.accept_paths) and _matches(host, self.accept_hosts)


def host_of(header: str) -> str:
    """Go's extractHost, net.SplitHostPort's host: "localhost:8001" -> "localhost", "[::1]:8001" -> "::1"
    (so, as in kubectl, only a bare "[::1]" matches the default --accept-hosts); the header itself when it
    has no port."""
    if header.startswith("["):
        end = header.find("]")
        if end > 0 and header[end + 1:end + 2] == ":" and header.count("]") == 1:
            return header[1:end]
        return header
    host, colon, _ = header.rpartition(":")
    if not colon or ":" in host:  # no port, or an IPv6 address without brackets: SplitHostPort fails
        return header
    return host


def clean_path(p: str) -> str:
    """Go's ServeMux cleanPath: path.Clean, keeping a trailing slash."""
    if not p:
        return "/"
    if not p.startswith("/"):
        p = "/" + p
    parts: list[str] = []
    for seg in p.split("/"):
        if seg == "..":
            if parts:
                parts.pop()
        elif seg not in ("", "."):
            parts.append(seg)
    cleaned = "/" + "/".join(parts)
    return cleaned + "/" if p.endswith("/") and cleaned != "/" else cleaned


def _text(status: int, text: str) -> web.Response:
    """Go's http.Error: the text and a newline, as plain text, never sniffed."""
    return web.Response(status=status, body=(text + "\n").encode(),
                        headers={"Content-Type": _TEXT, "X-Content-Type-Options": "nosniff"})


def _redirect(request: web.BaseRequest, location: str) -> web.Response:
    """Go's http.Redirect with 301: a short HTML body for GET and HEAD."""
    headers = {"Location": location}
    if request.method in ("GET", "HEAD"):
        headers["Content-Type"] = "text/html; charset=utf-8"
        return web.Response(status=301, headers=headers,
                            body=f'<a href="{html.escape(location)}">Moved Permanently</a>.\n\n'.encode())
    return web.Response(status=301, headers=headers)


def not_found() -> web.Response:
    return _text(404, "404 page not found")


def forbidden() -> web.Response:
    return _text(403, "Forbidden")


def _prefix(p: str) -> str:
    return p if p.endswith("/") else p + "/"


@dataclass
class Upstream:
    """Where the REST API is and how to reach it: its https:// address, the CA it is verified with and the
    bearer token every forwarded request carries."""

    address: str
    token: str | None
    ca_pem: bytes


class ProxyServer:
    """The HTTP handler of one `kube-tui proxy`."""

    def __init__(self, upstream: Upstream, api_prefix: str = "/", filter_: Filter | None = None,
                 www: str | None = None, www_prefix: str = "/static/") -> None:
        self.upstream = upstream
        self.api_prefix = _prefix(api_prefix)
        self.filter = filter_
        self.www = Path(www) if www else None
        self.www_prefix = _prefix(www_prefix)
        self._session: aiohttp.ClientSession | None = None
        self._streams: set[asyncio.Task[object]] = set()  # the requests being forwarded (watches last)

    def _patterns(self) -> list[str]:
        return [self.api_prefix, *([self.www_prefix] if self.www is not None else [])]

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            tls = ssl.create_default_context(cadata=self.upstream.ca_pem.decode())
            # no total timeout: a watch lasts as long as its client wants; bodies pass through compressed or not,
            # as the client asked, and headers the client did not send are not added
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=tls), auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
                skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"))
        return self._session

    async def close(self) -> None:
        """End the requests being forwarded (an open watch would hold the shutdown up) and the client."""
        for task in list(self._streams):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Go's ServeMux, then the handler of the longest prefix that matches."""
        path = request.path
        if request.method != "CONNECT":
            cleaned = clean_path(path)
            if cleaned != path:
                return _redirect(request, cleaned + (f"?{request.query_string}" if request.query_string else ""))
            if not path.endswith("/") and path + "/" in self._patterns():
                return _redirect(request, path + "/" + (f"?{request.query_string}" if request.query_string else ""))
        pattern = max((p for p in self._patterns() if path.startswith(p)), key=len, default=None)
        if pattern is None:
            return not_found()
        if pattern == self.api_prefix:
            return await self.api(request)
        return await self.static(request, path[len(pattern):])

    async def api(self, request: web.BaseRequest) -> web.StreamResponse:
        path, raw = request.path, request.raw_path.partition("?")[0]
        if not self.api_prefix.startswith("/api"):  # kubectl's stripLeaveSlash: /custom/api/v1 -> /api/v1
            stripped = self.api_prefix.rstrip("/")
            path, raw = "/" + path[len(stripped):].lstrip("/"), "/" + raw[len(stripped):].lstrip("/")
        if self.filter is not None and not self.filter.accept(request.method, path, host_of(request.host)):
            return forbidden()
        return await self.forward(request, raw)

    async def forward(self, request: web.BaseRequest, raw_path: str) -> web.StreamResponse:
        """One request to the REST API and its answer back, each body streamed as it comes."""
        url = self.upstream.address + raw_path + (f"?{request.query_string}" if request.query_string else "")
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _HOP and k.lower() != "host"]
        if self.upstream.token:
            headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
            headers.append(("Authorization", f"Bearer {self.upstream.token}"))
        if request.remote:
            headers.append(("X-Forwarded-For", request.remote))
        data = _body(request) if request.body_exists else None
        session = await self.session()
        resp: web.StreamResponse | None = None
        task = asyncio.current_task()
        if task is not None:
            self._streams.add(task)
        try:
            async with session.request(request.method, URL(url, encoded=True), headers=headers, data=data,
                                       allow_redirects=False) as r:
                resp = web.StreamResponse(status=r.status, reason=r.reason)
                for k, v in r.headers.items():
                    if k.lower() not in _HOP:
                        resp.headers.add(k, v)
                await resp.prepare(request)
                async for chunk in r.content.iter_any():
                    await resp.write(chunk)
                await resp.write_eof()
                return resp
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            if resp is not None and resp.prepared:
                raise  # the answer had begun: the client's connection is cut, as Go's proxy does
            message = str(e) or type(e).__name__
            print(f"Error while proxying request: {message}", file=sys.stderr, flush=True)
            return _text(500, message)
        finally:
            if task is not None:
                self._streams.discard(task)

    async def static(self, request: web.BaseRequest, rest: str) -> web.StreamResponse:
        """Go's FileServer under --www-prefix: a file, a directory's index.html or its listing."""
        assert self.www is not None
        upath = "/" + rest
        if upath.endswith("/index.html"):
            return web.Response(status=301, headers={"Location": "./"})
        target = self.www / upath.lstrip("/")
        try:
            if target.is_dir():
                if not upath.endswith("/"):
                    return web.Response(status=301, headers={"Location": Path(upath).name + "/"})
                if (target / "index.html").is_file():
                    target = target / "index.html"
                else:
                    return web.Response(body=_listing(target).encode(), content_type="text/html", charset="utf-8")
            elif upath.endswith("/") and target.is_file():
                return web.Response(status=301, headers={"Location": "../" + Path(upath.rstrip("/")).name})
            body = target.read_bytes()
        except FileNotFoundError:
            return not_found()
        except NotADirectoryError:
            return not_found()
        except PermissionError:
            return _text(403, "403 Forbidden")
        kind, _ = mimetypes.guess_type(target.name)
        if kind is None or kind.startswith("text/"):
            kind = f"{kind or 'text/plain'}; charset=utf-8"
        return web.Response(body=body, headers={"Content-Type": kind, "Accept-Ranges": "bytes"})


def _listing(d: Path) -> str:
    """Go's dirList: each entry a link, directories with a trailing slash, by name."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in d.iterdir())
    links = "".join(f'<a href="{html.escape(n)}">{html.escape(n)}</a>\n' for n in names)
    return f'<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n{links}</pre>\n'


async def _body(request: web.BaseRequest) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_any():
        yield chunk
