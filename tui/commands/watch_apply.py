"""`kube-tui apply -f ... --watch`: apply, then apply again whenever a manifest is saved, until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from control.client import Client
from tui import manifests
from tui.commands.apply import apply_all
from tui.commands.common import fail, with_client


def watch_and_apply(args: argparse.Namespace, items: list[manifests.Manifest], *, field_validation: str | None = None,
                    debounce: int = 300) -> int:
    import watchfiles

    from tui.views.ops import relevant, watch_targets

    if "-" in args.filename:
        return fail("error: --watch needs files or directories to watch, not - (stdin)")
    dirs, files, applied_dirs = watch_targets(args.filename)

    async def main(client: Client) -> int:
        await apply_all(client, items, create_only=False, namespace=args.namespace, field_validation=field_validation)
        watching = False
        # yield_on_timeout: an empty set once the watch is in place, so "watching" is only said when it is true
        async for changes in watchfiles.awatch(*dirs, debounce=debounce, recursive=False, yield_on_timeout=True,
                                               rust_timeout=200):
            if not watching:
                watching = True
                print(f"watching {', '.join(args.filename)} for changes (Ctrl-C stops)", file=sys.stderr, flush=True)
            paths = relevant((p for _, p in changes), files, applied_dirs)
            if not paths:
                continue
            try:
                fresh = manifests.load(paths)
            except manifests.ManifestError as e:
                print(e, file=sys.stderr, flush=True)  # a half-written file: the next save applies
                continue
            _, fresh = manifests.split_cluster(fresh)
            await apply_all(client, fresh, create_only=False, namespace=args.namespace, field_validation=field_validation)
            sys.stdout.flush()
        return 0

    try:
        result = with_client(args, main)
    except KeyboardInterrupt:
        return 0
    return result if isinstance(result, int) else 0
