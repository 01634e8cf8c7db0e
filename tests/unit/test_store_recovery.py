"""Crash recovery of the store: torn and corrupt WAL tails, snapshots, restarts, and kill -9."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from control.store import ErrCompacted, Op, Store
from control.store import snapshot as snapshot_module
from control.store import store as store_module
from control.store import wal as wal_module
from control.store.wal import read_records

REPO = Path(__file__).resolve().parents[2]

State = tuple[dict[str, tuple[bytes, int, int, int, int]], int, tuple[int, ...]]


async def wait_for(cond: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def state(store: Store) -> State:
    kvs, rev = store.range("", prefix=True)
    dump = {kv.key: (kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease) for kv in kvs}
    return dump, rev, tuple(sorted(store._leases.leases))


Action = Callable[[Store], Awaitable[object]]


def workload() -> list[Action]:
    """A mix of every kind of record: puts, deletes, prefix deletes, txns, leases, compaction."""
    leases: list[int] = []

    async def grant(s: Store) -> None:
        leases.append(await s.lease_grant(300))

    actions: list[Action] = [
        lambda s: s.put("/registry/pods/default/a", b"a1"),
        lambda s: s.put("/registry/pods/default/b", b"b1"),
        lambda s: s.put("/registry/pods/default/a", b"a2"),
        grant,
        lambda s: s.put("/registry/leases/n1", b"hb", lease=leases[0]),
        lambda s: s.txn([], [Op.put("/registry/svc/x", b"x"), Op.put("/registry/svc/y", b"y")], []),
        lambda s: s.delete("/registry/pods/default/b"),
        lambda s: s.put("/registry/pods/default/b", "b\u00e9".encode() * 20),
        lambda s: s.compact(3),
        grant,
        lambda s: s.put("/registry/leases/n2", b"hb", lease=leases[1]),
        lambda s: s.lease_revoke(leases[0]),
        lambda s: s.delete("/registry/svc/", prefix=True),
        lambda s: s.put("/registry/pods/default/c", b"c" * 300),
    ]
    actions += [lambda s, i=i: s.put(f"/registry/pods/ns/p{i}", b"v%d" % i) for i in range(6)]
    return actions


async def record_history(data: Path, snapshot_every: int) -> list[tuple[Path, int, State, int]]:
    """Run the workload one acknowledged write at a time; after each: (segment, bytes of records in it,
    state, seq of the last durable record)."""
    steps = []
    async with Store(data, snapshot_every=snapshot_every) as store:
        wal = store._wal
        assert wal is not None and wal.path is not None
        steps.append((wal.path, wal.size, state(store), store._durable_seq))
        for action in workload():
            await action(store)
            steps.append((wal.path, wal.size, state(store), store._durable_seq))
    return steps


async def open_cut(src: Path, dst: Path, segment: str, size: int, mutate: Callable[[bytearray], None] | None = None
                   ) -> State:
    shutil.copytree(src, dst)
    path = dst / segment
    data = bytearray(path.read_bytes()[:size])
    if mutate is not None:
        mutate(data)
    path.write_bytes(bytes(data))
    try:
        async with Store(dst) as store:
            return state(store)
    finally:
        shutil.rmtree(dst)


@pytest.mark.parametrize("snapshot_every", [10**9, 7])
async def test_every_torn_tail_recovers_a_prefix_of_the_acknowledged_writes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, snapshot_every: int) -> None:
    data = tmp_path / "data"
    steps = await record_history(data, snapshot_every)
    # Every acknowledged write by the seq of its record (a record per write, one write at a time).
    by_seq = {seq: st for _, _, st, seq in steps}
    segments = sorted(data.glob("wal-*.log"))
    assert len(segments) == 1
    final = segments[0]
    if snapshot_every < 10**9:
        assert len(list(data.glob("snap-*.snap"))) == 1
    # Where each record of the last segment ends; a cut before the first leaves the state the
    # segment started from (empty, or the snapshot's).
    records, why = read_records(final.read_bytes())
    assert why is None and len(records) >= 3
    bounds = [(0, int(final.stem.split("-")[1], 16) - 1)] + [(end, rec[0]) for rec, end in records]
    caplog.set_level(logging.WARNING, logger="kube_tui.store")
    for off in range(bounds[-1][0] + 1):
        caplog.clear()
        boundary, seq = max((b for b in bounds if b[0] <= off), key=lambda b: b[0])
        got = await open_cut(data, tmp_path / "cut", final.name, off)
        assert got == by_seq[seq], f"cut at {off}"
        cut = [r.getMessage() for r in caplog.records if "cut" in r.getMessage()]
        if off == boundary:
            assert cut == []
        else:
            assert len(cut) == 1 and f"cut {off - boundary} bytes" in cut[0], cut


async def test_a_corrupt_record_ends_the_log_there(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    steps = await record_history(data, 10**9)
    wal = steps[-1][0]
    sizes = [step[1] for step in steps]
    caplog.set_level(logging.WARNING, logger="kube_tui.store")
    for i in range(len(sizes) - 1):
        start, end = sizes[i], sizes[i + 1]
        for pos in {start, start + 5, start + 8, (start + end) // 2, end - 1}:  # length, crc, payload bytes
            caplog.clear()

            def flip(buf: bytearray, pos: int = pos) -> None:
                buf[pos] ^= 0x40

            got = await open_cut(data, tmp_path / "cut", wal.name, sizes[-1], flip)
            # Nothing at or after the damaged record is trusted; everything before it is kept.
            assert got == steps[i][2], f"record {i}, byte {pos}"
            assert any(f"cut {sizes[-1] - start} bytes" in r.getMessage() for r in caplog.records)


async def test_snapshot_then_wal_replay_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    steps = await record_history(data, snapshot_every=6)
    assert len(list(data.glob("snap-*.snap"))) == 1 and len(list(data.glob("wal-*.log"))) == 1
    async with Store(data, snapshot_every=10**9) as store:
        assert state(store) == steps[-1][2]
        snap_rev = store.compact_revision  # history before the snapshot is gone
        assert snap_rev > 0
        for i in range(3):  # these only in the WAL
            await store.put(f"/after/{i}", b"1")
        final = state(store)
    async with Store(data) as store:
        assert state(store) == final and store.compact_revision == snap_rev
        with pytest.raises(ErrCompacted):
            store.range("/registry/", prefix=True, revision=snap_rev - 1)
        assert len(store.range("/registry/", prefix=True, revision=snap_rev)[0]) > 0
        evs = store.events_since(snap_rev)  # ...and after it, the replayed events are all there
        assert [e.kv.key for e in evs][-3:] == ["/after/0", "/after/1", "/after/2"]
        assert evs[-1].kv.mod_revision == store.revision


async def test_reopen_twice_in_a_row(tmp_path: Path) -> None:
    data = tmp_path / "data"
    steps = await record_history(data, snapshot_every=5)
    for _ in range(2):
        async with Store(data, snapshot_every=5) as store:
            assert state(store) == steps[-1][2]
    async with Store(data, snapshot_every=5) as store:
        rev = store.revision
        for i in range(12):  # more writes, more snapshots, after the restarts
            assert (await store.put(f"/more/{i}", b"m"))[0] == rev + i + 1
        final = state(store)
    async with Store(data) as store:
        assert state(store) == final


async def test_crash_between_snapshot_and_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Old segments left next to a newer snapshot: their records are skipped, not applied twice."""
    data = tmp_path / "data"
    with monkeypatch.context() as mp:
        mp.setattr(store_module, "remove_segments_before", lambda directory, seq: None)
        steps = await record_history(data, snapshot_every=4)
    assert len(list(data.glob("wal-*.log"))) > 1
    (data / "snap.tmp").write_bytes(b"half a snapshot")  # and a crash in the middle of the next one
    async with Store(data) as store:
        assert state(store) == steps[-1][2]


