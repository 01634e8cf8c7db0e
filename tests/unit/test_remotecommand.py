"""Interactive exec on a node (nodes/remotecommand.py over the process runtime's open_exec): input, output as
it comes, a pty with -t, exit codes, and no command left running when the client or the container goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from control.api import remotecommand as api
from control.errors import ApiError
from nodes import remotecommand
from nodes.runtime.base import ContainerConfig, ContainerHandle, RunContainerError
from nodes.runtime.process import ProcessRuntime
from tests.unit._runtime_helpers import no_leftover_children, until  # noqa: F401  (autouse here)

OWNER = ("default", "p")


@pytest.fixture
async def runtime() -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime()
    yield rt
    await rt.shutdown()


@pytest.fixture
async def sessions() -> AsyncIterator[remotecommand.Sessions]:
    s = remotecommand.Sessions()
    yield s
    s.close_all()


async def container(rt: ProcessRuntime, tmp_path: Path, **kw: object) -> ContainerHandle:
    cfg = ContainerConfig(namespace="default", pod_name="p", pod_uid="u", name="c", image="busybox",
                          command=["sleep", "300"], log_path=tmp_path / "c.log", **kw)  # type: ignore[arg-type]
    return await rt.start(cfg)


def running(pid: int, command: str) -> bool:
    """Whether a live descendant of `pid` runs `command`."""
    for p in psutil.Process(pid).children(recursive=True):
        try:  # a finished child not yet reaped is a zombie: it no longer runs
            if p.status() != psutil.STATUS_ZOMBIE and " ".join(p.cmdline()) == command:
                return True
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return False


async def read_until(sessions: remotecommand.Sessions, sid: str, want: bytes, limit: int = 20) -> tuple[bytes, int | None]:
    """Read the session until `want` shows (or the command exits); (everything read, exit code)."""
    got = b""
    for _ in range(limit):
        r = await sessions.stream({"session": sid, "read": True, "wait": 1.0}, OWNER)
        got += r["output"]
        if r["exitCode"] is not None or want in got:
            return got, r["exitCode"]
    raise AssertionError(f"{want!r} never came; got {got!r}")


async def test_stdin_reaches_the_command_and_its_end_ends_it(runtime: ProcessRuntime, sessions: remotecommand.Sessions,
                                                             tmp_path: Path) -> None:
    handle = await container(runtime, tmp_path, env={"MARK": "m1"}, working_dir=str(tmp_path))
    script = 'echo "$MARK in $(pwd)"; while read -r line; do echo "got $line"; done; echo "last $line"; exit 7'
    proc = await runtime.open_exec(handle, ["sh", "-c", script], stdin=True, tty=False)
    s = sessions.open(proc, OWNER)
    got, _ = await read_until(sessions, s.id, b"in ")
    assert got == f"m1 in {tmp_path}\n".encode()
    await sessions.stream({"session": s.id, "input": b"hello\n"}, OWNER)
    got, _ = await read_until(sessions, s.id, b"got hello\n")
    # The end of input (eof) ends the loop; the exit code comes once the output is all read.
    assert (await sessions.stream({"session": s.id, "input": b"bye", "eof": True}, OWNER))["exitCode"] is None
    got, code = await read_until(sessions, s.id, b"\x00")
    assert (got, code) == (b"last bye\n", 7)
    assert len(sessions) == 0
    # The exit code is kept a while: an answer lost on the way, or input that crossed the exit, is no error.
    late = await sessions.stream({"session": s.id, "input": b"late", "read": True}, OWNER)
    assert (late["exitCode"], late["accepted"], late["output"]) == (7, 4, b"")
    with pytest.raises(ApiError) as e:  # but only for the pod it ran in
        await sessions.stream({"session": s.id, "read": True}, ("default", "other"))
    assert e.value.code == 404 and 'not found for pod "other"' in e.value.message


async def test_a_tty_is_the_commands_terminal(runtime: ProcessRuntime, sessions: remotecommand.Sessions,
                                              tmp_path: Path) -> None:
    handle = await container(runtime, tmp_path)
    proc = await runtime.open_exec(handle, ["sh"], stdin=True, tty=True, size=(30, 100))
    s = sessions.open(proc, OWNER)
    await sessions.stream({"session": s.id, "input": b"tty; stty size\n"}, OWNER)
    got, _ = await read_until(sessions, s.id, b"30 100")
    assert b"/dev/pts/" in got  # the shell's stdin is a terminal
    # A new size reaches the terminal; ^C interrupts the foreground command, not the shell.
    await sessions.stream({"session": s.id, "resize": [40, 120], "input": b"sleep 300\n"}, OWNER)
    await until(lambda: running(proc.shim.popen.pid, "sleep 300"), what="sleep to run")
    await sessions.stream({"session": s.id, "input": b"\x03"}, OWNER)
    await sessions.stream({"session": s.id, "input": b"stty size; exit 3\n"}, OWNER)
    got, code = await read_until(sessions, s.id, b"\x00")
    assert b"40 120" in got and code == 3


async def test_output_waits_for_a_slow_reader_and_none_is_lost(runtime: ProcessRuntime,
                                                               sessions: remotecommand.Sessions, tmp_path: Path) -> None:
    handle = await container(runtime, tmp_path)
    size = 3 * remotecommand.BUFFER_MAX + 12345
    proc = await runtime.open_exec(handle, ["sh", "-c", f"head -c {size} /dev/zero | tr '\\0' x"], stdin=False, tty=False)
    s = sessions.open(proc, OWNER)
    await until(lambda: len(s.outputs[0].buf) >= remotecommand.BUFFER_MAX, what="the buffer to fill")
    assert not proc.exited.done()  # the command waits on its full pipe: the node holds a bounded amount
    assert len(s.outputs[0].buf) < remotecommand.BUFFER_MAX + 65536
    got, code = await read_until(sessions, s.id, b"\x00")
    assert (len(got), set(got), code) == (size, {ord("x")}, 0)


async def test_stderr_comes_apart_from_stdout(runtime: ProcessRuntime, sessions: remotecommand.Sessions,
                                              tmp_path: Path) -> None:
    handle = await container(runtime, tmp_path)
    proc = await runtime.open_exec(handle, ["sh", "-c", "echo out; echo err >&2; exit 2"], stdin=False, tty=False)
    s = sessions.open(proc, OWNER)
    out = err = b""
    code = None
    while code is None:
        r = await sessions.stream({"session": s.id, "read": True, "wait": 1.0}, OWNER)
        out, err, code = out + r["output"], err + r["error"], r["exitCode"]
    assert (out, err, code) == (b"out\n", b"err\n", 2)


async def test_input_a_command_does_not_read_waits_on_the_node_not_the_request(
        runtime: ProcessRuntime, sessions: remotecommand.Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`exec -i pod -- sh -c 'sleep 2; wc -c' < big`: each request is answered at once (or after ROOM_WAIT
    when the node's buffer is full) with what was accepted, and every byte reaches the command."""
    monkeypatch.setattr(remotecommand, "INPUT_BUFFER_MAX", 4096)
    monkeypatch.setattr(remotecommand, "ROOM_WAIT", 0.2)
    handle = await container(runtime, tmp_path)
    proc = await runtime.open_exec(handle, ["sh", "-c", "sleep 1; wc -c"], stdin=True, tty=False)
    s = sessions.open(proc, OWNER)
    data, partial = b"y" * 300_000, 0
    loop = asyncio.get_running_loop()
    while data:
        started = loop.time()
        r = await sessions.stream({"session": s.id, "input": data[:65536], "eof": len(data) <= 65536}, OWNER)
        assert loop.time() - started < 1.0  # well inside the API server's 5 s for the answer
        partial += r["accepted"] < min(len(data), 65536)
        data = data[r["accepted"]:]
    assert partial  # the command did not read for a while: the node took only what fitted
    got, code = await read_until(sessions, s.id, b"\x00")
    assert (got.strip(), code) == (b"300000", 0)


