"""The built-in nginx image: an HTTP server on the pod IP that names the pod serving each request, or, when
the container has /usr/share/nginx/html (a volume mounted there), the files there, as the real image's default
server serves them.

Run as `python nodes/images/nginx.py --listen 80 [--listen 8080 ...]`; stdlib only, because the
runtime starts it with `python -I -S` (no site-packages, no PYTHONPATH) for a fast start. In the container,
`nginx -s stop|quit|reload|reopen` (nodes/images/bin/nginx, on the image's PATH) signals the container's own
nginx, as a preStop hook of the docs does with `nginx -s quit`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import mimetypes
import os
import signal
import socket
import sys
import time
import urllib.parse

VERSION = os.environ.get("NGINX_VERSION") or "1.27.0"  # the image sets it from its tag
KEEPALIVE_TIMEOUT = 65.0  # nginx's keepalive_timeout default
LINGERING_TIMEOUT = 5.0  # nginx's lingering_timeout: how long an unused request body is read and dropped
MAX_HEADER = 64 * 1024


def _now_local() -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())


def _now_error_log() -> str:
    return time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime())


def page(hostname: str, ip: str, port: int) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n"
        "<h1>Welcome to nginx!</h1>\n"
        f"<p>Served by pod <b>{hostname}</b> at <b>{ip}:{port}</b>.</p>\n"
        "<p><em>kube-tui built-in nginx image.</em></p>\n</body>\n</html>\n"
    ).encode()


def _error_page(status: str) -> bytes:
    return (f"<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}</h1></center>\r\n"
            f"<hr><center>nginx/{VERSION}</center>\r\n</body>\r\n</html>\r\n").encode()


NOT_FOUND = _error_page("404 Not Found")
FORBIDDEN = _error_page("403 Forbidden")
# The default server's `root` and `index` in the real image's /etc/nginx/conf.d/default.conf.
HTML_ROOT = "/usr/share/nginx/html"
INDEX = ("index.html", "index.htm")


def serves_files(root: str) -> bool:
    """Whether the container has `root` from a volume (it, its parent or an entry in it, a subPath's file, is a
    mount point in the container's own view): then it serves those files, as the real image does. A container
    without one sees the node's own filesystem, where an nginx installed on the host has this directory too:
    that one is not the pod's."""
    if not os.path.isdir(root):
        return False
    if os.path.ismount(root) or os.path.ismount(os.path.dirname(root)):
        return True
    with contextlib.suppress(OSError):
        return any(os.path.ismount(os.path.join(root, e)) for e in os.listdir(root))
    return False


def static_file(root: str, path: str) -> tuple[int, bytes, str]:
    """(status, body, content type) for `path` under `root`, as nginx's static module answers: a directory's
    index file, 403 for a directory without one, 404 for what is not there."""
    decoded = urllib.parse.unquote(path)
    parts = [p for p in decoded.split("/") if p not in ("", ".")]
    if ".." in parts or "\x00" in decoded:  # nginx refuses an encoded NUL as it refuses a step out of the root
        return 400, b"<html><body><h1>400 Bad Request</h1></body></html>\r\n", "text/html"
    full = os.path.join(root, *parts)
    if os.path.isdir(full):
        full = next((os.path.join(full, i) for i in INDEX if os.path.isfile(os.path.join(full, i))), "")
        if not full:
            return 403, FORBIDDEN, "text/html"
    try:
        with open(full, "rb") as f:
            body = f.read()
    except OSError:
        return 404, NOT_FOUND, "text/html"
    return 200, body, mimetypes.guess_type(full)[0] or "application/octet-stream"


def _body_length(head: bytes) -> int | None:
    """The length of the request body after this head: its Content-Length, 0 without one, None if chunked."""
    length = 0
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "transfer-encoding" and value.strip().lower() != "identity":
            return None
        if name == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    return length


async def _drain_to_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


class Server:
    """One nginx worker's worth of HTTP/1.1 with keep-alive, enough for probes, curl and load tests."""

    def __init__(self, ip: str, hostname: str) -> None:
        self.ip = ip
        self.hostname = hostname

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("-", 0)
        port = (writer.get_extra_info("sockname") or (self.ip, 80))[1]
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), KEEPALIVE_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                    return
                keep = self._respond(head, peer[0], port, writer)
                await writer.drain()
                # nginx discards a request body it does not use (ngx_http_discard_request_body), and never closes
                # on a client still sending: a reset would destroy the answer before a proxy in front reads it
                body = _body_length(head)
                if body:
                    try:
                        await asyncio.wait_for(reader.readexactly(body), LINGERING_TIMEOUT)
                    except (asyncio.IncompleteReadError, TimeoutError):
                        return
                elif body is None:  # chunked: lingering close, as nginx's lingering_close
                    keep = False
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(_drain_to_eof(reader), LINGERING_TIMEOUT)
                if not keep:
                    return
        except ConnectionError:
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _respond(self, head: bytes, client: str, port: int, writer: asyncio.StreamWriter) -> bool:
        """Write one response; False when the connection must close after it."""
        lines = head.decode("latin-1").split("\r\n")
        request_line = lines[0]
        parts = request_line.split()
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if len(parts) != 3:
            self._send(writer, 400, b"<html><body><h1>400 Bad Request</h1></body></html>\r\n", False, "GET")
            self._log(client, request_line, 400, 0, headers)
            return False
        method, target, version = parts
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        path = target.split("?", 1)[0]
        content_type = "text/html"
        if method not in ("GET", "HEAD"):
            status, body = 405, b"<html><body><h1>405 Not Allowed</h1></body></html>\r\n"
        elif serves_files(HTML_ROOT):
            status, body, content_type = static_file(HTML_ROOT, path)
        elif path in ("/", "/index.html"):
            status, body = 200, page(self.hostname, self.ip, port)
        else:
            status, body = 404, NOT_FOUND
        self._send(writer, status, body, keep, method, content_type)
        self._log(client, request_line, status, len(body) if method != "HEAD" else 0, headers)
        return keep

    def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, keep: bool, method: str,
              content_type: str = "text/html") -> None:
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Not Allowed"}[status]
        head = (f"HTTP/1.1 {status} {reason}\r\nServer: nginx/{VERSION}\r\n"
                f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n")
        writer.write(head.encode() + (body if method != "HEAD" else b""))

    def _log(self, client: str, request_line: str, status: int, size: int, headers: dict[str, str]) -> None:
        # nginx's "combined" access log format, which the real image sends to stdout.
        referer = headers.get("referer", "-")
        agent = headers.get("user-agent", "-")
        print(f'{client} - - [{_now_local()}] "{request_line}" {status} {size} "{referer}" "{agent}"',
              flush=True)


# nginx -s NAME: the signal the master gets (ngx_signal_process)
SIGNALS = {"stop": signal.SIGTERM, "quit": signal.SIGQUIT, "reopen": signal.SIGUSR1, "reload": signal.SIGHUP}
PID_FILE = "/var/run/nginx.pid"  # where the real image's master writes its pid


def masters() -> list[int]:
    """The nginx serving in this container: there is no pid file to read (the container may share the node's
    filesystem), so the processes running this program in the same mount namespace with the same pod (HOSTNAME
    and POD_IP in their environment) as the caller, an exec in the container."""
    script = os.path.realpath(__file__).encode()
    wanted = {k.encode(): os.environ.get(k, "").encode() for k in ("HOSTNAME", "POD_IP")}
    try:
        namespace = os.readlink("/proc/self/ns/mnt")
    except OSError:
        namespace = ""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            # the interpreter running this script, not a shim whose command names it, nor an `nginx -s`
            at = argv.index(script) if script in argv else 0
            if not at or not all(a.startswith(b"-") for a in argv[1:at]) or b"-s" in argv[at:] \
                    or os.readlink(f"/proc/{entry}/ns/mnt") != namespace:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = dict(item.partition(b"=")[::2] for item in f.read().split(b"\0") if item)
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if all(env.get(k) == v for k, v in wanted.items()):
            found.append(int(entry))
    return found


def send_signal(name: str) -> int:
    """`nginx -s NAME`, as the real binary: a notice on stderr, the signal to the master, exit 0."""
    print(f"{_now_error_log()} [notice] {os.getpid()}#{os.getpid()}: signal process started", file=sys.stderr,
          flush=True)
    pids = masters()
    if not pids:
        print(f'{_now_error_log()} [error] {os.getpid()}#{os.getpid()}: open() "{PID_FILE}" failed (2: No such file '
              "or directory)", file=sys.stderr, flush=True)
        return 1
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, SIGNALS[name])
    return 0


