"""`kube-tui events [--for TYPE/NAME] [--types Normal,Warning] [-A] [-w] [-o yaml|json]`: the cluster's recent events,
oldest first, as kubectl events prints them (its own table: OBJECT is Kind/name, LAST SEEN the time since the last
occurrence, with how many and since when for a repeated event).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client
from tui.printers.status import parse_time, since
from tui.printers.tabwriter import tabwrite


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--for", dest="for_object", default="", metavar="TYPE/NAME",
                   help="only the events of this object (pod/web-1, deploy/web)")
    p.add_argument("--types", action="append", default=[], metavar="Normal,Warning", help="only events of these types")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument("-w", "--watch", action="store_true", help="after listing, print events as they come")
    p.add_argument("--no-headers", action="store_true", help="the table without its header line")
    p.add_argument("-o", "--output", default="", help="yaml | json (the EventList; with -w each event on its own)")
    add_client_args(p)


def event_time(ev: dict[str, Any]) -> float:
    """kubectl events' sort key: the series' last observation, else lastTimestamp, else eventTime."""
    series = ev.get("series") or {}
    for value in (series.get("lastObservedTime"), ev.get("lastTimestamp"), ev.get("eventTime")):
        t = parse_time(value) if value else None
        if t is not None:
            return t
    return 0.0


def last_seen(ev: dict[str, Any], now: float | None = None) -> str:
    """kubectl events' getInterval: `3m (x4 over 10m)` for a repeated event, else the time since it was first seen."""
    def ago(value: Any) -> str:
        return since(value, now) if value else "<unknown>"

    first = ago(ev.get("eventTime") or ev.get("firstTimestamp"))
    series = ev.get("series")
    if series:
        return f"{ago(series.get('lastObservedTime'))} (x{series.get('count', 0)} over {first})"
    if (ev.get("count") or 0) > 1:
        return f"{ago(ev.get('lastTimestamp'))} (x{ev['count']} over {first})"
    return first


def row(ev: dict[str, Any], all_namespaces: bool, now: float | None = None) -> str:
    obj = ev.get("involvedObject") or {}
    cells = [last_seen(ev, now), str(ev.get("type", "")), str(ev.get("reason", "")),
             f"{obj.get('kind', '')}/{obj.get('name', '')}", str(ev.get("message", "")).strip()]
    if all_namespaces:
        cells.insert(0, str((ev.get("metadata") or {}).get("namespace", "")))
    return "\t".join(cells)


def header(all_namespaces: bool) -> str:
    return ("NAMESPACE\t" if all_namespaces else "") + "LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE"


def _wanted_types(flags: list[str]) -> list[str]:
    types = sorted({t.strip() for f in flags for t in f.split(",") if t.strip()})
    for t in types:
        if t.lower() not in ("normal", "warning"):
            raise ValueError("error: valid --types are Normal or Warning")
    return types


def _field_selector(for_object: str) -> str:
    if not for_object:
        return ""
    kind_word, sep, name = for_object.partition("/")
    if not sep:
        raise ValueError("error: --for must be in resource/name form")
    if "/" in name:
        raise ValueError("error: arguments in resource/name form may not have more than one slash")
    try:
        info = kinds.lookup(kind_word)
    except ApiError as e:
        raise ValueError(f"error: {e.message}") from None
    return f"involvedObject.kind={info.kind},involvedObject.apiVersion={info.api_version},involvedObject.name={name}"


