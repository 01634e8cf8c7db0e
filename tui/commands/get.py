"""`kube-tui get KIND [NAME]`: kubectl's tables, -o wide|yaml|json|name, selectors and -w."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui import printers
from tui.commands.common import add_client_args, fail, with_client
from tui.printers.output import sorted_keys


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("kind", help="kind, resource or short name (pods, po, deploy, svc, no, ns, ...), several "
                                "joined by commas (deploy,rs,po), all, or KIND/NAME")
    p.add_argument("names", nargs="*", help="object names")
    p.add_argument("-n", "--namespace", default=None, help="namespace (default: default)")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument("-l", "--selector", default="", help="label selector, e.g. app=web,tier!=db")
    p.add_argument("--field-selector", default="", help="field selector, e.g. spec.nodeName=node-1")
    p.add_argument("-o", "--output", default="", help="wide | yaml | json | name | jsonpath=TEMPLATE | "
                   "jsonpath-file=FILE | custom-columns=HEADER:PATH,... | custom-columns-file=FILE")
    p.add_argument("--no-headers", action="store_true", help="tables without their header line")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, print changes as they happen")
    p.add_argument("--watch-only", action="store_true", help="print changes as they happen, without the list first")
    p.add_argument("--show-labels", action="store_true", help="a last column with the objects' labels")
    p.add_argument("-L", "--label-columns", action="append", default=[], metavar="KEY[,KEY...]",
                   help="a column for each of these labels' values")
    p.add_argument("--show-kind", action="store_true", help="names prefixed with their kind (deployment.apps/web)")
    p.add_argument("--sort-by", default="", metavar="JSONPATH",
                   help="order the objects by this field, e.g. .metadata.creationTimestamp")
    p.add_argument("--ignore-not-found", action="store_true", help="a name that is not there is no error")
    p.add_argument("--show-managed-fields", action="store_true", help="with -o yaml|json: keep metadata.managedFields")
    p.add_argument("--chunk-size", type=int, default=500,
                   help="list in pages of this many objects, like kubectl (0: one answer)")
    add_client_args(p)


def _hide_managed_fields(obj: dict) -> dict:
    # kubectl hides metadata.managedFields unless --show-managed-fields
    md = obj.get("metadata")
    if isinstance(md, dict) and "managedFields" in md:
        obj = dict(obj, metadata={k: v for k, v in md.items() if k != "managedFields"})
    return obj


def render(info: kinds.KindInfo, objs: list[dict], args: argparse.Namespace, *, header: bool = True,
           widths: list[int] | None = None) -> str:
    """The objects as get prints them; a table's column widths are kept in `widths` from call to call, as get -w's
    tabwriter keeps them (a row never narrower than one before it)."""
    out = args.output
    if out in ("yaml", "json") and not args.show_managed_fields:
        objs = [_hide_managed_fields(o) for o in objs]
    # kubectl prints the object itself only for exactly one kind and one name asked for; else a List
    single = len(objs) == 1 and getattr(args, "single_item", bool(args.names))
    if out == "yaml":
        if single:
            return printers.to_yaml(objs[0])
        return printers.to_yaml({"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}})
    if out == "json":
        if single:
            return printers.to_json(sorted_keys(objs[0]))
        return printers.to_json(sorted_keys({"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}))
    if out == "name":
        res = _resource_name(info)
        return "\n".join(f"{res}/{o['metadata']['name']}" for o in objs)
    if out.startswith("jsonpath="):
        from tui.printers import jsonpath

        target = objs[0] if single else {"apiVersion": "v1", "kind": "List", "items": objs, "metadata": {"resourceVersion": ""}}
        return jsonpath.render(out[len("jsonpath="):], target)
    if getattr(args, "columns", None) is not None:
        from tui.printers.columns import custom_columns

        return custom_columns(args.columns, objs, headers=header and not getattr(args, "no_headers", False))
    return printers.table(info.kind, objs, wide=out == "wide", all_namespaces=args.all_namespaces,
                          show_labels=getattr(args, "show_labels", False),
                          label_columns=label_keys(getattr(args, "label_columns", [])),
                          headers=header and not getattr(args, "no_headers", False), remember=widths)


def label_keys(flags: list[str]) -> list[str]:
    """-L a,b -L c: the label keys, in order."""
    return [k.strip() for f in flags for k in f.split(",") if k.strip()]


def _output_format(args: argparse.Namespace) -> str | None:
    """Read -o's file forms and custom columns into args (jsonpath-file becomes jsonpath=...); kubectl's error
    message when the format is not one it has, else None."""
    from tui.printers import columns

    out = args.output
    args.columns = None
    try:
        if out.startswith("jsonpath-file="):
            args.output = "jsonpath=" + _read_template(out[len("jsonpath-file="):], "--template")
        elif out.startswith("custom-columns-file="):
            args.columns = columns.parse_template(_read_template(out[len("custom-columns-file="):], "template"))
        elif out.startswith("custom-columns="):
            args.columns = columns.parse_spec(out[len("custom-columns="):])
        elif out == "custom-columns":
            raise ValueError("custom-columns format specified but no custom columns given")
    except ValueError as e:
        return f"error: {e}"
    if args.output not in ("", "wide", "yaml", "json", "name") and not args.output.startswith("jsonpath=") \
            and args.columns is None:
        return (f'error: unable to match a printer suitable for the output format "{out}", allowed formats are: '
                "custom-columns,custom-columns-file,json,jsonpath,jsonpath-file,name,wide,yaml")
    return None


def _read_template(path: str, what: str) -> str:
    """A -o ...-file's text; ValueError in kubectl's words (Go's for the system error) when it cannot be read."""
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        reason = (e.strerror or str(e)).lower()
        op = "read" if isinstance(e, IsADirectoryError) else "open"  # Go opens a directory, then fails to read it
        raise ValueError(f"error reading {what} {path}, {op} {path}: {reason}") from None


# kubectl's "all" category, of the kinds kube-tui serves (in kubectl's order)
ALL = ("pods", "services", "daemonsets", "deployments", "replicasets", "statefulsets", "horizontalpodautoscalers",
       "cronjobs", "jobs")


def _resource_name(info: kinds.KindInfo) -> str:
    return info.singular + (f".{info.group}" if info.group else "")


async def get(client: Client, args: argparse.Namespace) -> int:
    kind, names = args.kind, list(args.names)
    if "/" in kind:
        kind, _, n = kind.partition("/")
        names.insert(0, n)
    several = kind.lower() == "all" or "," in kind
    args.single_item = not several and len(names) == 1
    args.watch = args.watch or args.watch_only
    infos = [kinds.lookup(k) for k in (ALL if kind.lower() == "all" else kind.split(","))]
    ns = None if args.all_namespaces else (args.namespace or "default")
    if (refused := _output_format(args)) is not None:
        return fail(refused)
    if args.sort_by:
        from tui.printers.columns import relaxed_jsonpath

        try:
            relaxed_jsonpath(args.sort_by)
        except ValueError as e:
            return fail(f"error: {e}")
    if args.output.startswith("jsonpath="):
        from tui.printers import jsonpath

        try:
            jsonpath.render(args.output[len("jsonpath="):], {})  # the template's syntax, before asking the server
        except jsonpath.JSONPathError as e:
            return fail(f"error: error parsing jsonpath {args.output[len('jsonpath='):]}, {e}")
    if args.watch and args.sort_by:  # kubectl sorts the list it prints first, not what follows
        print("warning: --watch requested, --sort-by will be ignored for watch events received", file=sys.stderr,
              flush=True)
    if args.watch and several:
        return fail("error: you may only specify a single resource type")  # kubectl's words (get hpa,deploy -w)
    events: asyncio.Queue[dict] = asyncio.Queue()
    unsubscribe = None
    if args.watch:
        # As an informer: subscribe, and list once the server has the subscription (it answers a new one
        # with a bookmark), so that nothing changed after the list is missed.
        from control.informer import SUBSCRIBE_WAIT

        heard = asyncio.Event()

        def on_event(ev: dict) -> None:
            heard.set()
            if ev["type"] != "BOOKMARK":
                events.put_nowait(ev)
        unsubscribe = client.subscribe(infos[0].topic(), on_event)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(heard.wait(), SUBSCRIBE_WAIT)
    try:
        return await _get(client, args, infos, names, ns, several, events)
    finally:
        if unsubscribe is not None:
            unsubscribe()


async def _get(client: Client, args: argparse.Namespace, infos: list[kinds.KindInfo], names: list[str],
               ns: str | None, several: bool, events: asyncio.Queue[dict]) -> int:
    found: list[tuple[kinds.KindInfo, list[dict]]] = []
    widths: list[int] = []  # get -w: the table's column widths so far (kubectl's tabwriter remembers them)
    printed = 0  # get -w -o yaml|json|jsonpath: the objects printed so far
    errors = 0
    listed_at = 0
    for info in infos:
        objs: list[dict] = []
        if names:
            for n in names:
                try:
                    objs.append(await client.get(info.kind, n, ns or "default"))
                except ApiError as e:
                    if e.code == 404 and args.ignore_not_found:
                        continue
                    errors += 1
                    print(str(e), flush=True, file=sys.stderr)
        else:
            answer = await client.list(info.kind, ns if info.namespaced else None, label_selector=args.selector,
                                       field_selector=args.field_selector, topic=info.topic() if args.watch else None,
                                       chunk_size=max(0, args.chunk_size))
            objs = answer["items"]
            listed_at = int(answer["metadata"].get("resourceVersion") or 0)
        if objs and args.sort_by and _human_readable(args.output):
            from tui.printers.columns import sort_objects

            try:
                objs = sort_objects(objs, args.sort_by)
            except ValueError as e:
                return fail(f"error: {e}")
        if objs:
            found.append((info, objs))
    if args.watch_only:  # kubectl: the list is read (the watch starts after it), not printed
        pass
    elif not _human_readable(args.output) and not args.watch:
        try:
            _print_generic(infos[0], [(info, o) for info, objs in found for o in objs], args, errors=errors)
        except ValueError as e:
            return fail(f"error: {e}")
    elif found and args.output == "name":
        print("\n".join(render(info, objs, args) for info, objs in found), flush=True)
    elif found and args.watch and _one_by_one(args.output):
        # kubectl get -w prints object by object, the listed ones too (no List), as its events
        for info, objs in found:
            for o in objs:
                printed = _print_one(info, o, args, printed)
    elif found:
        # kubectl: a table per kind, a blank line between them, names prefixed by their resource
        tables = [render(info, _prefixed(info, objs) if several or args.show_kind else objs, args,
                         widths=widths if args.watch else None)
                  for info, objs in found]
        # as kubectl's: a template prints what it says, with no newline of its own
        print("\n\n".join(tables), end="" if args.output.startswith("jsonpath=") else "\n", flush=True)
    elif not names and not args.watch and not args.ignore_not_found:
        namespaced = any(info.namespaced for info in infos)
        print(printers.no_resources(ns if namespaced else None), file=sys.stderr)
    if args.watch and len(names) > 1:  # as kubectl: the objects listed, then its refusal to watch them
        print("error: you may only watch a single resource or type of resource at a time", file=sys.stderr)
        return 1
    if args.watch:
        seen = {(o["metadata"].get("namespace"), o["metadata"]["name"]): int(o["metadata"].get("resourceVersion") or 0)
                for _, objs in found for o in objs}
        await watch(infos[0], args, ns, set(names), header=not found or args.watch_only, events=events,
                    listed_at=listed_at, seen=seen,
                    widths=widths, printed=printed)
    return 1 if errors else 0


def _human_readable(output: str) -> bool:
    """Whether kubectl prints this output as the server's tables (a table per kind, sorted kind by kind)."""
    return output in ("", "wide")


def _print_generic(first: kinds.KindInfo, found: list[tuple[kinds.KindInfo, dict]], args: argparse.Namespace, *,
                   errors: int) -> None:
    """kubectl get's printGeneric: every kind's objects in one list (sorted together by --sort-by), printed once:
    an empty List, custom columns' headers or nothing (-o name) when there are none. Nothing when the one object
    asked for is missing, or nothing was found and --ignore-not-found. ValueError: --sort-by cannot order them."""
    if (not found and args.ignore_not_found) or (args.single_item and errors):
        return
    if args.sort_by and found:
        from tui.printers.columns import sort_objects

        order = {id(o): info for info, o in found}
        found = [(order[id(o)], o) for o in sort_objects([o for _, o in found], args.sort_by)]
    objs = [o for _, o in found]
    if args.output == "name":
        if found:
            print("\n".join(f"{_resource_name(info)}/{o['metadata']['name']}" for info, o in found), flush=True)
        return
    text = render(first, objs, args)
    if text:
        print(text, end="" if args.output.startswith("jsonpath=") else "\n", flush=True)


def _one_by_one(output: str) -> bool:
    """Whether get -w prints this output object by object, as kubectl's printer does (never a List)."""
    return output in ("json", "yaml") or output.startswith("jsonpath=")


def _print_one(info: kinds.KindInfo, obj: dict, args: argparse.Namespace, printed: int) -> int:
    """Print one object of get -w as kubectl's printer does: a YAML document after the first begins with ---,
    a template has no newline of its own. The count of objects printed, this one included."""
    text = render(info, [obj], argparse.Namespace(**{**vars(args), "single_item": True}))
    if args.output == "yaml" and printed:
        text = "---\n" + text
    print(text, end="" if args.output.startswith("jsonpath=") else "\n", flush=True)
    return printed + 1


def _prefixed(info: kinds.KindInfo, objs: list[dict]) -> list[dict]:
    """The objects with their names as kubectl shows them in a table of several kinds: deployment.apps/web."""
    res = _resource_name(info)
    return [dict(o, metadata=dict(o["metadata"], name=f"{res}/{o['metadata']['name']}")) for o in objs]


async def watch(info: kinds.KindInfo, args: argparse.Namespace, ns: str | None, names: set[str], header: bool, *,
                events: asyncio.Queue[dict], listed_at: int, seen: dict[tuple[str | None, str], int],
                widths: list[int], printed: int) -> None:
    """Print each change from `events` (subscribed to before the list): one the list (at revision `listed_at`)
    or a get (`seen`: each object's resourceVersion printed) already showed is left out."""
    from control.api.labels import parse_selector

    sel = parse_selector(args.selector)
    while True:
        ev = await events.get()
        obj = ev["object"]
        md = obj.get("metadata") or {}
        rv = int(md.get("resourceVersion") or 0)
        if rv and (rv <= listed_at or rv <= seen.get((md.get("namespace"), md.get("name", "")), 0)):
            continue
        if ns and info.namespaced and md.get("namespace") != ns:
            continue
        if names and md.get("name") not in names:
            continue
        if not sel.empty and not sel.matches(md.get("labels") or {}):
            continue
        if _one_by_one(args.output):
            printed = _print_one(info, obj, args, printed)
        else:
            print(render(info, [obj], args, header=header, widths=widths), flush=True)
        header = False


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: get(c, args))
    return result if isinstance(result, int) else 0
