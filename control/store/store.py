"""The store: etcd v3's key-value API over the MVCC index, made durable by a WAL with group commit.

Writes are applied to memory at once, in call order, then wait for the fsync of the batch that
carries them; only then do readers and subscribers see them. A failed disk write takes back every
write not yet durable, so memory always equals what is on disk.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import msgpack

from control.store import snapshot
from control.store.errors import ErrCompacted, ErrFutureRev, ErrLeaseNotFound, StoreError
from control.store.lease import LeaseTable
from control.store.mvcc import Event, KeyValue, Mark, Mvcc
from control.store.txn import Compare, Op, TxnResult
from control.store.wal import (
    COMPACT,
    DELETE,
    LEASE_GRANT,
    LEASE_REVOKE,
    PUT,
    SyncFn,
    Wal,
    WriteFn,
    frame,
    recover,
    remove_segments_before,
)

log = logging.getLogger("kube_tui.store")

Subscriber = Callable[[list[Event]], None]

# Records between snapshots: etcd's default --snapshot-count. A snapshot encodes the whole store (on a
# big store that is CPU the API server's thread competes with); replaying 100,000 records on start takes
# ~1 s here.
SNAPSHOT_EVERY = 100_000

# A WAL write + fdatasync that usually takes less than this is done on the event loop's own thread: handing
# a ~0.1 ms fsync to a thread costs more (queue, wake-ups, the GIL handed back and forth, which can wait a
# whole switch interval while the loop is busy) than it saves. A slower disk goes to the writer thread
# instead (the average too slow, or the last append a stall), so a stall blocks the loop for one batch at most.
# One append a little over the limit is not a slow disk: an append's wall time includes waiting for a CPU
# once the fsync is done, and on a busy machine that alone is often a millisecond. Sending the next batch
# to the thread then costs that busy machine more wake-ups; in `kube-tui bench watch` (1,000 writes/s,
# 10 subscribers) it happened 10-30 times a run and the p99 latency's median went from 2.6 to 2.4 ms
# without it (9 interleaved runs each).
INLINE_SYNC_BELOW = 0.001  # seconds (moving average of recent WAL appends)
STALL_FACTOR = 5  # one append longer than this many times INLINE_SYNC_BELOW is a stall
INLINE_BATCH_MAX = 1 << 20  # bytes: a larger batch always goes to the writer thread


def _yield_gil() -> None:
    """From a background thread: let the event loop's thread take the GIL now if it is waiting for it."""
    time.sleep(0.0001)


def _describe(e: BaseException) -> str:
    if isinstance(e, OSError) and e.errno is not None:
        return f"{errno.errorcode.get(e.errno, e.errno)}: {e.strerror}"
    return f"{type(e).__name__}: {e}"


class _Batch(NamedTuple):
    """Records flushed together: their writers, their framed bytes, and the state to commit once durable."""

    waiters: list[asyncio.Future[None]]
    data: bytes
    mark: Mark
    seq: int


