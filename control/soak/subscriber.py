"""A plain watch client in its own process, for the frozen-subscriber scenario: informers on pods and leases,
printing what its caches hold (`python -m control.soak.subscriber --server ... --token ...`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal

from control import aio
from control.client import Client
from control.informer import Informer


async def main(args: argparse.Namespace) -> None:
    client = Client(args.server, token=args.token, server_key=args.server_key, identity="soak-subscriber", retry_for=60)
    pods = Informer(client, "Pod", silence_timeout=1.5)
    leases = Informer(client, "Lease", namespace="soak", silence_timeout=1.5)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for inf in (pods, leases):
            await inf.start()
            await inf.wait_synced(60)
        print("synced", flush=True)
        while not stop.is_set():
            print(f"cache pods={len(pods)} leases={len(leases)} leases_rev={leases.revision} "
                  f"relists={pods.relists + leases.relists}", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)
    finally:
        for inf in (pods, leases):
            await inf.stop()
        await client.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--token", default=os.environ.get("KUBE_TUI_TOKEN"), help="default: $KUBE_TUI_TOKEN")
    p.add_argument("--server-key", default=None)
    aio.run(main(p.parse_args()))
