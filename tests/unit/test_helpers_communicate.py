"""tests.helpers.communicate: a child that outlives its timeout is killed and reaped, not left running."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.helpers import communicate


async def test_a_timeout_kills_and_reaps_the_child() -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)",
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    with pytest.raises(TimeoutError):
        await communicate(proc, timeout=0.2)
    assert proc.returncode is not None and proc.returncode < 0  # killed by a signal, and waited for


async def test_output_and_input_pass_through() -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())",
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    assert await communicate(proc, b"abc", 10) == (b"ABC", b"")
