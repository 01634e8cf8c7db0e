"""asyncio helpers every long-running component shares."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


async def cancel_and_wait(tasks: Iterable[asyncio.Task], *, retry: float = 0.1) -> None:
    """Cancel tasks and wait until they are done, cancelling again if one swallowed it.

    Python 3.11's asyncio.wait_for can lose a cancellation that races with its inner future completing
    (fixed in 3.12); a worker that then loops back to its queue would otherwise never end.
    """
    tasks = [t for t in tasks if t is not None]
    pending = {t for t in tasks if not t.done()}
    while pending:
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=retry)
    for t in tasks:
        if not t.cancelled():
            t.exception()  # retrieved: it was ours to end, not to report
