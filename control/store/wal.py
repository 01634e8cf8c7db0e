"""Write-ahead log: framed, checksummed records in segment files, and replay that cuts a torn tail.

A record is [u32 length][u32 crc32][msgpack payload] (little-endian), the payload being
[seq, revision, ops]; ops are [0, key, value, lease] put, [1, key] delete, [2, lease_id, ttl] lease
grant, [3, lease_id] lease revoke, [4, revision] compact. Segments are named by the seq of their
first record; a later segment voids any record of an earlier one with seq >= its start (that is how
a failed, rolled-back write that could not be cut off the old segment is made harmless). Segments
are preallocated, like etcd's: zeros after the last record are space not written yet, not damage.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

log = logging.getLogger("kube_tui.store")

HEADER = struct.Struct("<II")
MAX_RECORD = 256 << 20  # a length above this is garbage, not a record
# A segment grows by this much at a time, reserved ahead of the records (as etcd preallocates its
# segments): an fdatasync after an append that grows the file must also commit the file system's
# journal for the new size. On the 2-core test VM (ext4) a 1 KB append + fdatasync took ~60 us of CPU
# and ~135 us that way, ~46 us and ~104 us into space already allocated.
PREALLOCATE = 4 << 20  # bytes
PUT, DELETE, LEASE_GRANT, LEASE_REVOKE, COMPACT = range(5)

WriteFn = Callable[[int, Any], int]  # os.write's shape; injectable so tests can fake ENOSPC
SyncFn = Callable[[int], None]  # os.fdatasync's shape

_SEGMENT = re.compile(r"^wal-([0-9a-f]{16})\.log$")


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def segment_name(first_seq: int) -> str:
    return f"wal-{first_seq:016x}.log"


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        m = _SEGMENT.match(path.name)
        if m:
            found.append((int(m.group(1), 16), path))
    return sorted(found)


def fsync_dir(directory: Path) -> None:
    """Make a create/rename/unlink in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(write: WriteFn, fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = write(fd, view)
        view = view[n:]


def decode(payload: bytes) -> list:
    """Unpack and check one record's shape; ValueError if it is not a record we wrote."""
    try:
        rec = msgpack.unpackb(payload)
    except (ValueError, TypeError, msgpack.UnpackException) as e:
        raise ValueError(f"bad msgpack: {e}") from e
    if not (isinstance(rec, list) and len(rec) == 3 and type(rec[0]) is int and type(rec[1]) is int
            and isinstance(rec[2], list)):
        raise ValueError("not a [seq, revision, ops] record")
    for op in rec[2]:
        if not (isinstance(op, list) and op and op[0] in _OP_SHAPES):
            raise ValueError(f"bad op {op!r}")
        shape = _OP_SHAPES[op[0]]
        if len(op) != len(shape) + 1 or not all(isinstance(v, t) for v, t in zip(op[1:], shape, strict=True)):
            raise ValueError(f"bad op {op!r}")
    return rec


_OP_SHAPES: dict[int, tuple[type | tuple[type, ...], ...]] = {
    PUT: (str, bytes, int),
    DELETE: (str,),
    LEASE_GRANT: (int, (int, float)),
    LEASE_REVOKE: (int,),
    COMPACT: (int,),
}


def read_records(data: bytes) -> tuple[list[tuple[list, int]], str | None]:
    """Decode records from the start of `data` until the first one that is torn or corrupt.

    Returns [(record, offset just past it)] and why it stopped early (None: clean end)."""
    out: list[tuple[list, int]] = []
    off, n = 0, len(data)
    while off < n:
        if off + HEADER.size > n:
            return out, "torn record header"
        length, crc = HEADER.unpack_from(data, off)
        if length == 0 and data.count(0, off) == n - off:
            return out, None  # the preallocated rest of the segment: nothing was written there yet
        end = off + HEADER.size + length
        if length == 0 or length > MAX_RECORD:
            return out, f"bad record length {length}"
        if end > n:
            return out, "torn record"
        payload = data[off + HEADER.size:end]
        if zlib.crc32(payload) != crc:
            return out, "crc mismatch"
        try:
            rec = decode(payload)
        except ValueError as e:
            return out, str(e)
        out.append((rec, end))
        off = end
    return out, None


def _truncate(path: Path, size: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    finally:
        os.close(fd)


def recover(directory: Path, after_seq: int) -> tuple[list[list], Path | None]:
    """Replay the segments: the records with seq > after_seq, contiguous, in order.

    Cuts each segment at its first torn/corrupt record (logging how many bytes went) or at the end
    of its records (the unused preallocated space, silently), and returns the last segment, which new
    records are appended to."""
    segments = list_segments(directory)
    records: list[list] = []
    expected = after_seq + 1
    last: Path | None = None
    for i, (start, path) in enumerate(segments):
        if start > expected:
            # Records between are missing: nothing after this point can be applied in order.
            for _, later in segments[i:]:
                later.rename(later.with_suffix(".corrupt"))
            log.warning("store: write-ahead log %s starts at record %d but record %d is missing; "
                        "it and later segments were renamed to *.corrupt", path, start, expected)
            break
        voided_from = segments[i + 1][0] if i + 1 < len(segments) else None
        data = path.read_bytes()
        decoded, why = read_records(data)
        good = 0
        for rec, end in decoded:
            seq = rec[0]
            if voided_from is not None and seq >= voided_from:
                why = None  # superseded by the next segment: not damage, just dead weight
                break
            if seq > after_seq:
                if seq != expected:
                    why = f"record {seq} where {expected} was expected"
                    break
                records.append(rec)
                expected += 1
            good = end
        if good < len(data):
            _truncate(path, good)
            if why is not None:
                log.warning("store: cut %d bytes of torn or corrupt write-ahead log (%s) at offset %d "
                            "of %s", len(data) - good, why, good, path)
        last = path
    return records, last


def remove_segments_before(directory: Path, seq: int) -> None:
    """Drop the segments a snapshot at seq-1 covers (every one that starts before `seq`)."""
    for start, path in list_segments(directory):
        if start < seq:
            path.unlink()


class Wal:
    """The appender. Used from one thread at a time: the store's writer thread, or its event loop's when the disk is fast."""

    def __init__(self, directory: Path, *, fsync: bool = True, write: WriteFn | None = None,
                 sync: SyncFn | None = None) -> None:
        self.dir = directory
        self.fsync = fsync
        self._write: WriteFn = write or os.write
        self._sync: SyncFn = sync or os.fdatasync
        self._fd: int | None = None
        self.path: Path | None = None
        self._size = 0  # bytes of records: where the next one is written
        self._allocated = 0  # bytes reserved for the segment (its file size)
        self._can_preallocate = hasattr(os, "posix_fallocate")  # not on every platform
        self.fsyncs = 0
        self.bytes_written = 0

    @property
    def size(self) -> int:
        """Bytes of records in the current segment (the file is longer where space is preallocated)."""
        return self._size

    def open_segment(self, path: Path) -> None:
        """Append to a segment that recover() has cut at its last record."""
        self.close()
        # Not O_APPEND: the file is longer than its records once space is preallocated.
        self._fd = os.open(path, os.O_WRONLY)
        self.path = path
        self._size = self._allocated = os.fstat(self._fd).st_size
        os.lseek(self._fd, self._size, os.SEEK_SET)

    def new_segment(self, first_seq: int) -> None:
        self.close()
        path = self.dir / segment_name(first_seq)
        # O_TRUNC: a segment of this name can only hold records that failed and were rolled back.
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.path = path
        self._size = self._allocated = 0
        fsync_dir(self.dir)

    def append(self, data: bytes, first_seq: int) -> None:
        """Write `data` (framed records, the first one numbered first_seq) and make it durable."""
        if self._fd is None:
            self.new_segment(first_seq)
        fd = self._fd
        assert fd is not None
        try:
            if self._size + len(data) > self._allocated:
                self._preallocate(fd, len(data))
            write_all(self._write, fd, data)
            if self.fsync:
                self._sync(fd)
                self.fsyncs += 1
        except OSError:
            self._abandon()
            raise
        self._size += len(data)
        self.bytes_written += len(data)

    def _preallocate(self, fd: int, need: int) -> None:
        """Reserve the segment's next PREALLOCATE bytes (or `need`, if more) past its records."""
        if not self._can_preallocate:
            return
        size = max(PREALLOCATE, need)
        try:
            os.posix_fallocate(fd, self._size, size)
        except OSError as e:
            # The append goes on without: the file grows with it (only the fsync is slower). If the disk
            # is full, the write says so. A file system that cannot preallocate is not asked again.
            self._can_preallocate = e.errno not in (errno.EOPNOTSUPP, errno.EINVAL)
            log.debug("store: could not preallocate %d bytes of %s: %s", size, self.path, e)
            return
        self._allocated = self._size + size

    def _abandon(self) -> None:
        """After a failed write or fsync the file's tail is unknown: cut it back if we can, and
        start a new segment for the next write either way (its name voids whatever is left)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, self._size)
        except OSError as e:
            log.debug("store: could not cut back %s after a failed write: %s", self.path, e)
        os.close(fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