async def events(client: Client, args: argparse.Namespace) -> int:
    try:
        types = _wanted_types(args.types)
        selector = _field_selector(args.for_object)
    except ValueError as e:
        return fail(str(e))
    if args.output not in ("", "yaml", "json"):
        return fail(f'error: unable to match a printer suitable for the output format "{args.output}", allowed '
                    "formats are: json,yaml")
    ns = None if args.all_namespaces else args.namespace

    def wanted(ev: dict) -> bool:
        return not types or str(ev.get("type", "")).lower() in (t.lower() for t in types)

    queue: asyncio.Queue[dict] = asyncio.Queue()
    unsubscribe = client.subscribe(kinds.KINDS["Event"].topic(), queue.put_nowait) if args.watch else None
    try:
        listed = await client.list("Event", ns, field_selector=selector)
        items = sorted((_without_managed_fields(e) for e in listed["items"] if wanted(e)), key=event_time)
        if args.output and args.watch:  # kubectl events -w prints what its watch sends, event by event
            for i, e in enumerate(items):
                _print_object(e, args.output, first=i == 0)
        elif args.output and items:
            from tui.printers.output import to_json, to_yaml

            if args.output == "yaml":
                print(to_yaml({"apiVersion": "v1", "items": items, "kind": "EventList", "metadata": {}}))
            else:  # the typed EventList kubectl decoded: Go's field order
                print(to_json({"kind": "EventList", "apiVersion": "v1", "metadata": {},
                               "items": [_go_order(e) for e in items]}))
        elif items:
            lines = ([] if args.no_headers else [header(args.all_namespaces)]) + \
                [row(e, args.all_namespaces) for e in items]
            print(tabwrite("\n".join(lines), minwidth=6, padding=3), flush=True)
        elif not args.watch:  # kubectl says so whatever -o is, and prints no empty list
            print("No events found." if args.all_namespaces else f"No events found in {args.namespace} namespace.",
                  file=sys.stderr)
        if not args.watch:
            return 0
        return await _follow(args, queue, wanted, selector, printed=bool(items),
                             after=int(listed["metadata"].get("resourceVersion") or 0))
    finally:
        if unsubscribe is not None:
            unsubscribe()


async def _follow(args: argparse.Namespace, queue: asyncio.Queue[dict], wanted: Any, selector: str, *,
                  printed: bool, after: int) -> int:
    """events -w: each new or repeated event as it comes (a deleted one is not said, as kubectl)."""
    from control.api.fieldsel import parse_field_selector

    fields = parse_field_selector(selector, "Event") if selector else None
    need_header = not printed and not args.no_headers
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            change = await queue.get()
            ev = change.get("object") or {}
            md = ev.get("metadata") or {}
            if change.get("type") in ("DELETED", "BOOKMARK") or int(md.get("resourceVersion") or 0) <= after:
                continue
            if not args.all_namespaces and md.get("namespace") != args.namespace:
                continue
            if not wanted(ev) or (fields is not None and not fields.matches(ev)):
                continue
            if args.output:
                _print_object(_without_managed_fields(ev), args.output, first=not printed)
                printed = True
                continue
            lines = ([header(args.all_namespaces)] if need_header else []) + [row(ev, args.all_namespaces)]
            need_header = False
            print(tabwrite("\n".join(lines), minwidth=6, padding=3), flush=True)
    return 0


def _without_managed_fields(ev: dict[str, Any]) -> dict[str, Any]:
    """The event as kubectl's printers show it: managedFields hidden."""
    md = ev.get("metadata") or {}
    return dict(ev, metadata={k: v for k, v in md.items() if k != "managedFields"}) if "managedFields" in md else ev


def _print_object(ev: dict[str, Any], output: str, *, first: bool) -> None:
    """One event of events -w -o yaml|json, as kubectl's printer prints each: YAML documents apart."""
    from tui.printers.output import to_json, to_yaml

    if output == "yaml":
        print(("" if first else "---\n") + to_yaml(ev), flush=True)
    else:
        print(to_json(_go_order(ev)), flush=True)


# core/v1 Event's and ObjectReference's fields in their Go structs' order (kubectl's -o json of the typed object)
_EVENT = ("kind", "apiVersion", "metadata", "involvedObject", "reason", "message", "source", "firstTimestamp",
          "lastTimestamp", "count", "type", "eventTime", "series", "action", "related", "reportingComponent",
          "reportingInstance")
_REFERENCE = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_SOURCE = ("component", "host")


def _go_order(ev: dict[str, Any]) -> dict[str, Any]:
    """An event's fields as kubectl's -o json prints the typed Event (its metadata as every object's)."""
    from tui.printers.output import go_order

    def ordered(d: Any, order: tuple[str, ...]) -> Any:
        if not isinstance(d, dict):
            return d
        return {**{k: d[k] for k in order if k in d}, **{k: d[k] for k in d if k not in order}}

    ev = go_order(ev)
    out = ordered(ev, _EVENT)
    for key in ("involvedObject", "related"):
        if key in out:
            out[key] = ordered(out[key], _REFERENCE)
    if "source" in out:
        out["source"] = ordered(out["source"], _SOURCE)
    return out


def run(args: argparse.Namespace) -> int:
    result = with_client(args, lambda c: events(c, args))
    return result if isinstance(result, int) else 0
