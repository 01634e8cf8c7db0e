"""What the client commands share: finding the server, running a coroutine, printing errors kubectl's way."""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from control import aio, config
from control.client import Client
from control.errors import ApiError

T = TypeVar("T")


def output_format(output: str | None) -> str | None:
    """-o as kubectl's printer flags take it for create, apply and run: jsonpath-file=PATH read into jsonpath=TEXT
    and the template's syntax checked; ValueError in kubectl's words for a format kube-tui cannot print here."""
    from tui.printers import jsonpath

    if not output or output in ("yaml", "json", "name"):
        return output
    if output.startswith("jsonpath-file="):
        path = output[len("jsonpath-file="):]
        try:
            with open(path) as f:
                output = "jsonpath=" + f.read()
        except OSError as e:
            op = "read" if isinstance(e, IsADirectoryError) else "open"  # Go opens a directory, then cannot read it
            raise ValueError(f"error reading --template {path}, {op} {path}: {(e.strerror or str(e)).lower()}") from None
    if output.startswith("jsonpath="):
        try:
            jsonpath.render(output[len("jsonpath="):], {})
        except jsonpath.JSONPathError as e:
            raise ValueError(f"error parsing jsonpath {output[len('jsonpath='):]}, {e}") from None
        return output
    raise ValueError(f'unable to match a printer suitable for the output format "{output}", allowed formats are: '
                     "json,jsonpath,jsonpath-file,name,yaml")


def print_template(output: str, obj: dict) -> None:
    """-o jsonpath=TEMPLATE of one object (or List): what the template says, with no newline of its own."""
    from tui.printers import jsonpath

    print(jsonpath.render(output[len("jsonpath="):], obj), end="", flush=True)


@dataclass
class Printer:
    """kubectl's printer for create -f, replace and apply -o name: "pod/web replaced", or each object as -o asks
    (YAML documents apart, managedFields hidden)."""

    output: str | None
    shown: int = field(default=0)

    def show(self, obj: dict, operation: str) -> None:
        from tui.printers.output import sorted_keys, to_json, to_yaml

        if self.output == "name":
            print(kind_ref(obj), flush=True)
        elif self.output in ("yaml", "json"):
            md = obj.get("metadata") or {}
            if "managedFields" in md:  # hidden, as kubectl's --show-managed-fields=false
                obj = dict(obj, metadata={k: v for k, v in md.items() if k != "managedFields"})
            if self.output == "yaml":
                print(("---\n" if self.shown else "") + to_yaml(sorted_keys(obj)), flush=True)
            else:
                print(to_json(sorted_keys(obj)), flush=True)
        elif self.output and self.output.startswith("jsonpath="):
            print_template(self.output, obj)
        else:
            print(f"{kind_ref(obj)} {operation}", flush=True)
        self.shown += 1


def add_client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", "-s", help="API server address (default: $KUBE_TUI_SERVER, else the last `kube-tui control`)")
    p.add_argument("--token", help="credential (default: $KUBE_TUI_TOKEN, else the one `kube-tui control` recorded)")
    p.add_argument("--server-key", help="the API server's CURVE public key (default: $KUBE_TUI_SERVER_KEY, else recorded)")
    p.add_argument("--request-timeout", type=float, default=10.0, help="seconds to wait for the API server (default 10)")
    p.add_argument("--as", dest="as_user", metavar="USER",
                   help="act as this user (a ServiceAccount: system:serviceaccount:NS:NAME), if you may impersonate it")
    p.add_argument("--as-group", dest="as_group", action="append", default=[], metavar="GROUP",
                   help="act as a member of this group (repeat for more); needs --as")


def impersonation(args: argparse.Namespace) -> dict | None:
    """--as and --as-group, as the request envelope carries them (kubectl's Impersonate-User, -Group)."""
    user, groups = getattr(args, "as_user", None), list(getattr(args, "as_group", None) or [])
    if user is None and not groups:
        return None
    return {"user": user or "", "groups": groups}


def make_client(args: argparse.Namespace, identity: str = "kube-tui") -> Client:
    cfg = config.resolve(getattr(args, "server", None), getattr(args, "token", None), getattr(args, "server_key", None))
    t = getattr(args, "request_timeout", 10.0)
    return Client(cfg.server, token=cfg.token, timeout=t, retry_for=t, identity=identity, server_key=cfg.server_key,
                  impersonate=impersonation(args))


def fail(msg: str, code: int = 1) -> int:
    print(msg, file=sys.stderr)
    return code


