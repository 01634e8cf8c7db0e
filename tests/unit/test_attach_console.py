"""An attachable container's console (nodes/runtime/process.py): what a `kubectl run -i` container (stdinOnce)
writes before its session attaches reaches that session, whether the container is still running or not."""

from __future__ import annotations

import asyncio
import os

from nodes.runtime.process import EARLY_MAX, _Console
from tests.helpers import wait_for


async def _read_all(fd: int) -> bytes:
    loop = asyncio.get_running_loop()
    os.set_blocking(fd, False)
    got = bytearray()
    done = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if data:
            got.extend(data)
        else:
            loop.remove_reader(fd)
            done.set_result(None)

    loop.add_reader(fd, readable)
    await asyncio.wait_for(done, 5)
    os.close(fd)
    return bytes(got)


async def _console(stdin_once: bool) -> tuple[_Console, int, int]:
    out_r, out_w = os.pipe()  # the container's output
    in_r, in_w = os.pipe()  # its input
    return _Console(out_r, in_w, False, stdin_once, None), out_w, in_r


async def test_the_first_session_of_a_stdin_once_container_gets_what_was_written_before_it() -> None:
    console, out_w, in_r = await _console(stdin_once=True)
    os.write(out_w, b"hello-fast\n")
    await wait_for(lambda: console._early == bytearray(b"hello-fast\n"), 5, what="the early output read")
    client, r, input_fd = console.attach(stdin=True)
    os.write(out_w, b"later\n")
    os.close(out_w)
    assert await _read_all(r) == b"hello-fast\nlater\n"
    # the second session sees only what comes after it, as any attach
    assert console._early is None
    for fd in (input_fd, in_r):
        if fd is not None:
            os.close(fd)
    console.detach(client)


async def test_a_container_that_ended_before_the_session_still_gives_it_its_output() -> None:
    console, out_w, in_r = await _console(stdin_once=True)
    half = EARLY_MAX // 2 + 10  # a pipe holds 64 KiB: written in two, each read before the next
    os.write(out_w, b"x" * half)
    await wait_for(lambda: len(console._early or b"") == half, 5, what="the first half read")
    os.write(out_w, b"x" * half)
    os.close(out_w)
    await wait_for(lambda: console.ended, 5, what="the output's end")
    _client, r, input_fd = console.attach(stdin=True)
    assert await _read_all(r) == b"x" * EARLY_MAX  # capped
    for fd in (input_fd, in_r):
        if fd is not None:
            os.close(fd)