async def test_a_closed_session_leaves_no_fd_registered_in_the_loop(
        runtime: ProcessRuntime, sessions: remotecommand.Sessions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remotecommand, "INPUT_BUFFER_MAX", 1 << 20)
    handle = await container(runtime, tmp_path)
    proc = await runtime.open_exec(handle, ["sleep", "300"], stdin=True, tty=False)  # never reads its input
    s = sessions.open(proc, OWNER)
    fds = [f for f in (proc.input, proc.output, proc.error) if f is not None]
    for _ in range(2):  # more than a pipe holds (64 KiB)
        await sessions.stream({"session": s.id, "input": b"z" * 65536}, OWNER)
    registered = asyncio.get_running_loop()._selector.get_map()  # type: ignore[attr-defined]
    assert proc.input in registered  # the node waits to write the rest
    await sessions.stream({"session": s.id, "close": True}, OWNER)
    assert not any(fd in registered for fd in fds)
    await until(lambda: proc.exited.done(), what="the closed session's command to end")


async def test_a_command_that_cannot_start_and_a_pipe_without_stdin(runtime: ProcessRuntime,
                                                                     sessions: remotecommand.Sessions, tmp_path: Path) -> None:
    handle = await container(runtime, tmp_path)
    with pytest.raises(RunContainerError, match='exec: "no-such-tool": executable file not found in \\$PATH'):
        await runtime.open_exec(handle, ["no-such-tool"], stdin=True, tty=False)
    proc = await runtime.open_exec(handle, ["cat"], stdin=False, tty=False)  # no -i: its stdin is /dev/null
    s = sessions.open(proc, OWNER)
    with pytest.raises(ApiError, match="not started with stdin"):
        await sessions.stream({"session": s.id, "input": b"x"}, OWNER)
    assert await read_until(sessions, s.id, b"\x00") == (b"", 0)


