"""Unit tests of the etcd-shaped store: revisions, ranges, txns, compaction, leases, group commit, failures."""

from __future__ import annotations

import asyncio
import errno
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from control.store import (
    Compare,
    ErrCompacted,
    ErrFutureRev,
    ErrLeaseNotFound,
    Event,
    KeyValue,
    Op,
    Store,
    StoreError,
)
from control.store.mvcc import prefix_end
from control.store.store import STALL_FACTOR


async def wait_for(cond: Callable[[], bool], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def dump(store: Store) -> dict[str, tuple[bytes, int, int, int, int]]:
    kvs, _ = store.range("", prefix=True)
    return {kv.key: (kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease) for kv in kvs}


@pytest.fixture(params=["disk", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(tmp_path / "data" if request.param == "disk" else None, lease_check_interval=0.01)
    await s.open()
    yield s
    await s.close()


# ---- keys, revisions, versions


async def test_put_sets_revisions_and_versions(store: Store) -> None:
    assert await store.put("/a", b"1") == (1, None)
    rev, prev = await store.put("/a", b"2")
    assert rev == 2 and prev == KeyValue("/a", b"1", 1, 1, 1)
    await store.put("/b", b"x")
    assert store.get("/a") == KeyValue("/a", b"2", create_revision=1, mod_revision=2, version=2)
    assert store.get("/b") == KeyValue("/b", b"x", 3, 3, 1)
    assert store.revision == 3


async def test_delete_resets_version_and_create_revision(store: Store) -> None:
    await store.put("/a", b"1")
    await store.put("/a", b"2")
    rev, deleted = await store.delete("/a")
    assert rev == 3 and [kv.value for kv in deleted] == [b"2"]
    assert store.get("/a") is None
    await store.put("/a", b"3")
    assert store.get("/a") == KeyValue("/a", b"3", create_revision=4, mod_revision=4, version=1)


async def test_delete_of_missing_key_makes_no_revision(store: Store) -> None:
    await store.put("/a", b"1")
    assert await store.delete("/nope") == (1, [])
    assert await store.delete("/a/", prefix=True) == (1, [])
    assert store.revision == 1


async def test_delete_prefix_is_one_revision(store: Store) -> None:
    for k in ("/r/pods/a", "/r/pods/b", "/r/podsx", "/r/svc/a"):
        await store.put(k, b"v")
    rev, deleted = await store.delete("/r/pods/", prefix=True)
    assert rev == 5 and sorted(kv.key for kv in deleted) == ["/r/pods/a", "/r/pods/b"]
    assert sorted(dump(store)) == ["/r/podsx", "/r/svc/a"]
    evs = store.events_since(4)
    assert [(e.type, e.kv.key, e.kv.mod_revision, e.prev_kv.value if e.prev_kv else None) for e in evs] == [
        ("DELETE", "/r/pods/a", 5, b"v"), ("DELETE", "/r/pods/b", 5, b"v")]


async def test_range_prefix_is_sorted_and_bounded(store: Store) -> None:
    keys = ["/r/pods/ns/b", "/r/pods/ns/a", "/r/pods/ns2/a", "/r/pod", "/r/pods/ns/\U0010ffff", "/s"]
    for k in keys:
        await store.put(k, k.encode())
    kvs, rev = store.range("/r/pods/ns/", prefix=True)
    assert [kv.key for kv in kvs] == ["/r/pods/ns/a", "/r/pods/ns/b", "/r/pods/ns/\U0010ffff"]
    assert rev == 6
    kvs, _ = store.range("/r/", prefix=True, limit=2)
    assert [kv.key for kv in kvs] == ["/r/pod", "/r/pods/ns/a"]
    kvs, _ = store.range("/r/pods/ns/a", keys_only=True)
    assert kvs == [KeyValue("/r/pods/ns/a", b"", 2, 2, 1)]
    assert store.get("/r/pods/ns/a") is not None and store.get("/r/pods/ns/a").value == b"/r/pods/ns/a"  # type: ignore[union-attr]
    assert [kv.key for kv in store.range("", prefix=True)[0]] == sorted(keys)


def test_prefix_end() -> None:
    assert prefix_end("/a/") == "/a0"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\U0010ffff") is None
    assert prefix_end("") is None


async def test_range_at_past_revision(store: Store) -> None:
    await store.put("/a", b"1")  # 1
    await store.put("/b", b"1")  # 2
    await store.put("/a", b"2")  # 3
    await store.delete("/b")  # 4
    assert [(kv.key, kv.value) for kv in store.range("/", prefix=True, revision=2)[0]] == [("/a", b"1"), ("/b", b"1")]
    assert [(kv.key, kv.value) for kv in store.range("/", prefix=True, revision=3)[0]] == [("/a", b"2"), ("/b", b"1")]
    assert [(kv.key, kv.value) for kv in store.range("/", prefix=True, revision=4)[0]] == [("/a", b"2")]
    assert store.range("/a", revision=1) == ([KeyValue("/a", b"1", 1, 1, 1)], 4)
    with pytest.raises(ErrFutureRev):
        store.range("/a", revision=5)


# ---- transactions


async def test_txn_cas_success_is_one_revision(store: Store) -> None:
    await store.put("/a", b"1")
    res = await store.txn([Compare("/a", "mod", "=", 1)],
                          [Op.put("/a", b"2"), Op.put("/b", b"x"), Op.range("/a"), Op.delete("/none")],
                          [Op.put("/fail", b"!")])
    assert res.succeeded and res.revision == 2
    assert res.responses[0] == KeyValue("/a", b"1", 1, 1, 1)
    assert res.responses[1] is None
    assert res.responses[2] == [KeyValue("/a", b"2", 1, 2, 2)]  # a txn reads its own writes
    assert res.responses[3] == []
    assert store.revision == 2 and store.get("/fail") is None
    assert [e.kv.key for e in store.events_since(1)] == ["/a", "/b"]


async def test_txn_failure_branch(store: Store) -> None:
    await store.put("/a", b"1")
    res = await store.txn([Compare("/a", "mod", "=", 99)], [Op.put("/a", b"2")], [Op.range("/a"), Op.put("/c", b"c")])
    assert not res.succeeded and res.revision == 2
    assert res.responses[0][0].value == b"1"
    assert store.get("/a").value == b"1"  # type: ignore[union-attr]
    assert store.get("/c") is not None


async def test_txn_compare_targets(store: Store) -> None:
    await store.put("/a", b"m")
    await store.put("/a", b"n")
    latest = store.get("/a")

    async def holds(*cs: Compare) -> bool:
        return (await store.txn(list(cs), [], [])).succeeded

    assert await holds(Compare("/a", "create", "=", 1), Compare("/a", "version", "=", 2), Compare("/a", "mod", ">", 1))
    assert await holds(Compare("/a", "value", "=", b"n"), Compare("/a", "value", ">", b"m"), Compare("/a", "value", "!=", b"x"))
    assert await holds(Compare("/a", "version", "<", 3), Compare("/a", "lease", "=", 0))
    assert not await holds(Compare("/a", "version", "<", 2))
    # A missing key has revisions and version 0 (the "create if absent" idiom) but no value.
    assert await holds(Compare("/missing", "create", "=", 0), Compare("/missing", "version", "=", 0))
    assert not await holds(Compare("/missing", "value", "=", b""))
    assert not await holds(Compare("/missing", "value", "!=", b"x"))
    assert store.get("/a") == latest and store.revision == 2  # read-only txns write nothing
    with pytest.raises(ValueError, match="target"):
        Compare("/a", "modified", "=", 1)


async def test_txn_duplicate_key_is_rejected_and_nothing_applied(store: Store) -> None:
    await store.put("/a", b"1")
    before = dump(store)
    with pytest.raises(ValueError, match="duplicate key"):
        await store.txn([], [Op.put("/b", b"1"), Op.delete("/a"), Op.put("/a", b"2")], [])
    with pytest.raises(ErrLeaseNotFound):
        await store.txn([], [Op.put("/b", b"1"), Op.put("/c", b"2", lease=12345)], [])
    with pytest.raises(TypeError, match="bytes"):
        await store.txn([], [Op.put("/b", b"1"), Op.put("/c", "not bytes")], [])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="bytes"):
        await store.put("/c", "not bytes")  # type: ignore[arg-type]
    assert dump(store) == before and store.revision == 1
    assert (await store.put("/z", b"z"))[0] == 2
    assert [e.kv.key for e in store.events_since(0)] == ["/a", "/z"]


# ---- compaction and watch history


async def test_compaction(store: Store) -> None:
    await store.put("/a", b"1")  # 1
    await store.put("/b", b"1")  # 2
    await store.delete("/b")  # 3
    await store.put("/a", b"2")  # 4
    await store.put("/c", b"1")  # 5
    await store.compact(4)
    assert store.compact_revision == 4
    with pytest.raises(ErrCompacted):
        store.range("/a", revision=3)
    with pytest.raises(ErrCompacted):
        store.events_since(3)
    assert store.range("/", prefix=True, revision=4)[0] == [KeyValue("/a", b"2", 1, 4, 2)]
    assert [e.kv.key for e in store.events_since(4)] == ["/c"]
    assert store._mvcc.keys == ["/a", "/c"]  # the deleted key's history is gone from the index
    with pytest.raises(ErrCompacted):
        await store.compact(4)
    with pytest.raises(ErrFutureRev):
        await store.compact(6)
    await store.compact(5)
    assert dump(store) == {"/a": (b"2", 1, 4, 2, 0), "/c": (b"1", 5, 5, 1, 0)}


async def test_automatic_compaction_bounds_history(tmp_path: Path) -> None:
    async with Store(tmp_path / "d", history=20) as store:
        for i in range(300):
            await store.put(f"/k{i % 3}", str(i).encode())
            await store.delete("/gone")
            await store.put("/gone", b"x")
        assert store.revision == 900 - 1
        assert store.revision - store.compact_revision <= 20 + 20 // 8 + 1
        assert len(store._mvcc.events) <= 20 + 20 // 8 + 1
        assert all(len(h) <= 20 + 20 // 8 + 2 for h in store._mvcc.hist.values())
        assert [kv.value for kv in store.range("/k", prefix=True)[0]] == [b"297", b"298", b"299"]
        with pytest.raises(ErrCompacted):
            store.events_since(1)


async def test_events_since_filters_by_prefix(store: Store) -> None:
    await store.put("/a/1", b"1")
    await store.put("/b/1", b"1")
    await store.put("/a/1", b"2")
    evs = store.events_since(1, prefix="/a/")
    assert [(e.type, e.kv.mod_revision, e.prev_kv.value if e.prev_kv else None) for e in evs] == [("PUT", 3, b"1")]
    assert store.events_since(3) == [] and store.events_since(10) == []


# ---- subscribers, visibility and group commit


async def test_subscribers_see_every_commit_in_order_before_the_writer_returns(store: Store) -> None:
    seen: list[Event] = []
    calls: list[int] = []

    def on_events(evs: list[Event]) -> None:
        calls.append(len(evs))
        seen.extend(evs)

    unsubscribe = store.subscribe(on_events)

    async def writer(i: int) -> None:
        rev, _ = await store.put(f"/k/{i}", b"v")
        assert any(e.kv.mod_revision == rev for e in seen)

    await asyncio.gather(*(writer(i) for i in range(30)))
    await store.txn([], [Op.put("/t1", b"1"), Op.put("/t2", b"2")], [])
    assert [e.kv.mod_revision for e in seen] == list(range(1, 31)) + [31, 31]
    assert all(calls)
    unsubscribe()
    await store.put("/after", b"x")
    assert len(seen) == 32


async def test_a_failing_subscriber_does_not_break_commits(store: Store) -> None:
    def bad(evs: list[Event]) -> None:
        raise RuntimeError("boom")

    store.subscribe(bad)
    assert (await store.put("/a", b"1"))[0] == 1
    assert store.get("/a") is not None


class GatedSync:
    """An fdatasync stand-in that can hold the writer thread inside the fsync, or fail it."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.entered = 0
        self.calls = 0
        self.fail: OSError | None = None

    def __call__(self, fd: int) -> None:
        self.entered += 1
        self.gate.wait(10)
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        os.fdatasync(fd)


async def test_writes_are_invisible_until_durable_and_batched(tmp_path: Path) -> None:
    sync = GatedSync()
    seen: list[int] = []
    # The closed gate is a stalled disk: the fsync must run on the writer thread, never the loop's.
    async with Store(tmp_path / "d", sync_hook=sync, inline_sync_below=0) as store:
        store.subscribe(lambda evs: seen.extend(e.kv.mod_revision for e in evs))
        await store.put("/a", b"1")
        sync.gate.clear()
        first = asyncio.create_task(store.put("/a", b"2"))
        await wait_for(lambda: sync.entered == 2)
        # Applied in memory but not yet durable: readers and subscribers still see revision 1.
        rest = [asyncio.create_task(store.put(f"/b/{i}", b"x")) for i in range(49)]
        await asyncio.sleep(0)
        assert store.revision == 1 and store.get("/a").value == b"1"  # type: ignore[union-attr]
        assert store.range("/b/", prefix=True)[0] == [] and seen == [1]
        sync.gate.set()
        await asyncio.gather(first, *rest)
        assert store.revision == 51 and seen == list(range(1, 52))
        # 51 writes, 3 fsyncs: the first alone, then the in-flight one, then the 49 queued meanwhile.
        assert store.stats()["fsyncs"] == 3 and sync.calls == 3


async def test_txn_compares_against_pending_writes(tmp_path: Path) -> None:
    sync = GatedSync()
    async with Store(tmp_path / "d", sync_hook=sync, inline_sync_below=0) as store:
        sync.gate.clear()
        put = asyncio.create_task(store.put("/a", b"1"))
        await wait_for(lambda: sync.entered == 1)
        cas = asyncio.create_task(store.txn([Compare("/a", "create", "=", 0)], [Op.put("/a", b"2")], []))
        await asyncio.sleep(0)
        sync.gate.set()
        await put
        res = await cas
        # The put came first in call order, so "create if absent" must fail even though the put
        # was not durable when the txn ran.
        assert not res.succeeded and store.get("/a").value == b"1"  # type: ignore[union-attr]


class TimedSync:
    """An os.fdatasync stand-in that records which thread ran it and can be made slow."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.threads: list[int] = []
        self.loop_thread = threading.get_ident()

    def __call__(self, fd: int) -> None:
        self.threads.append(threading.get_ident())
        if self.delay:
            time.sleep(self.delay)
        os.fdatasync(fd)

    async def puts(self, store: Store, n: int, delay: float = 0.0) -> list[bool]:
        """n writes, each fsync taking `delay` longer; for each, whether its fsync ran on the loop's thread."""
        self.delay, self.threads = delay, []
        for _ in range(n):
            await store.put(f"/k/{store.revision}", b"x")
        return [t == self.loop_thread for t in self.threads]


async def test_fast_fsync_runs_on_the_loop_and_a_stall_moves_to_the_writer_thread(tmp_path: Path) -> None:
    sync = TimedSync()
    async with Store(tmp_path / "d", sync_hook=sync, inline_sync_below=0.05) as store:
        # The first append is measured on the writer thread; once known to be fast, the loop does it.
        assert await sync.puts(store, 5) == [False] + [True] * 4
        # One append a little over the limit (a busy CPU, not a slow disk) keeps the loop doing them.
        assert await sync.puts(store, 1, delay=0.07) + await sync.puts(store, 1) == [True, True]
        # A stall (over STALL_FACTOR times the limit) on the loop sends the next ones to the thread.
        assert await sync.puts(store, 3, delay=0.05 * STALL_FACTOR + 0.05) == [True, False, False]
        assert store.revision == 10
    async with Store(tmp_path / "d") as store:
        assert store.revision == 10


async def test_a_disk_slow_on_average_moves_to_the_writer_thread(tmp_path: Path) -> None:
    sync = TimedSync()
    async with Store(tmp_path / "d", sync_hook=sync, inline_sync_below=0.02) as store:
        await sync.puts(store, 3)
        # Every append over the limit, none a stall: once the moving average crosses it, the thread.
        on_loop = await sync.puts(store, 12, delay=0.04)
        moved = on_loop.index(False)
        assert moved >= 1 and on_loop == [True] * moved + [False] * (12 - moved)


class WatchedSync:
    """An os.fdatasync stand-in that records, at each fsync, what the store had made visible so far."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.seen: list[int] = []  # revisions the store's subscriber has been given
        self.fail: OSError | None = None
        self.at_fsync: list[dict[str, Any]] = []
        self.loop_thread = threading.get_ident()

    def __call__(self, fd: int) -> None:
        assert self.store is not None
        on_loop = threading.get_ident() == self.loop_thread
        self.at_fsync.append({
            "on_loop": on_loop, "revision": self.store.revision, "seen": list(self.seen),
            # the inline flush is a plain callback: no Task runs it
            "task": asyncio.current_task() if on_loop else None, "flusher": self.store._flusher,
        })
        if self.fail is not None:
            raise self.fail
        os.fdatasync(fd)

    def watch(self, store: Store) -> None:
        self.store = store
        store.subscribe(lambda evs: self.seen.extend(e.kv.mod_revision for e in evs))


@pytest.mark.parametrize("where", ["loop", "thread"])
async def test_a_batch_is_acknowledged_only_after_its_fsync(tmp_path: Path, where: str) -> None:
    sync = WatchedSync()
    seen = sync.seen
    async with Store(tmp_path / "d", sync_hook=sync, inline_sync_below=0.05 if where == "loop" else 0) as store:
        sync.watch(store)
        await store.put("/warm-up", b"0")  # the first append is measured on the writer thread
        sync.at_fsync.clear()
        writers = [asyncio.create_task(store.put(f"/k/{i}", b"v")) for i in range(10)]
        await asyncio.sleep(0)  # every writer has queued its record: one batch
        assert not any(w.done() for w in writers)
        revs = [rev for rev, _ in await asyncio.gather(*writers)]
        assert sorted(revs) == list(range(2, 12)) and seen == list(range(1, 12))
        [fsync] = sync.at_fsync  # one fsync for the batch, and when it ran nothing of it was visible
        assert fsync["revision"] == 1 and fsync["seen"] == [1]
        assert fsync["on_loop"] == (where == "loop")
        if where == "loop":
            assert fsync["task"] is None and fsync["flusher"] is None
        else:
            assert fsync["flusher"] is not None  # a Task waits for the writer thread
        assert store._flush_handle is None and store._flusher is None
    async with Store(tmp_path / "d") as store:
        assert store.revision == 11


@pytest.mark.parametrize("where", ["loop", "thread"])
async def test_a_failed_fsync_fails_every_writer_of_the_batch(tmp_path: Path, where: str) -> None:
    sync = WatchedSync()
    seen = sync.seen
    async with Store(tmp_path / "d", sync_hook=sync, inline_sync_below=0.05 if where == "loop" else 0) as store:
        sync.watch(store)
        await store.put("/a", b"1")
        before = dump(store)
        sync.fail, sync.at_fsync = OSError(errno.EIO, os.strerror(errno.EIO)), []
        results = await asyncio.gather(store.put("/a", b"2"), store.delete("/a"), store.put("/b", b"1"),
                                       store.txn([], [Op.put("/c", b"1")], []), return_exceptions=True)
        assert [fs["on_loop"] for fs in sync.at_fsync] == [where == "loop"]  # one batch, one fsync
        assert all(isinstance(r, StoreError) and "EIO" in str(r) for r in results), results
        assert dump(store) == before and store.revision == 1 and seen == [1]
        assert store._mvcc.revision == 1 and not store._mvcc.journal
        sync.fail = None
        assert (await store.put("/b", b"2"))[0] == 2
        after = dump(store)
    async with Store(tmp_path / "d") as store:
        assert dump(store) == after and store.revision == 2


async def test_close_finishes_the_writes_queued_before_it(tmp_path: Path) -> None:
    async with Store(tmp_path / "d") as store:
        writers = [asyncio.create_task(store.put(f"/k/{i}", b"v")) for i in range(5)]
        await asyncio.sleep(0)  # queued; their batch is due on the next turn of the loop
        assert store._flush_handle is not None
    assert [rev for rev, _ in await asyncio.gather(*writers)] == [1, 2, 3, 4, 5]
    async with Store(tmp_path / "d") as store:
        assert store.revision == 5


class FailingWrite:
    """An os.write stand-in that fails with `err` while armed (optionally after writing `partial` bytes)."""

    def __init__(self) -> None:
        self.err: OSError | None = None
        self.partial = 0

    def __call__(self, fd: int, data: Any) -> int:
        if self.err is None:
            return os.write(fd, data)
        if self.partial:
            os.write(fd, bytes(data[: self.partial]))
        raise self.err


@pytest.mark.parametrize("partial", [0, 5])
async def test_disk_full_rolls_back_exactly_and_recovers(tmp_path: Path, partial: int) -> None:
    data = tmp_path / "d"
    hook = FailingWrite()
    async with Store(data, write_hook=hook) as store:
        lease = await store.lease_grant(30)
        await store.put("/a", b"1")
        await store.put("/b", b"1", lease=lease)
        before, rev, events = dump(store), store.revision, store.events_since(0)
        hook.err, hook.partial = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), partial
        writes = [
            store.put("/a", b"2"), store.put("/new", b"n"), store.delete("/b"),
            store.txn([], [Op.put("/t", b"t"), Op.delete("/a")], []), store.lease_grant(5),
            store.lease_revoke(lease), store.put("/c", b"c", lease=lease),
        ]
        results = await asyncio.gather(*writes, return_exceptions=True)
        assert all(isinstance(r, StoreError) for r in results[:6]), results
        # The last one was refused outright: the revoke before it had (tentatively) ended the lease.
        assert isinstance(results[6], ErrLeaseNotFound)
        msg = str(results[0])
        assert str(data) in msg and "ENOSPC" in msg and "No space left on device" in msg
        assert dump(store) == before and store.revision == rev and store.events_since(0) == events
        assert store._mvcc.revision == rev and not store._mvcc.journal
        assert store.lease_ttl(lease) > 0 and len(store._leases.leases) == 1
        hook.err = None
        assert (await store.put("/a", b"3"))[0] == rev + 1
        after = dump(store)
    async with Store(data) as store:
        assert dump(store) == after and store.revision == rev + 1
        assert store.lease_ttl(lease) > 0


async def test_fsync_failure_rolls_back_and_the_retry_is_durable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "d"
    sync = GatedSync()
    async with Store(data, sync_hook=sync) as store:
        await store.put("/a", b"1")
        sync.fail = OSError(errno.EIO, os.strerror(errno.EIO))
        with monkeypatch.context() as mp:
            # Also fail the clean-up, so the rolled-back record stays in the old segment.
            def no_truncate(fd: int, size: int) -> None:
                raise OSError(errno.EROFS, os.strerror(errno.EROFS))

            mp.setattr(os, "ftruncate", no_truncate)
            with pytest.raises(StoreError, match="EIO"):
                await store.put("/a", b"lost")
        sync.fail = None
        assert store.get("/a").value == b"1"  # type: ignore[union-attr]
        await store.put("/b", b"2")
    async with Store(data) as store:
        # The record of the failed write is still on disk, but the newer segment voids it.
        assert dump(store) == {"/a": (b"1", 1, 1, 1, 0), "/b": (b"2", 2, 2, 1, 0)}


async def test_store_stays_readable_while_the_disk_fails(tmp_path: Path) -> None:
    hook = FailingWrite()
    async with Store(tmp_path / "d", write_hook=hook) as store:
        await store.put("/a", b"1")
        hook.err = OSError(errno.EROFS, os.strerror(errno.EROFS))
        for _ in range(3):
            with pytest.raises(StoreError, match="EROFS"):
                await store.put("/a", b"2")
        assert store.range("/a")[0][0].value == b"1"
        hook.err = None
        assert (await store.put("/a", b"2"))[0] == 2


# ---- leases


async def test_lease_expiry_deletes_attached_keys(store: Store) -> None:
    deletes: list[Event] = []
    store.subscribe(lambda evs: deletes.extend(e for e in evs if e.type == "DELETE"))
    lease = await store.lease_grant(0.05)
    await store.put("/l/a", b"1", lease=lease)
    await store.put("/l/b", b"1", lease=lease)
    await store.put("/keep", b"1")
    await wait_for(lambda: store.get("/l/a") is None)
    assert store.get("/l/b") is None and store.get("/keep") is not None
    assert {e.kv.key for e in deletes} == {"/l/a", "/l/b"}
    assert len({e.kv.mod_revision for e in deletes}) == 1
    with pytest.raises(ErrLeaseNotFound):
        await store.lease_keepalive(lease)


async def test_lease_keepalive_and_revoke(store: Store) -> None:
    lease = await store.lease_grant(0.5)
    await store.put("/l", b"1", lease=lease)
    await wait_for(lambda: store.lease_ttl(lease) < 0.4)
    assert await store.lease_keepalive(lease) == 0.5
    assert store.lease_ttl(lease) > 0.4 and store.get("/l") is not None
    await store.put("/l", b"2")  # rewritten without the lease: detached
    await store.put("/m", b"1", lease=lease)
    rev = store.revision
    await store.lease_revoke(lease)
    assert store.get("/l") is not None and store.get("/m") is None and store.revision == rev + 1
    with pytest.raises(ErrLeaseNotFound):
        await store.lease_revoke(lease)
    with pytest.raises(ErrLeaseNotFound):
        await store.put("/x", b"1", lease=lease)


async def test_lease_state_survives_restart_with_a_fresh_ttl(tmp_path: Path) -> None:
    data = tmp_path / "d"
    async with Store(data) as store:
        kept = await store.lease_grant(60)
        gone = await store.lease_grant(60)
        await store.put("/k", b"1", lease=kept)
        await store.lease_revoke(gone)
    async with Store(data, lease_check_interval=0.01) as store:
        assert 59 < store.lease_ttl(kept) <= 60
        with pytest.raises(ErrLeaseNotFound):
            store.lease_ttl(gone)
        assert await store.lease_grant(60) not in (kept, gone)
        await store.lease_revoke(kept)
        assert store.get("/k") is None


# ---- lifecycle


async def test_closed_or_unopened_store_refuses_writes(tmp_path: Path) -> None:
    store = Store(None)
    with pytest.raises(StoreError, match="open"):
        await store.put("/a", b"1")
    await store.open()
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await store.put("/a", b"1")


async def test_one_store_per_data_dir(tmp_path: Path) -> None:
    async with Store(tmp_path / "d"):
        with pytest.raises(StoreError, match="already open"):
            await Store(tmp_path / "d").open()
    async with Store(tmp_path / "d") as again:
        assert again.revision == 0


async def test_many_keys_prefix_range(tmp_path: Path) -> None:
    async with Store(None) as store:
        await asyncio.gather(*(store.put(f"/r/pods/ns{i % 10}/p{i:05d}", b"v") for i in range(20_000)))
        kvs, rev = store.range("/r/pods/ns3/", prefix=True)
        assert rev == 20_000 and len(kvs) == 2_000
        assert [kv.key for kv in kvs] == sorted(kv.key for kv in kvs)


# ---- property: the store against a plain dict model

KEYS = ["/a", "/a/x", "/a/y", "/b", "/b/z"]
op_strategy = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(KEYS), st.binary(max_size=4)),
    st.tuples(st.just("del"), st.sampled_from(KEYS), st.booleans()),
    st.tuples(st.just("txn"), st.sampled_from(KEYS), st.integers(0, 3), st.sampled_from(KEYS), st.sampled_from(KEYS)),
    st.tuples(st.just("compact"), st.integers(0, 3)),
)


class Model:
    def __init__(self) -> None:
        self.rev = 0
        self.kv: dict[str, tuple[bytes, int, int, int]] = {}  # key -> value, create, mod, version
        self.history: dict[int, dict[str, tuple[bytes, int, int, int]]] = {0: {}}

    def put(self, key: str, value: bytes, rev: int) -> None:
        old = self.kv.get(key)
        self.kv[key] = (value, old[1] if old else rev, rev, old[3] + 1 if old else 1)

    def bump(self) -> None:
        self.rev += 1
        self.history[self.rev] = dict(self.kv)


async def _run_model(ops: list[tuple], data: Path) -> None:
    model = Model()
    compacted = 0
    async with Store(data, snapshot_every=7) as store:
        for op in ops:
            if op[0] == "put":
                rev, _ = await store.put(op[1], op[2])
                model.put(op[1], op[2], model.rev + 1)
                model.bump()
                assert rev == model.rev
            elif op[0] == "del":
                gone = [k for k in model.kv if (k.startswith(op[1]) if op[2] else k == op[1])]
                rev, deleted = await store.delete(op[1], prefix=op[2])
                assert sorted(kv.key for kv in deleted) == sorted(gone)
                if gone:
                    for k in gone:
                        del model.kv[k]
                    model.bump()
                assert rev == model.rev
            elif op[0] == "txn":
                _, key, version, put_key, del_key = op
                ok = model.kv.get(key, (b"", 0, 0, 0))[3] == version
                res = await store.txn([Compare(key, "version", "=", version)],
                                      [Op.put(put_key, b"s")], [Op.delete(del_key)] if del_key != put_key else [])
                assert res.succeeded == ok
                if ok:
                    model.put(put_key, b"s", model.rev + 1)
                    model.bump()
                elif del_key != put_key and del_key in model.kv:
                    del model.kv[del_key]
                    model.bump()
                assert res.revision == model.rev
            elif model.rev - op[1] > compacted:
                compacted = model.rev - op[1]
                await store.compact(compacted)
            assert {k: v[:4] for k, v in dump(store).items()} == model.kv
            assert store.revision == model.rev
        for rev in range(max(compacted, store.compact_revision, 1), model.rev + 1):
            got = {kv.key: (kv.value, kv.create_revision, kv.mod_revision, kv.version)
                   for kv in store.range("", prefix=True, revision=rev)[0]}
            assert got == model.history[rev]
    async with Store(data) as store:  # and all of it survives a restart
        assert {k: v[:4] for k, v in dump(store).items()} == model.kv and store.revision == model.rev


@settings(max_examples=100, deadline=None, database=None)
@given(ops=st.lists(op_strategy, max_size=30))
def test_store_matches_a_dict_model(ops: list[tuple]) -> None:
    with tempfile.TemporaryDirectory() as d:
        asyncio.run(_run_model(ops, Path(d) / "data"))