async def serve(ip: str, ports: list[int], hostname: str) -> int:
    server = Server(ip, hostname)
    servers: list[asyncio.base_events.Server] = []
    for port in ports:
        try:
            servers.append(await asyncio.start_server(server.handle, ip, port, limit=MAX_HEADER,
                                                      reuse_address=True))
        except OSError as e:
            print(f"{_now_error_log()} [emerg] 1#1: bind() to {ip}:{port} failed ({e.errno}: {e.strerror})",
                  file=sys.stderr, flush=True)
            print(f"nginx: [emerg] bind() to {ip}:{port} failed ({e.errno}: {e.strerror})",
                  file=sys.stderr, flush=True)
            return 1
    print(f"{_now_error_log()} [notice] 1#1: nginx/{VERSION}", file=sys.stderr, flush=True)
    print(f"{_now_error_log()} [notice] 1#1: start worker processes", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def received(sig: signal.Signals, then: str) -> None:
        print(f"{_now_error_log()} [notice] 1#1: signal {sig.value} ({sig.name}) received, {then}", file=sys.stderr,
              flush=True)
        if then in ("exiting", "shutting down"):
            stop.set()

    # nginx exits 0 on TERM/INT (fast shutdown) and QUIT (graceful shutdown); HUP (reload) and USR1 (reopen the
    # logs) leave it serving.
    for sig, then in ((signal.SIGTERM, "exiting"), (signal.SIGINT, "exiting"), (signal.SIGQUIT, "shutting down"),
                      (signal.SIGHUP, "reconfiguring"), (signal.SIGUSR1, "reopening logs")):
        loop.add_signal_handler(sig, received, sig, then)
    await stop.wait()
    for s in servers:
        s.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nginx")
    parser.add_argument("--listen", type=int, action="append", default=[])
    parser.add_argument("-s", dest="signal", choices=sorted(SIGNALS), help="send a signal to the master process")
    opts = parser.parse_args(argv)
    if opts.signal:
        return send_signal(opts.signal)
    ip = os.environ.get("POD_IP") or "0.0.0.0"
    hostname = os.environ.get("HOSTNAME") or socket.gethostname()
    print("/docker-entrypoint.sh: Configuration complete; ready for start up", flush=True)
    return asyncio.run(serve(ip, opts.listen or [80], hostname))


if __name__ == "__main__":
    sys.exit(main())
