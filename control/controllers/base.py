"""What every controller shares: a work queue of object keys, a sync function, workers, an event recorder."""

from __future__ import annotations

import asyncio
import logging

from control.aio import cancel_and_wait  # noqa: F401  (re-exported for the controllers)
from control.client import Client
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings
from control.workqueue import WorkQueue, run_workers

log = logging.getLogger("kube_tui.controllers")


class Controller:
    """Subclasses set `name` (the Events' source.component), register informer handlers, and define sync()."""

    name = "controller"
    event_source = ""  # the Events' source.component when it is not `name` (the disruption controller's)
    workers = 5

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        self.client = client
        self.informers = informers
        self.timings = timings
        self.recorder = events.new_recorder(self.event_source or self.name)
        # client-go backs a failing key off exponentially; capped so a demo never waits minutes for a retry
        self.queue: WorkQueue[Key] = WorkQueue(self.name, base_delay=0.005, max_delay=min(30.0, max(timings.backoff_max, 1.0)))
        self.log = logging.getLogger(f"kube_tui.controllers.{self.name}")

    def enqueue(self, obj: dict) -> None:
        self.queue.add(key_of(obj))

    def enqueue_after(self, obj: dict, delay: float) -> None:
        self.queue.add_after(key_of(obj), delay)

    async def sync(self, key: Key) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        try:
            await run_workers(self.queue, self.sync, self.workers, on_error=self._on_error)
        finally:
            self.queue.shutdown()

    def _on_error(self, key: Key, e: Exception) -> None:
        # Conflicts and vanished objects are the normal weather of optimistic concurrency: retry quietly.
        if isinstance(e, ApiError) and e.code in (404, 409):
            self.log.debug("%s: sync %s/%s: %s (retrying)", self.name, key[0], key[1], e.message)
        elif isinstance(e, ApiError):
            self.log.warning("%s: sync %s/%s failed: %s (retrying)", self.name, key[0], key[1], e.message)
        else:
            self.log.error("%s: sync %s/%s failed", self.name, key[0], key[1], exc_info=e)


async def gather_errors(*aws: object) -> list[BaseException]:
    """Run awaitables concurrently; return the exceptions they raised (not cancellation)."""
    results = await asyncio.gather(*aws, return_exceptions=True)  # type: ignore[arg-type]
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)]