class Store:
    """An etcd-shaped MVCC store. `data_dir=None` keeps it in memory only (same semantics)."""

    def __init__(self, data_dir: str | Path | None, *, fsync: bool = True, snapshot_every: int = SNAPSHOT_EVERY,
                 history: int = 50_000, lease_check_interval: float = 0.5,
                 write_hook: WriteFn | None = None, sync_hook: SyncFn | None = None,
                 inline_sync_below: float = INLINE_SYNC_BELOW) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._fsync = fsync
        self._snapshot_every = max(1, snapshot_every)
        self._history = history
        # Compact in chunks so compaction costs amortized O(1) per write, not a sweep per write.
        self._compact_slack = max(1, history // 8)
        self._lease_interval = lease_check_interval
        # Fault injection for tests: stand-ins for os.write / os.fdatasync on WAL and snapshot files.
        self._write_hook = write_hook
        self._sync_hook = sync_hook
        self._inline_below = inline_sync_below  # 0: always on the writer thread
        self._append_avg: float | None = None  # seconds per WAL append, moving average; None until measured
        self._append_last = 0.0
        self._mvcc = Mvcc()
        self._leases = LeaseTable()
        self._seq = 0  # last record applied to memory
        self._durable_seq = 0  # last record known durable
        self._buf: list[bytes] = []  # framed records waiting for the next flush
        self._waiters: list[asyncio.Future[None]] = []  # writers of those records
        self._flush_handle: asyncio.Handle | None = None  # the next batch's flush, due on the next turn of the loop
        self._flusher: asyncio.Task[None] | None = None  # a flush that must wait: the writer thread, a new segment
        self._subscribers: list[Subscriber] = []
        self._wal: Wal | None = None
        self._executor: ThreadPoolExecutor | None = None  # the WAL's writer thread
        self._snap_executor: ThreadPoolExecutor | None = None
        self._snap_task: asyncio.Task[None] | None = None
        self._lock_fd: int | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._since_snapshot = 0
        self._state = "new"  # new -> open -> closing -> closed
        self._failing: str | None = None  # why the last WAL write failed, until one succeeds again
        self.batches = 0  # group commits done
        self.records = 0  # records made durable
        self.snapshots = 0

    # ---- lifecycle

    async def open(self) -> None:
        """Load the newest snapshot, replay the WAL after it (cutting a torn tail), start timers."""
        if self._state != "new":
            raise StoreError(f"store is {self._state}; open() is called once")
        self._loop = asyncio.get_running_loop()
        if self.data_dir is not None:
            try:
                self._recover(self.data_dir)
            except OSError as e:
                self._unlock()
                raise StoreError(f"cannot open the store in {self.data_dir}: {_describe(e)}") from e
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="kube-tui-store-wal")
            self._snap_executor = ThreadPoolExecutor(1, thread_name_prefix="kube-tui-store-snapshot")
        self._state = "open"
        self._lease_task = self._loop.create_task(self._expire_leases())

    async def close(self) -> None:
        """Finish the writes in flight, stop the lease timer, close files."""
        if self._state in ("new", "closed", "closing"):
            self._state = "closed" if self._state == "new" else self._state
            return
        self._state = "closing"
        if self._lease_task is not None:
            self._lease_task.cancel()
            try:
                await self._lease_task
            except asyncio.CancelledError:
                pass
        while True:
            if self._flush_handle is not None:  # a batch due on the next turn of the loop: flush it now
                self._flush_handle.cancel()
                self._flush_soon()
            pending = self._flusher or self._snap_task
            if pending is None:
                break
            await asyncio.shield(pending)
        if self._wal is not None:
            self._wal.close()
        for executor in (self._executor, self._snap_executor):
            if executor is not None:
                executor.shutdown(wait=True)
        self._unlock()
        self._state = "closed"

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _lock(self, directory: Path) -> None:
        fd = os.open(directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"the store in {directory} is already open in another process "
                             f"or store (its LOCK file is held)") from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the fd releases the flock
            self._lock_fd = None

    def _recover(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._lock(directory)
        now = time.monotonic()
        snap = snapshot.load_latest(directory)
        if snap is not None:
            self._mvcc.load(snap.kvs, snap.rev)
            for lease_id, ttl in snap.leases:
                self._leases.grant(lease_id, ttl, now)  # a fresh TTL, as after an etcd leader change
            self._leases.next_id = max(self._leases.next_id, snap.next_lease)
            self._seq = snap.seq
        records, last = recover(directory, self._seq)
        m = self._mvcc
        for seq, rev, ops in records:
            compact_to = 0
            for op in ops:
                tag = op[0]
                if tag == PUT:
                    m.put(op[1], op[2], op[3], rev)
                elif tag == DELETE:
                    m.delete(op[1], rev)
                elif tag == LEASE_GRANT:
                    self._leases.grant(op[1], op[2], now)
                elif tag == LEASE_REVOKE:
                    self._leases.leases.pop(op[1], None)
                else:
                    compact_to = op[1]
            m.revision = max(m.revision, rev)
            m.commit(m.mark())
            if compact_to:
                m.compact(compact_to)
            self._seq = seq
        self._durable_seq = self._seq
        self._since_snapshot = len(records)
        self._wal = Wal(directory, fsync=self._fsync, write=self._write_hook, sync=self._sync_hook)
        if last is not None:
            self._wal.open_segment(last)
        else:
            self._wal.new_segment(self._seq + 1)
        self._auto_compact()

    # ---- reads: the durable view

    @property
    def revision(self) -> int:
        """The last durable revision: what range() and subscribers have seen."""
        return self._mvcc.committed

    @property
    def compact_revision(self) -> int:
        return self._mvcc.compact_revision

    def range(self, key: str, *, prefix: bool = False, revision: int = 0, limit: int = 0,
              keys_only: bool = False, start: str = "") -> tuple[list[KeyValue], int]:
        """Keys equal to `key` (or under it, with prefix, from `start` on) as of `revision` (0: now), in key order."""
        m = self._mvcc
        current = m.committed
        rev = revision if revision > 0 else current
        if rev < m.compact_revision:
            raise ErrCompacted(f"mvcc: required revision {rev} has been compacted "
                               f"(compact revision {m.compact_revision})")
        if rev > current:
            raise ErrFutureRev(f"mvcc: required revision {rev} is a future revision (current {current})")
        kvs = m.range(key, prefix, rev, limit, start)
        if keys_only:
            kvs = [KeyValue(kv.key, b"", kv.create_revision, kv.mod_revision, kv.version, kv.lease) for kv in kvs]
        return kvs, current

    def get(self, key: str) -> KeyValue | None:
        return self._mvcc.at(key, self._mvcc.committed)

    def events_since(self, revision: int, prefix: str = "") -> list[Event]:
        """Durable events with mod_revision > `revision`, in order; ErrCompacted if some are gone."""
        return self._mvcc.events_since(revision, prefix)

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call fn(events) after each group commit with its events in revision order."""
        self._subscribers.append(fn)

        def unsubscribe() -> None:
            if fn in self._subscribers:
                self._subscribers.remove(fn)

        return unsubscribe

    def stats(self) -> dict[str, int]:
        wal = self._wal
        return {
            "revision": self._mvcc.committed, "compact_revision": self._mvcc.compact_revision,
            "keys": len(self._mvcc.keys), "leases": len(self._leases.leases),
            "records": self.records, "batches": self.batches, "snapshots": self.snapshots,
            "fsyncs": wal.fsyncs if wal else 0, "wal_bytes": wal.bytes_written if wal else 0,
        }

    # ---- writes

    async def put(self, key: str, value: bytes, *, lease: int = 0) -> tuple[int, KeyValue | None]:
        """Set `key`; returns (revision of the write, previous live version or None)."""
        self._check_open()
        if type(value) is not bytes:
            raise TypeError(f"store values are bytes, got {type(value).__name__} for {key}")
        if lease and lease not in self._leases.leases:
            raise ErrLeaseNotFound(f"requested lease not found: {lease}")
        m = self._mvcc
        rev = m.revision + 1
        _, prev = m.put(key, value, lease, rev)
        m.revision = rev
        await self._submit([[PUT, key, value, lease]])
        return rev, prev

    async def delete(self, key: str, *, prefix: bool = False) -> tuple[int, list[KeyValue]]:
        """Delete `key` (or every key under it); returns (revision, deleted versions).
        Deleting nothing does not make a new revision, like etcd."""
        self._check_open()
        m = self._mvcc
        rev = m.revision + 1
        deleted: list[KeyValue] = []
        for k in m.keys_in(key, prefix):
            prev = m.delete(k, rev)
            if prev is not None:
                deleted.append(prev)
        if not deleted:
            await self._settled()
            return self.revision, []
        m.revision = rev
        await self._submit([[DELETE, kv.key] for kv in deleted])
        return rev, deleted

    async def txn(self, compares: list[Compare], success: list[Op], failure: list[Op]) -> TxnResult:
        """If every compare holds on the latest state run `success`, else `failure`; all the
        writes of the chosen branch happen at one new revision. A key may be written once per txn."""
        self._check_open()
        m = self._mvcc
        latest = m.latest
        ok = all(c.holds(latest(c.key)) for c in compares)
        rev = m.revision + 1
        mark = m.mark()
        wal_ops: list[list[Any]] = []
        responses: list[Any] = []
        touched: set[str] = set()
        try:
            for op in success if ok else failure:
                if op.kind == "put":
                    self._touch(touched, op.key)
                    if type(op.value) is not bytes:
                        raise TypeError(f"store values are bytes, got {type(op.value).__name__} for {op.key}")
                    if op.lease and op.lease not in self._leases.leases:
                        raise ErrLeaseNotFound(f"requested lease not found: {op.lease}")
                    _, prev = m.put(op.key, op.value, op.lease, rev)
                    wal_ops.append([PUT, op.key, op.value, op.lease])
                    responses.append(prev)
                elif op.kind == "delete":
                    deleted = []
                    for k in m.keys_in(op.key, op.prefix):
                        if m.latest(k) is not None:
                            self._touch(touched, k)
                            deleted.append(m.delete(k, rev))
                            wal_ops.append([DELETE, k])
                    responses.append(deleted)
                elif op.kind == "range":
                    responses.append(m.range(op.key, op.prefix, rev))
                else:
                    raise ValueError(f"Op.kind: must be put, delete or range, got {op.kind!r}")
        except BaseException:
            m.rollback(mark, self._leases.undo)
            raise
        if not wal_ops:
            await self._settled()
            return TxnResult(ok, self.revision, responses)
        m.revision = rev
        await self._submit(wal_ops)
        return TxnResult(ok, rev, responses)

    @staticmethod
    def _touch(touched: set[str], key: str) -> None:
        if key in touched:
            raise ValueError(f"duplicate key given in txn request: {key!r}")
        touched.add(key)

    async def compact(self, revision: int) -> None:
        """Forget the versions older than `revision` (etcd's compaction; logged, so it survives restart)."""
        self._check_open()
        m = self._mvcc
        if revision <= m.compact_revision:
            raise ErrCompacted(f"mvcc: required revision {revision} has been compacted "
                               f"(compact revision {m.compact_revision})")
        if revision > m.revision:
            raise ErrFutureRev(f"mvcc: required revision {revision} is a future revision (current {m.revision})")
        await self._submit([[COMPACT, revision]])
        m.compact(revision)

    # ---- leases

    async def lease_grant(self, ttl: float, lease_id: int = 0) -> int:
        """A new lease that expires `ttl` seconds from now unless kept alive; returns its id."""
        self._check_open()
        if ttl <= 0:
            raise ValueError(f"lease ttl: must be > 0, got {ttl}")
        if lease_id and lease_id in self._leases.leases:
            raise StoreError(f"lease already exists: {lease_id}")
        lease_id = lease_id or self._leases.new_id()
        self._leases.grant(lease_id, ttl, time.monotonic())
        self._mvcc.journal.append(("grant", lease_id))
        await self._submit([[LEASE_GRANT, lease_id, ttl]])
        return lease_id

    async def lease_keepalive(self, lease_id: int) -> float:
        """Restart the lease's TTL; returns it. Not logged: a restart gives every lease a fresh TTL."""
        self._check_open()
        lease = self._leases.leases.get(lease_id)
        if lease is None:
            raise ErrLeaseNotFound(f"requested lease not found: {lease_id}")
        lease.deadline = time.monotonic() + lease.ttl
        return lease.ttl

    def lease_ttl(self, lease_id: int) -> float:
        """Seconds left before the lease expires (ErrLeaseNotFound if it is gone)."""
        lease = self._leases.leases.get(lease_id)
        if lease is None:
            raise ErrLeaseNotFound(f"requested lease not found: {lease_id}")
        return lease.remaining(time.monotonic())

    async def lease_revoke(self, lease_id: int) -> None:
        """End the lease now; the keys attached to it are deleted at one new revision."""
        self._check_open()
        lease = self._leases.leases.pop(lease_id, None)
        if lease is None:
            raise ErrLeaseNotFound(f"requested lease not found: {lease_id}")
        m = self._mvcc
        m.journal.append(("revoke", lease))
        rev = m.revision + 1
        ops: list[list[Any]] = [[LEASE_REVOKE, lease_id]]
        for key in sorted(m.lease_keys.get(lease_id, ())):
            if m.delete(key, rev) is not None:
                ops.append([DELETE, key])
        if len(ops) > 1:
            m.revision = rev
        await self._submit(ops)

    async def _expire_leases(self) -> None:
        while True:
            await asyncio.sleep(self._lease_interval)
            expired = self._leases.expired(time.monotonic())
            if not expired:
                continue
            results = await asyncio.gather(*(self.lease_revoke(i) for i in expired), return_exceptions=True)
            for lease_id, r in zip(expired, results, strict=True):
                if isinstance(r, StoreError):
                    log.warning("store: could not expire lease %d, will retry: %s", lease_id, r)
                elif isinstance(r, BaseException) and not isinstance(r, ErrLeaseNotFound):
                    log.error("store: expiring lease %d failed", lease_id, exc_info=r)

    def health(self) -> str | None:
        """None while the store takes reads and writes; else why not (the API server's etcd health check)."""
        if self._state != "open":
            return f"the store is {self._state}"
        return self._failing

    # ---- group commit

    def _check_open(self) -> None:
        if self._state != "open":
            raise StoreError(f"store is {self._state}: open() it first" if self._state == "new"
                             else f"store is {self._state}")

    def _submit(self, ops: list[list[Any]]) -> asyncio.Future[None]:
        """Queue one record (already applied to memory); the future resolves once it is durable."""
        self._seq += 1
        if self._wal is not None:
            self._buf.append(frame(msgpack.packb([self._seq, self._mvcc.revision, ops])))
        return self._wait_next_flush()

    def _settled(self) -> asyncio.Future[None]:
        """For a write that changed nothing: resolves once what it observed is durable."""
        if not self._waiters and self._flusher is None:
            fut = self._loop.create_future()  # type: ignore[union-attr]
            fut.set_result(None)
            return fut
        return self._wait_next_flush()

    def _wait_next_flush(self) -> asyncio.Future[None]:
        loop = self._loop
        assert loop is not None
        fut = loop.create_future()
        self._waiters.append(fut)
        if self._flush_handle is None and self._flusher is None:
            # On the next turn of the loop: every writer that runs in this turn joins the batch.
            self._flush_handle = loop.call_soon(self._flush_soon)
        return fut

    def _take_batch(self) -> _Batch:
        """Everything queued so far, as one batch; what arrives after it is the next batch."""
        waiters, self._waiters = self._waiters, []
        buf, self._buf = self._buf, []
        return _Batch(waiters, b"".join(buf), self._mvcc.mark(), self._seq)

    def _flush_soon(self) -> None:
        """Flush the batch queued since the last one. While the disk is fast this is a plain callback
        that writes and fsyncs on the loop's thread: no Task to create and step for every batch. A batch
        that must wait (the writer thread, or a new segment for a snapshot) goes to the _flush task."""
        self._flush_handle = None
        batch = self._take_batch()
        if self._to_thread(batch):
            self._flusher = self._loop.create_task(self._flush(batch))  # type: ignore[union-attr]
            return
        self._write_and_commit(batch)
        if self._snapshot_due():
            self._flusher = self._loop.create_task(self._flush())  # type: ignore[union-attr]

    async def _flush(self, batch: _Batch | None = None) -> None:
        """Flush batches until none is queued, waiting for the writer thread where the disk is slow;
        writers that arrive meanwhile queue up as the next batch."""
        loop = self._loop
        assert loop is not None
        try:
            while True:
                if batch is None:
                    if self._snapshot_due():
                        await self._start_snapshot()
                    if not self._waiters:
                        return
                    batch = self._take_batch()
                if self._to_thread(batch):
                    try:
                        took = await loop.run_in_executor(self._executor, self._append, batch.data,
                                                          self._durable_seq + 1)
                    except Exception as e:  # any failure must roll back, not hang writers
                        self._abort(e, batch.waiters)
                    else:
                        self._appended(took)
                        self._commit(batch.mark, batch.seq, batch.waiters)
                else:
                    self._write_and_commit(batch)
                batch = None
        finally:
            self._flusher = None

    def _write_and_commit(self, batch: _Batch) -> None:
        """Append and fsync the batch on this thread, then commit it (or take it back if that failed)."""
        if batch.data and self._wal is not None:
            try:
                took = self._append(batch.data, self._durable_seq + 1)
            except Exception as e:  # any failure must roll back, not hang writers
                self._abort(e, batch.waiters)
                return
            self._appended(took)
        self._commit(batch.mark, batch.seq, batch.waiters)

    def _appended(self, took: float) -> None:
        avg = self._append_avg
        self._append_avg = took if avg is None else avg + (took - avg) / 8
        self._append_last = took

    def _snapshot_due(self) -> bool:
        return self._wal is not None and self._since_snapshot >= self._snapshot_every and self._snap_task is None

    def _append(self, data: bytes, first_seq: int) -> float:
        """Write and fsync one batch (on the loop's thread or the writer thread); returns the seconds it took."""
        assert self._wal is not None
        t0 = time.perf_counter()
        self._wal.append(data, first_seq)
        return time.perf_counter() - t0

    def _to_thread(self, batch: _Batch) -> bool:
        """Whether the batch's append must go to the writer thread: the disk is slow, or the batch big."""
        return bool(batch.data) and self._wal is not None and not self._append_inline(len(batch.data))

    def _append_inline(self, size: int) -> bool:
        avg = self._append_avg
        below = self._inline_below
        return (avg is not None and avg < below and self._append_last < below * STALL_FACTOR
                and size <= INLINE_BATCH_MAX)

    def _commit(self, mark: tuple[int, int, int], seq: int, waiters: list[asyncio.Future[None]]) -> None:
        events = self._mvcc.commit(mark)
        self._since_snapshot += seq - self._durable_seq
        self.records += seq - self._durable_seq
        self._durable_seq = seq
        self.batches += 1
        self._failing = None
        if events:
            # Before the writers resume: once a write returns, every subscriber has seen it.
            for fn in list(self._subscribers):
                try:
                    fn(events)
                except Exception:  # one bad subscriber must not break the commit
                    log.exception("store: subscriber %r failed", fn)
        for w in waiters:
            if not w.done():
                w.set_result(None)
        self._auto_compact()

    def _auto_compact(self) -> None:
        m = self._mvcc
        if self._history > 0 and m.committed - m.compact_revision > self._history + self._compact_slack:
            m.compact(m.committed - self._history)

    def _abort(self, e: BaseException, waiters: list[asyncio.Future[None]]) -> None:
        """The batch did not become durable: take back it and everything queued after it."""
        msg = (f"store: writing the write-ahead log in {self.data_dir} failed ({_describe(e)}); "
               f"the write was not applied")
        log.error("%s", msg)
        self._failing = f"the last write to the write-ahead log failed: {_describe(e)}"
        self._mvcc.rollback(self._mvcc.committed_mark(), self._leases.undo)
        self._seq = self._durable_seq
        queued, self._waiters, self._buf = self._waiters, [], []
        for w in waiters + queued:
            if not w.done():
                w.set_exception(StoreError(msg))

    async def _start_snapshot(self) -> None:
        """Between two batches: start a new WAL segment, capture the durable state, and write the
        snapshot in the background while writes go on into the new segment."""
        self._since_snapshot = 0
        loop, wal, m = self._loop, self._wal, self._mvcc
        assert loop is not None and wal is not None
        seq = self._durable_seq
        try:
            await loop.run_in_executor(self._executor, wal.new_segment, seq + 1)
        except OSError as e:
            log.warning("store: starting a new WAL segment in %s failed (%s); will retry after %d more records",
                        self.data_dir, _describe(e), self._snapshot_every)
            return
        state = (m.committed, m.compact_revision, self._leases.next_id, m.committed_kvs(),
                 self._leases.committed(m.journal))
        self._snap_task = loop.create_task(self._write_snapshot(seq, state))

    async def _write_snapshot(self, seq: int, state: tuple[Any, ...]) -> None:
        loop = self._loop
        assert loop is not None
        try:
            await loop.run_in_executor(self._snap_executor, self._install_snapshot, seq, state)
        except OSError as e:
            log.warning("store: snapshot in %s failed (%s); the WAL keeps everything, will retry after "
                        "%d more records", self.data_dir, _describe(e), self._snapshot_every)
        finally:
            self._snap_task = None

    def _install_snapshot(self, seq: int, state: tuple[Any, ...]) -> None:
        """Snapshot thread: only once the snapshot is durable may the segments it covers go.
        Crash at any point: either the old snapshot and all segments, or the new one, remain."""
        assert self.data_dir is not None
        data = snapshot.encode(seq, *state, pause=_yield_gil)
        snapshot.write(self.data_dir, seq, data, fsync=self._fsync, write=self._write_hook, sync=self._sync_hook)
        remove_segments_before(self.data_dir, seq + 1)
        snapshot.remove_older(self.data_dir, seq)
        self.snapshots += 1
