"""Snapshots: the whole live state at one record seq, written crash-safely (temp file, fsync, rename).

The file is one WAL-framed record whose payload is a msgpack array: [1 (format version), seq, rev,
compact, next_lease, leases [[id, ttl]], kvs [[key, value, create, mod, version, lease]]].
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import msgpack

from control.store.lease import Lease
from control.store.mvcc import KeyValue
from control.store.wal import HEADER, SyncFn, WriteFn, frame, fsync_dir, write_all

log = logging.getLogger("kube_tui.store")

_SNAPSHOT = re.compile(r"^snap-([0-9a-f]{16})\.snap$")
TMP_NAME = "snap.tmp"


@dataclass(slots=True)
class Snapshot:
    seq: int  # the last WAL record it covers
    rev: int
    compact: int
    next_lease: int
    kvs: list[KeyValue] = field(default_factory=list)
    leases: list[tuple[int, float]] = field(default_factory=list)  # (id, ttl)


ENCODE_CHUNK = 256  # rows packed between two pauses (see encode)


def encode(seq: int, rev: int, compact: int, next_lease: int, kvs: list[KeyValue],
           leases: dict[int, Lease], *, pause: Callable[[], None] | None = None) -> bytes:
    """The snapshot file's bytes. `pause` is called every ENCODE_CHUNK rows: on the snapshot thread it
    hands the GIL to the event loop, which would otherwise wait up to a switch interval (5 ms) for it
    each time it wakes while 10,000 rows are packed (~25 ms of Python)."""
    # Packed row by row into one buffer: building one big nested list first would make the garbage
    # collector walk the whole heap over and over (holding the GIL the event loop needs).
    packer = msgpack.Packer(autoreset=False)
    pack = packer.pack
    packer.pack_array_header(7)
    for v in (1, seq, rev, compact, next_lease, [[lease.id, lease.ttl] for lease in leases.values()]):
        pack(v)
    packer.pack_array_header(len(kvs))
    for i in range(0, len(kvs), ENCODE_CHUNK):
        for kv in kvs[i:i + ENCODE_CHUNK]:
            pack((kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease))
        if pause is not None:
            pause()
    return frame(packer.bytes())


def decode(data: bytes) -> Snapshot:
    """ValueError if `data` is not a whole, intact snapshot."""
    if len(data) < HEADER.size:
        raise ValueError("shorter than a header")
    length, crc = HEADER.unpack_from(data)
    payload = data[HEADER.size:]
    if len(payload) != length:
        raise ValueError(f"length {len(payload)}, header says {length}")
    if zlib.crc32(payload) != crc:
        raise ValueError("crc mismatch")
    try:
        version, seq, rev, compact, next_lease, leases, kvs = msgpack.unpackb(payload)
        if version != 1:
            raise ValueError(f"unknown snapshot version {version!r}")
        return Snapshot(
            seq=int(seq), rev=int(rev), compact=int(compact), next_lease=int(next_lease),
            kvs=[KeyValue(k, bytes(v), int(c), int(m), int(ver), int(le)) for k, v, c, m, ver, le in kvs],
            leases=[(int(i), t if isinstance(t, int | float) else float(t)) for i, t in leases],
        )
    except (TypeError, ValueError, msgpack.UnpackException) as e:
        raise ValueError(f"bad snapshot payload: {e}") from e


def snapshot_name(seq: int) -> str:
    return f"snap-{seq:016x}.snap"


def list_snapshots(directory: Path) -> list[tuple[int, Path]]:
    found = []
    for path in directory.iterdir():
        m = _SNAPSHOT.match(path.name)
        if m:
            found.append((int(m.group(1), 16), path))
    return sorted(found)


def load_latest(directory: Path) -> Snapshot | None:
    """The newest intact snapshot (a damaged one is reported and the next older one tried)."""
    for _, path in reversed(list_snapshots(directory)):
        try:
            return decode(path.read_bytes())
        except ValueError as e:
            log.warning("store: ignoring damaged snapshot %s: %s", path, e)
    return None


def write(directory: Path, seq: int, data: bytes, *, fsync: bool = True, write: WriteFn | None = None,
          sync: SyncFn | None = None) -> Path:
    """Durably install `data` as the snapshot at `seq`: temp file, fsync, rename, fsync the dir."""
    tmp = directory / TMP_NAME
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(write or os.write, fd, data)
        if fsync:
            (sync or os.fdatasync)(fd)
    except OSError:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    path = directory / snapshot_name(seq)
    os.replace(tmp, path)
    if fsync:
        fsync_dir(directory)
    return path


def remove_older(directory: Path, seq: int) -> None:
    for s, path in list_snapshots(directory):
        if s < seq:
            path.unlink()
    (directory / TMP_NAME).unlink(missing_ok=True)
