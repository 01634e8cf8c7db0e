"""`kube-tui wait --for=condition=Ready pod/web`: wait on a watch until objects meet a condition, as kubectl wait.

--for is `delete`, `create`, `condition=TYPE[=STATUS]` or `jsonpath='{PATH}'[=VALUE]`. Each object named or
selected is waited on in turn (its own informer, on its name), all within one --timeout, and reported as it
is met; what failed is said at the end, kubectl's way, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from control import errors
from control.api import kinds
from control.api.cron import CronError, parse_go_duration
from control.client import Client
from control.errors import ApiError
from control.informer import Informer
from tui import manifests, printers
from tui.commands.common import add_client_args, fail, with_client
from tui.printers import jsonpath
from tui.printers.output import sorted_keys
from tui.waitfor import For, met, parse_for

WEEK = 168 * 3600.0  # what a negative --timeout means
OUTPUTS = ("", "json", "yaml", "name")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("resources", nargs="*", metavar="KIND [NAME...] | KIND/NAME...",
                   help="what to wait on: pods web-1 web-2, pod/web-1 deploy/web, or a kind with -l, --all or "
                        "--field-selector")
    p.add_argument("--for", dest="for_", default="", metavar="CONDITION",
                   help="delete | create | condition=TYPE[=STATUS] (STATUS defaults to True; compared without "
                        "case) | jsonpath='{PATH}'[=VALUE] (no VALUE: the field is there)")
    p.add_argument("--timeout", default="30s",
                   help="how long to wait, a Go duration (default 30s; 0: check once; negative: a week)")
    p.add_argument("-f", "--filename", action="append", help="wait on the objects these manifests name")
    p.add_argument("-l", "--selector", default="", help="label selector, e.g. app=web")
    p.add_argument("--field-selector", default="", help="field selector, e.g. status.phase=Running")
    p.add_argument("--all", action="store_true", help="every object of the kind in the namespace")
    p.add_argument("-n", "--namespace", default=None, help="namespace (default: default)")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="select across every namespace")
    p.add_argument("-o", "--output", default="", help="name | json | yaml | jsonpath=TEMPLATE (default: "
                                                       "'KIND/NAME condition met')")
    add_client_args(p)


# -- what to wait on ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One object by name, or (name "") every object a selector finds."""

    info: kinds.KindInfo
    namespace: str | None
    name: str = ""