def with_client(args: argparse.Namespace, fn: Callable[[Client], Awaitable[T]]) -> T | int:
    """Run fn(client) to completion; API errors print like kubectl's CheckErr prints them, exit code 1."""

    async def main() -> T:
        client = make_client(args, identity=f"kube-tui {getattr(args, 'command', '')}".strip())
        refused = refused_reason(client.server)
        if refused:
            raise ApiError(503, "ServiceUnavailable", f"the API server at {client.server} did not answer: {refused}")
        try:
            await client.connect(timeout=getattr(args, "request_timeout", 10.0))
            return await fn(client)
        finally:
            await client.close()

    try:
        return aio.run(main())
    except ApiError as e:
        if e.code == 503 and e.message.startswith("the API server at") and "did not answer" in e.message:
            why = " (connection refused)" if "connection refused" in e.message else ""
            return fail(
                f"error: cannot reach the API server at {make_client(args).server}{why}: is `kube-tui control` running? "
                "(set --server or $KUBE_TUI_SERVER)"
            )
        return report([e])  # kubectl's CheckErr: an Invalid one as "The Pod "web" is invalid: ..."


def refused_reason(server: str) -> str:
    """Fail fast like kubectl's "connection refused": ZeroMQ itself would just wait and retry."""
    if not server.startswith("tcp://"):
        return ""
    host, _, port = server[6:].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
            return ""
    except ConnectionRefusedError:
        return "connection refused"
    except (OSError, ValueError):
        return ""  # unknown: let the real client try and time out


def print_warnings(client: Client) -> None:
    for w in client.last_warnings:
        print(f"Warning: {w}", file=sys.stderr)


def kind_named(word: str, allowed: tuple[str, ...]) -> str | None:
    """The kind `word` names, in any spelling kubectl takes (po, pods, deploy, deployment.apps), if it is
    one of `allowed`; None otherwise."""
    from control.api import kinds

    try:
        kind = kinds.lookup(word).kind
    except ApiError:
        return None
    return kind if kind in allowed else None


def kind_ref(obj: dict) -> str:
    """kubectl's "deployment.apps/nginx" form."""
    from control.api import kinds

    info = kinds.by_kind(obj["kind"])
    res = info.singular + (f".{info.group}" if info.group else "")
    return f"{res}/{obj['metadata']['name']}"


def split_ref(ref: str, kind: str | None) -> tuple[str, str]:
    """Accept `KIND NAME` or `KIND/NAME`."""
    if kind is None and "/" in ref:
        k, _, n = ref.partition("/")
        return k, n
    if kind is None:
        raise ValueError(f'error: you must specify the type of resource for "{ref}"')
    return kind, ref


def any_result(x: Any) -> int:
    return x if isinstance(x, int) else 0


def stop_on_signal() -> asyncio.Event:
    """An event set at the first SIGINT, SIGTERM or SIGHUP (its terminal closed, or `kube-tui down` ended its
    tmux session), from now on: a command calls it before it starts anything, so that a signal while it starts
    is a graceful stop too, not Python's default death. The handlers stay, so a second signal cannot
    interrupt the shutdown."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in aio.stop_signals():
        loop.add_signal_handler(sig, stop.set)
    return stop


async def wait_for_signal() -> None:
    """Return at the first SIGINT, SIGTERM or SIGHUP (see stop_on_signal)."""
    await stop_on_signal().wait()


def with_source(e: ApiError, verb: str, source: str) -> ApiError:
    """kubectl's AddSourceToErr: the server's error, said of the file it came from."""
    return ApiError(e.code, e.reason, f'error when {verb} "{source}": {e.message}', e.details)


def report(errs: list[ApiError | str]) -> int:
    """kubectl's CheckErr of the errors a command collected, on stderr: one alone as kubectl words it (an
    Invalid one as "The Pod "web" is invalid: ...", another not from the server after "error: "); several one
    after another, each as the server said it."""
    if not errs:
        return 0
    if len(errs) == 1:
        e = errs[0]
        if isinstance(e, ApiError) and e.reason == "Invalid":
            text = invalid_message(e)
        elif isinstance(e, ApiError):
            text = str(e)
        else:
            text = e if e.startswith("error: ") else f"error: {e}"
    else:
        text = "\n".join(str(e) for e in errs)
    print(text, file=sys.stderr)
    return 1


def invalid_message(e: ApiError) -> str:
    """An Invalid error as kubectl prints it alone: the kind and name, then each distinct cause."""
    details = e.details
    if details is None:
        return "The request is invalid" + (f": {e.message}" if e.message else "")
    causes = list(dict.fromkeys(f"{c.get('field', '')}: {c.get('message', '')}" for c in details.get("causes") or []))
    if details.get("kind") or details.get("name"):
        head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid'
    else:
        head = "The request is invalid" + (f": {e.message}" if e.message and not causes else "")
    if not causes:
        return head
    if len(causes) == 1:
        return f"{head}: {causes[0]}"
    return f"{head}: \n" + "\n".join(f"* {c}" for c in causes)
