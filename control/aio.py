"""asyncio helpers every long-running component shares."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop if KUBE_TUI_LOOP=uvloop and it is installed (`pip install kube-tui[uvloop]`);
    None: asyncio's own, the default.

    Every watch event and request wakes a process's loop; uvloop (libuv, in C) runs such a turn
    with fewer system calls and less Python than asyncio's selector loop (~0.1 of a core less in
    `bench watch`'s latency run). It is not the default: its delivery latency there is no better
    (p99 median 2.31 against 2.36 ms over 12 interleaved pairs, p50 no better), and one more
    dependency should buy more than that. `kube-tui soak` passes on it (see docs/benchmarks.md).
    """
    if os.environ.get("KUBE_TUI_LOOP", "asyncio") != "uvloop":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(main) on the loop loop_factory() chooses: the entry point of every kube-tui process."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_signals() -> tuple[signal.Signals, ...]:
    """SIGINT, SIGTERM, and SIGHUP unless it is ignored (`nohup kube-tui control &` must survive a hang-up)."""
    return tuple(s for s in STOP_SIGNALS if s != signal.SIGHUP or signal.getsignal(s) != signal.SIG_IGN)


@contextlib.contextmanager
def signal_handlers(handler: Callable[[], None]) -> Iterator[None]:
    """Call handler on SIGINT, SIGTERM and SIGHUP (a closed terminal: a graceful stop too) while inside; where the
    loop cannot take signals (not the main thread), skip."""
    loop = asyncio.get_running_loop()
    sigs = stop_signals()
    for sig in sigs:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handler)
    try:
        yield
    finally:
        for sig in sigs:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


async def start_unless_stopped(start: Coroutine[Any, Any, Any], stop: asyncio.Event, *, ignore: tuple[type[BaseException], ...] = ()) -> None:
    """Run start to its end, then wait for stop; a stop that comes first cancels start (and its `ignore` errors).

    A start that fails raises its error at once.
    """
    starting = asyncio.create_task(start)
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([starting, waiter], return_when=asyncio.FIRST_COMPLETED)
    if starting in done:
        starting.result()
        await waiter
    else:
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, *ignore):
            await starting
