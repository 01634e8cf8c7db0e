"""Multi-version key index: every retained revision of every key, ranges at a past revision, compaction.

Writes are applied at once (so transactions compare against the latest state, in call order) while
an undo journal remembers what is not durable yet, so a failed disk write is taken back exactly.
Readers see only `committed`, the last durable revision.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable
from dataclasses import dataclass

from control.store.errors import ErrCompacted


@dataclass(slots=True)
class KeyValue:
    """One version of a key, as etcd's mvccpb.KeyValue. Shared, never copied: do not mutate."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int  # 0 marks a tombstone (the key was deleted at mod_revision)
    lease: int = 0


@dataclass(slots=True)
class Event:
    """What a watcher sees: for DELETE, kv is the tombstone (value b"", mod_revision = deletion rev)."""

    type: str  # "PUT" | "DELETE"
    kv: KeyValue
    prev_kv: KeyValue | None


# A journal entry is a key (undo: drop that key's newest record) or a tuple handed to the owner
# of the other state (leases) to undo.
JournalEntry = str | tuple
Mark = tuple[int, int, int]  # (journal length, absolute event end, revision)


def _mod_rev(kv: KeyValue) -> int:
    return kv.mod_revision


def _event_rev(ev: Event) -> int:
    return ev.kv.mod_revision


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix` (None: no upper bound)."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)


class Mvcc:
    """The in-memory index. Single-threaded: only the event loop touches it."""

    __slots__ = (
        "keys", "hist", "events", "ev_base", "revision", "committed", "committed_events",
        "compact_revision", "journal", "lease_keys",
    )

    def __init__(self) -> None:
        self.keys: list[str] = []  # sorted: every key with at least one retained record
        self.hist: dict[str, list[KeyValue]] = {}  # per key, records in revision order
        self.events: list[Event] = []  # retained events in revision order
        self.ev_base = 0  # absolute index of events[0] (compaction drops from the front)
        self.revision = 0  # latest applied revision (may not be durable yet)
        self.committed = 0  # latest durable revision: what readers see
        self.committed_events = 0  # absolute index one past the last durable event
        self.compact_revision = 0
        self.journal: list[JournalEntry] = []  # undo log of the applied-but-not-durable changes
        self.lease_keys: dict[int, set[str]] = {}  # lease id -> live keys attached (applied view)

    # ---- reads

    def latest(self, key: str) -> KeyValue | None:
        """The newest applied live version of `key` (pending writes included)."""
        h = self.hist.get(key)
        if h:
            kv = h[-1]
            return kv if kv.version else None
        return None

    def at(self, key: str, rev: int) -> KeyValue | None:
        """The live version of `key` as of revision `rev`."""
        h = self.hist.get(key)
        if not h:
            return None
        kv = h[-1]
        if kv.mod_revision > rev:
            i = bisect_right(h, rev, key=_mod_rev)
            if i == 0:
                return None
            kv = h[i - 1]
        return kv if kv.version else None

    def keys_in(self, key: str, prefix: bool, start: str = "") -> list[str]:
        """Keys (live or not) equal to `key`, or starting with it when `prefix` (from `start` on, if given)."""
        if not prefix:
            return [key] if key in self.hist else []
        lo = bisect_left(self.keys, max(key, start))
        end = prefix_end(key)
        hi = len(self.keys) if end is None else bisect_left(self.keys, end, lo)
        return self.keys[lo:hi]

    def range(self, key: str, prefix: bool, rev: int, limit: int = 0, start: str = "") -> list[KeyValue]:
        if not prefix:
            kv = self.at(key, rev)
            return [kv] if kv is not None else []
        out: list[KeyValue] = []
        at = self.at
        for k in self.keys_in(key, True, start):
            kv = at(k, rev)
            if kv is not None:
                out.append(kv)
                if limit and len(out) >= limit:
                    break
        return out

    def events_since(self, rev: int, prefix: str = "") -> list[Event]:
        """Durable events with revision > rev."""
        if rev < self.compact_revision:
            raise ErrCompacted(
                f"required revision {rev} has been compacted (compact revision {self.compact_revision})"
            )
        hi = self.committed_events - self.ev_base
        lo = bisect_right(self.events, rev, 0, hi, key=_event_rev)
        evs = self.events[lo:hi]
        if prefix:
            evs = [e for e in evs if e.kv.key.startswith(prefix)]
        return evs

    def committed_kvs(self) -> list[KeyValue]:
        """Every live key at the committed revision (for a snapshot)."""
        rev, hist, out = self.committed, self.hist, []
        for k in self.keys:
            kv = hist[k][-1]
            if kv.mod_revision > rev:  # only keys with a pending write need the slow path
                kv = self.at(k, rev)
                if kv is not None:
                    out.append(kv)
            elif kv.version:
                out.append(kv)
        return out

    # ---- writes (journaled)

    def put(self, key: str, value: bytes, lease: int, rev: int) -> tuple[KeyValue, KeyValue | None]:
        h = self.hist.get(key)
        if h is None:
            h = self.hist[key] = []
            insort(self.keys, key)
            prev = None
        else:
            prev = h[-1] if h[-1].version else None
        if prev is not None:
            kv = KeyValue(key, value, prev.create_revision, rev, prev.version + 1, lease)
        else:
            kv = KeyValue(key, value, rev, rev, 1, lease)
        h.append(kv)
        self._relink(key, prev, kv)
        self.events.append(Event("PUT", kv, prev))
        self.journal.append(key)
        return kv, prev

    def delete(self, key: str, rev: int) -> KeyValue | None:
        prev = self.latest(key)
        if prev is None:
            return None
        tomb = KeyValue(key, b"", 0, rev, 0, 0)
        self.hist[key].append(tomb)
        self._relink(key, prev, None)
        self.events.append(Event("DELETE", tomb, prev))
        self.journal.append(key)
        return prev

    def _relink(self, key: str, old: KeyValue | None, new: KeyValue | None) -> None:
        """Keep lease -> keys in step with a key's newest live version."""
        if old is not None and old.lease:
            keys = self.lease_keys.get(old.lease)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.lease_keys[old.lease]
        if new is not None and new.lease:
            self.lease_keys.setdefault(new.lease, set()).add(key)

    # ---- durability bookkeeping

    def mark(self) -> Mark:
        return (len(self.journal), self.ev_base + len(self.events), self.revision)

    def rollback(self, mark: Mark, undo_other: Callable[[tuple], None]) -> None:
        """Take back every change made since `mark`, newest first."""
        jlen, ev_end, rev = mark
        journal = self.journal
        while len(journal) > jlen:
            entry = journal.pop()
            if isinstance(entry, str):
                h = self.hist[entry]
                kv = h.pop()
                if h:
                    prev = h[-1] if h[-1].version else None
                else:
                    del self.hist[entry]
                    del self.keys[bisect_left(self.keys, entry)]
                    prev = None
                self._relink(entry, kv if kv.version else None, prev)
            else:
                undo_other(entry)
        del self.events[ev_end - self.ev_base:]
        self.revision = rev

    def committed_mark(self) -> Mark:
        return (0, self.committed_events, self.committed)

    def commit(self, mark: Mark) -> list[Event]:
        """Everything up to `mark` is durable: make it visible; return the newly visible events."""
        jlen, ev_end, rev = mark
        del self.journal[:jlen]
        start = self.committed_events - self.ev_base
        self.committed = rev
        self.committed_events = ev_end
        return self.events[start:ev_end - self.ev_base]

    def compact(self, rev: int) -> None:
        """Forget versions older than `rev` (the newest version at or before `rev` stays readable)."""
        if rev <= self.compact_revision:
            return
        rev = min(rev, self.committed)  # pending records are never compacted (rollback needs them)
        if rev <= self.compact_revision:
            return
        hi = bisect_right(self.events, rev, 0, self.committed_events - self.ev_base, key=_event_rev)
        touched = {e.kv.key for e in self.events[:hi]}
        del self.events[:hi]
        self.ev_base += hi
        # Only keys with events in the compacted span can hold versions older than `rev`: any
        # older records were trimmed by the previous compaction.
        gone: list[str] = []
        for key in touched:
            h = self.hist.get(key)
            if not h:
                continue
            i = bisect_right(h, rev, key=_mod_rev)
            if i == 0:
                continue
            keep_from = i - 1 if h[i - 1].version else i
            if keep_from:
                del h[:keep_from]
            if not h:
                del self.hist[key]
                gone.append(key)
        if len(gone) > 64:
            self.keys = [k for k in self.keys if k in self.hist]
        else:
            for key in gone:
                del self.keys[bisect_left(self.keys, key)]
        self.compact_revision = rev

    def load(self, kvs: list[KeyValue], rev: int) -> None:
        """Start from a snapshot: one durable version per live key, no history before `rev`."""
        self.hist = {kv.key: [kv] for kv in kvs}
        self.keys = sorted(self.hist)
        self.events = []
        self.ev_base = self.committed_events = 0
        self.revision = self.committed = self.compact_revision = rev
        self.journal = []
        self.lease_keys = {}
        for kv in kvs:
            self._relink(kv.key, None, kv)