NO_RESOURCES = ("error: You must provide one or more resources by argument or filename.\n"
                "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                "   '<resource> <name>'\n   '<resource>'")


def targets(args: argparse.Namespace) -> list[Target]:
    """The objects the arguments name, or the kinds to select from, in kubectl's order; ValueError with its
    words for arguments it refuses."""
    ns = args.namespace or "default"
    words = list(args.resources)
    if args.filename:
        if words:
            raise ValueError("error: resource/name arguments cannot be provided when a path is specified")
        found = []
        for m in manifests.split_cluster(manifests.load(args.filename))[1]:
            info = kinds.by_kind(m.obj.get("kind", ""))
            md = m.obj.get("metadata") or {}
            found.append(Target(info, (md.get("namespace") or ns) if info.namespaced else None, md.get("name") or ""))
        return found
    if not words:
        raise ValueError(NO_RESOURCES)
    if any("/" in w for w in words):
        if not all("/" in w for w in words):
            raise ValueError("error: there is no need to specify a resource type as a separate argument when passing "
                             "arguments in resource/name form (e.g. 'kube-tui get resource/<resource_name>' instead "
                             "of 'kube-tui get resource resource/<resource_name>'")
        pairs = [(kinds.lookup(w.partition("/")[0]), w.partition("/")[2]) for w in words]
    else:
        infos = [kinds.lookup(k) for k in words[0].split(",") if k]
        names = words[1:]
        if names and args.selector:
            raise ValueError("error: name cannot be provided when a selector is specified")
        if not names:
            if not (args.selector or args.field_selector or args.all):
                raise ValueError("error: resource(s) were provided, but no name was specified")
            listing = None if args.all_namespaces else ns
            return [Target(info, listing if info.namespaced else None) for info in infos]
        pairs = [(info, n) for info in infos for n in names]
    if args.all_namespaces:
        raise ValueError("error: a resource cannot be retrieved by name across all namespaces")
    return [Target(info, ns if info.namespaced else None, name) for info, name in pairs]


# -- waiting on a watch ----------------------------------------------------------------------------------

class NotMet(Exception):
    """An object that did not meet the condition in time: kubectl's message."""


def _ref(info: kinds.KindInfo, name: str) -> str:
    return f"{info.resource}/{name}"  # kubectl's "on pods/web-1": the resource without its group


async def until(client: Client, info: kinds.KindInfo, namespace: str | None, name: str, deadline: float,
                done: Callable[[str, dict | None], bool]) -> dict | None:
    """Watch one object (an informer on its name) until done(event, obj): first ("SYNCED", the object or None)
    once the informer has listed, then each ADDED, MODIFIED or DELETED. Returns the object that did it;
    TimeoutError at the deadline (a loop.time())."""
    informer = Informer(client, info.kind, namespace=namespace, field_selector=f"metadata.name={name}")
    seen: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
    informer.add_handler(lambda o: seen.put_nowait(("ADDED", o)), lambda _, o: seen.put_nowait(("MODIFIED", o)),
                         lambda o: seen.put_nowait(("DELETED", o)))
    try:
        async with asyncio.timeout_at(deadline):
            await informer.start()
            await informer.wait_synced(timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
            obj = informer.get(namespace, name)
            if done("SYNCED", obj):
                return obj
            while True:
                event, obj = await seen.get()
                if done(event, obj):
                    return obj
    finally:
        await informer.stop()


async def wait_one(client: Client, info: kinds.KindInfo, obj: dict, want: For, deadline: float | None) -> dict:
    """Wait until obj meets `want` (deadline None: look once). Returns the object to print; NotMet, or an
    ApiError or ValueError (a jsonpath that cannot be compared), when it does not."""
    md = obj["metadata"]
    name, ns = md["name"], md.get("namespace") if info.namespaced else None
    if want.verb == "create":
        return obj  # it was found: that was the wait
    if deadline is None:
        if want.verb == "delete":
            try:
                await client.get(info.kind, name, ns)
            except ApiError as e:
                if e.code == 404:
                    return obj
                raise
        else:
            cur = await client.get(info.kind, name, ns)
            if met(cur, want):
                return cur
        raise NotMet(f"condition not met for {_ref(info, name)}")

    def gone(event: str, cur: dict | None) -> bool:
        return cur is None if event == "SYNCED" else event == "DELETED"

    def meets(event: str, cur: dict | None) -> bool:
        if cur is None:  # as kubectl's precondition: what is not there when the watch starts is an error
            raise errors.not_found(info.resource, name, info.group)
        return event != "DELETED" and met(cur, want)  # deleted meanwhile: wait on, for it to come back

    try:
        final = await until(client, info, ns, name, deadline, gone if want.verb == "delete" else meets)
    except TimeoutError:
        raise NotMet(f"timed out waiting for the condition on {_ref(info, name)}") from None
    return obj if want.verb == "delete" or final is None else final


async def wait_created(client: Client, found: list[Target], deadline: float | None) -> list[ApiError]:
    """--for=create: wait until every object named exists (TimeoutError if one does not in time). As kubectl's,
    which looks again every half second and gives up when several are missing at once: their NotFound errors."""
    missing: list[tuple[Target, ApiError]] = []
    for t in found:
        if t.name:  # a selector finds what is there now, as kubectl's does
            try:
                await _get(client, t)
            except ApiError as e:
                if e.code != 404:
                    raise
                missing.append((t, e))
    if len(missing) > 1:
        return [e for _, e in missing]
    if missing:
        if deadline is None:
            raise TimeoutError
        t = missing[0][0]
        await until(client, t.info, t.namespace, t.name, deadline, lambda _, cur: cur is not None)
    return []


def _message(e: Exception) -> str:
    return str(e)  # an ApiError reads "Error from server (NotFound): ..."; the others are kubectl's words


async def _get(client: Client, t: Target) -> dict:
    """The named object; as kubectl's, a missing namespace (other than default) is said rather than the object."""
    try:
        return await client.get(t.info.kind, t.name, t.namespace)
    except ApiError as e:
        if e.code != 404 or t.namespace in (None, "", "default"):
            raise
        try:
            await client.get("Namespace", t.namespace, None)
        except ApiError as missing:
            if missing.code == 404:
                raise missing from None
        raise


async def _objects(client: Client, t: Target, args: argparse.Namespace) -> list[dict]:
    if t.name:
        return [await _get(client, t)]
    try:
        return (await client.list(t.info.kind, t.namespace, label_selector=args.selector,
                                  field_selector=args.field_selector, chunk_size=500))["items"]
    except ApiError as e:
        group_version = t.info.api_version if t.info.group else f"/{t.info.api_version}"
        raise ApiError(e.code, e.reason, f'Unable to find "{group_version}, Resource={t.info.resource}" that match '
                                         f'label selector "{args.selector}", field selector "{args.field_selector}": '
                                         f"{e.message}") from None


def render(info: kinds.KindInfo, obj: dict, output: str) -> str:
    """One met object as kubectl's wait prints it."""
    if output in ("json", "yaml"):
        md = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
        shown = sorted_keys(dict(obj, metadata=md))  # kubectl prints what it read as a map: keys sorted
        return (printers.to_json(shown) if output == "json" else printers.to_yaml(shown)) + "\n"
    if output.startswith("jsonpath="):
        return jsonpath.render(output[len("jsonpath="):], obj)
    ref = f"{info.singular}{'.' + info.group if info.group else ''}/{obj['metadata']['name']}"
    return f"{ref}\n" if output == "name" else f"{ref} condition met\n"


async def wait(client: Client, args: argparse.Namespace, want: For, found: list[Target], timeout: float) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout else None
    if want.verb == "create":
        try:
            missing = await wait_created(client, found, deadline)
        except TimeoutError:
            return fail("error: timed out waiting for the condition")
        if missing:
            return fail("\n".join(_message(e) for e in missing))
    failed: list[Exception] = []
    visited = 0
    for t in found:
        try:
            objs = await _objects(client, t, args)
        except ApiError as e:
            if not (e.code == 404 and want.verb == "delete"):  # already gone: nothing to wait for
                failed.append(e)
            continue
        for obj in objs:
            visited += 1
            try:
                final = await wait_one(client, t.info, obj, want, deadline)
            except (NotMet, ApiError, ValueError) as e:
                failed.append(e)
                continue
            print(render(t.info, final, args.output), end="", flush=True)
    if len(failed) == 1:
        msg = _message(failed[0])
        return fail(msg if isinstance(failed[0], ApiError) else f"error: {msg}")
    if failed:  # kubectl's list of several errors: each as it is, without "error: "
        return fail("\n".join(_message(e) for e in failed))
    if not visited and want.verb != "delete":
        return fail("error: no matching resources found")
    return 0


def run(args: argparse.Namespace) -> int:
    # kubectl's order: the flags, the output format, --for, then the resources
    try:
        timeout = parse_go_duration(args.timeout)
    except CronError as e:
        return fail(f'error: invalid argument "{args.timeout}" for "--timeout" flag: {e}\n'
                    "See 'kube-tui wait --help' for usage.")
    if args.output not in OUTPUTS and not args.output.startswith("jsonpath="):
        return fail(f'error: unable to match a printer suitable for the output format "{args.output}", allowed '
                    "formats are: json,jsonpath,name,yaml")
    if args.output.startswith("jsonpath="):
        try:
            jsonpath.render(args.output[len("jsonpath="):], {})
        except jsonpath.JSONPathError as e:
            return fail(f"error: error parsing jsonpath {args.output[len('jsonpath='):]}, {e}")
    try:
        want = parse_for(args.for_)
    except ValueError as e:
        return fail(f"error: {e}")
    try:
        found = targets(args)
    except (ValueError, manifests.ManifestError) as e:
        return fail(str(e))
    except ApiError as e:
        return fail(f"error: {e.message}")
    if timeout < 0:
        timeout = WEEK
    result = with_client(args, lambda c: wait(c, args, want, found, timeout))
    return result if isinstance(result, int) else 0