async def test_a_failed_snapshot_leaves_the_log_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """The WAL moved to a new segment but the snapshot never became durable (disk full, or a crash
    half-way: snap.tmp): the old snapshot and every segment are still there and replay in order."""
    data = tmp_path / "data"

    def fail(*args: object, **kwargs: object) -> None:
        (data / "snap.tmp").write_bytes(b"half a snapshot")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    async with Store(data, snapshot_every=4) as store:
        await store.put("/first", b"v")
        await wait_for(lambda: store.snapshots == 0 and len(list(data.glob("wal-*.log"))) == 1)
        for i in range(5):
            await store.put(f"/k/{i}", b"v")
        await wait_for(lambda: store.snapshots == 1)
        with monkeypatch.context() as mp:
            mp.setattr(snapshot_module, "write", fail)
            for i in range(9):  # records 7..15: snapshots tried (and failed) at 8 and about 12
                await store.put(f"/k/{i}", b"w")
            await wait_for(lambda: sum("snapshot" in r.getMessage() and "ENOSPC" in r.getMessage()
                                       for r in caplog.records) >= 1 and store._snap_task is None)
        final = state(store)
    assert [p.name for p in sorted(data.glob("snap-*.snap"))] == ["snap-0000000000000004.snap"]
    segments = [p.name for p in sorted(data.glob("wal-*.log"))]
    assert segments[0] == "wal-0000000000000005.log" and len(segments) >= 2
    async with Store(data) as store:
        assert state(store) == final


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    script = (
        "import asyncio, sys\n"
        "from control.store import Store\n"
        "async def writer(s, w):\n"
        "    i = 0\n"
        "    while True:\n"
        "        await s.put(f'/k/{w}/{i}', b'v')\n"
        "        sys.stdout.write(f'{w} {i}\\n'); sys.stdout.flush(); i += 1\n"
        "async def main():\n"
        "    s = Store(sys.argv[1], snapshot_every=150)\n"
        "    await s.open()\n"
        "    await asyncio.gather(*(writer(s, w) for w in range(8)))\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(data)], cwd=REPO, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    acked: dict[int, int] = {}
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while sum(acked.values()) < 800 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            w, i = map(int, line.split())
            acked[w] = i + 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert sum(acked.values()) >= 800, "the writer did not get going"

    async def check() -> None:
        async with Store(data) as store:
            kvs, _ = store.range("/k/", prefix=True)
            have: dict[int, set[int]] = {}
            for kv in kvs:
                m = re.fullmatch(r"/k/(\d+)/(\d+)", kv.key)
                assert m
                have.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
            for w, n in acked.items():
                # Every acknowledged write is there, and each writer's writes form a prefix.
                assert set(range(n)) <= have[w]
                assert have[w] == set(range(len(have[w])))

    asyncio.run(check())


async def test_a_segment_after_a_gap_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    steps = await record_history(data, 10**9)
    stray = data / "wal-00000000000000ff.log"
    stray.write_bytes(steps[-1][0].read_bytes())
    async with Store(data) as store:
        assert state(store) == steps[-1][2]
        await store.put("/next", b"1")
    assert not stray.exists() and (data / "wal-00000000000000ff.corrupt").exists()
    assert any("missing" in r.getMessage() for r in caplog.records)


async def test_segments_are_preallocated_and_the_unused_space_is_not_damage(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    steps = await record_history(data, 10**9)
    segment, size = steps[-1][0], steps[-1][1]
    raw = segment.read_bytes()
    # Space reserved past the records (so most fsyncs need no journal commit), and zeros there.
    assert len(raw) >= wal_module.PREALLOCATE > size and not raw[size:].strip(b"\0")
    records, why = read_records(raw)
    assert why is None and records[-1][1] == size
    caplog.set_level(logging.WARNING, logger="kube_tui.store")
    async with Store(data) as store:
        assert state(store) == steps[-1][2]
        await store.put("/next", b"1")  # written right after the last record, not after the reserved space
        final = state(store)
    assert not caplog.records
    records, why = read_records(segment.read_bytes())
    assert why is None and records[-1][0][2] == [[wal_module.PUT, "/next", b"1", 0]]
    async with Store(data) as store:
        assert state(store) == final


async def test_a_torn_record_before_the_unused_space_is_still_cut(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    steps = await record_history(data, 10**9)
    segment, last_start = steps[-1][0], steps[-2][1]
    raw = bytearray(segment.read_bytes())
    raw[last_start + 10] ^= 0x40  # the last record is damaged; the preallocated zeros follow it
    segment.write_bytes(bytes(raw))
    caplog.set_level(logging.WARNING, logger="kube_tui.store")
    async with Store(data) as store:
        assert state(store) == steps[-2][2]
    assert any("crc mismatch" in r.getMessage() and f"at offset {last_start}" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("err", [errno.EOPNOTSUPP, errno.ENOSPC])
async def test_appends_go_on_where_space_cannot_be_preallocated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int) -> None:
    data = tmp_path / "data"
    calls: list[int] = []

    def no_fallocate(fd: int, offset: int, length: int) -> None:
        calls.append(offset)
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(os, "posix_fallocate", no_fallocate)
    async with Store(data) as store:
        for i in range(3):
            await store.put(f"/k/{i}", b"v")
        wal = store._wal
        assert wal is not None and wal.path is not None
        assert wal.path.stat().st_size == wal.size  # the file just grew with each append
        final = state(store)
    # A file system that cannot preallocate is asked once; a full disk again at the next append.
    assert len(calls) == (1 if err == errno.EOPNOTSUPP else 3)
    monkeypatch.undo()
    async with Store(data) as store:
        assert state(store) == final