async def test_a_forgotten_session_is_closed_and_its_command_killed(runtime: ProcessRuntime,
                                                                    sessions: remotecommand.Sessions, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remotecommand, "IDLE_TIMEOUT", 0.3)
    handle = await container(runtime, tmp_path)
    proc = await runtime.open_exec(handle, ["sleep", "300"], stdin=True, tty=True)
    sessions.open(proc, OWNER)
    await until(lambda: proc.exited.done(), what="the idle session's command to be killed")
    # SIGKILLed, or SIGHUPed first by its terminal hanging up as the node let go of the pty
    assert len(sessions) == 0 and proc.exited.result() in (128 + 9, 128 + 1)


async def test_an_exec_dies_with_its_container(runtime: ProcessRuntime, sessions: remotecommand.Sessions,
                                               tmp_path: Path) -> None:
    handle = await container(runtime, tmp_path)
    proc = await runtime.open_exec(handle, ["sleep", "300"], stdin=False, tty=False)
    s = sessions.open(proc, OWNER)
    await runtime.stop(handle, grace=0)
    got, code = await read_until(sessions, s.id, b"\x00")
    assert (got, code) == (b"", 137)


async def test_close_kills_the_command(runtime: ProcessRuntime, sessions: remotecommand.Sessions, tmp_path: Path) -> None:
    handle = await container(runtime, tmp_path)
    proc = await runtime.open_exec(handle, ["sleep", "300"], stdin=True, tty=False)
    s = sessions.open(proc, OWNER)
    await sessions.stream({"session": s.id, "close": True}, OWNER)
    await until(lambda: proc.exited.done(), what="the closed session's command to end")
    assert len(sessions) == 0


@pytest.mark.parametrize("body, field", [
    ({"session": 7}, "session"),
    ({"session": ""}, "session"),
    ({"session": "s", "input": "text, not bytes"}, "input"),
    ({"session": "s", "input": b"x" * (api.INPUT_MAX + 1)}, "input"),
    ({"session": "s", "eof": "yes"}, "eof"),
    ({"session": "s", "resize": [0, 80]}, "resize"),
    ({"session": "s", "resize": [24]}, "resize"),
    ({"session": "s", "read": True, "wait": api.WAIT_MAX + 1}, "wait"),
    ({"session": "s", "read": True, "wait": True}, "wait"),
])
def test_a_bad_stream_request_names_its_field(body: dict, field: str) -> None:
    with pytest.raises(ApiError) as e:
        api.check_stream(body)
    assert e.value.code == 400 and f"field '{field}'" in e.value.message


@pytest.mark.parametrize("body, field", [
    ({"command": [], "stream": True}, "command"),
    ({"command": ["sh", "-c", "a\x00b"], "stream": True}, "command"),
    ({"command": ["sh"], "stdin": "yes"}, "stdin"),
    ({"command": ["sh"], "tty": 1}, "tty"),
    ({"command": ["sh"], "tty": True, "rows": 24}, "rows"),
    ({"command": ["sh"], "tty": True, "rows": 24, "cols": 10**6}, "rows"),
])
def test_a_bad_open_request_names_its_field(body: dict, field: str) -> None:
    assert api.is_session(body) or field == "command"
    with pytest.raises(ApiError) as e:
        api.check_open(body)
    assert e.value.code == 400 and f"field '{field}'" in e.value.message or f"fields '{field}'" in e.value.message
