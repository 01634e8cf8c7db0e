"""Reading container logs kept in the CRI log format (`TIME STREAM TAG CONTENT` per record, written by
shim.LogFile), with `kubectl logs`' options: --timestamps, --since/--since-time, --tail (the kubelet's
kuberuntime/logs). A line that is not a record (a log written by an older kube-tui, or a damaged line) is
read as plain output, never refused.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nodes.runtime.shim import records, stamp

# RFC3339Nano as the kubelet parses it (RFC3339NanoLenient: any fraction digits, Z or an offset)
_RECORD = re.compile(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([^ \n]*) ")
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)")
FIXED_LEN = 30  # len("2026-11-27T13:10:01.123456789Z")


@dataclass(frozen=True)
class LogOptions:
    """What `kubectl logs` asks of a log (the kubelet's LogOptions; limitBytes is cut by the API server)."""

    timestamps: bool = False
    since: str | None = None  # a fixed stamp (fixed()): lines read before it are left out
    tail: int | None = None  # the last N lines (counted before since filters, as the kubelet counts them)


@dataclass
class Line:
    """One line of output, put together from its records: when its first part was read, and its text
    (ending with a newline unless the output stops mid-line)."""

    time: str
    text: bytes


def fixed(ts: str) -> str:
    """An RFC 3339 time (any fraction, Z or an offset) as a fixed stamp: UTC with 9 fraction digits, the
    form records are written in, so stamps compare as strings. ValueError if it is not RFC 3339."""
    if len(ts) == FIXED_LEN and ts.endswith("Z") and ts[19] == ".":
        return ts
    m = _TIME.fullmatch(ts)
    if m is None:
        raise ValueError(f'parsing time "{ts}" as "2006-01-02T15:04:05Z07:00": cannot parse it as RFC 3339')
    base = datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    if m[3] != "Z":
        sign = 1 if m[3][0] == "+" else -1
        base -= sign * timedelta(hours=int(m[3][1:3]), minutes=int(m[3][4:6]))
    return base.strftime("%Y-%m-%dT%H:%M:%S") + "." + (m[2] or "").ljust(9, "0") + "Z"


def fixed_at(seconds: float) -> str:
    """A time (seconds since the epoch) as a fixed stamp."""
    return stamp(int(seconds * 1_000_000_000)).decode()


def since_of(since_seconds: int | None, since_time: str | None, now: float | None = None) -> str | None:
    """The kubelet's `since`: the later of now - sinceSeconds and sinceTime (the API server lets only one be
    set), as a fixed stamp; None when neither is."""
    candidates = []
    if since_seconds is not None:
        at = (time.time() if now is None else now) - since_seconds
        candidates.append(fixed_at(max(at, 0.0)))  # before the epoch: every line is newer
    if since_time is not None:
        candidates.append(fixed(since_time))
    return max(candidates) if candidates else None


def encode(text: str, when: float) -> bytes:
    """Text the node itself puts in a container's log (a start error), as records stamped `when`."""
    return b"".join(records(text.encode(), stamp(int(when * 1_000_000_000))))


def _records(data: bytes) -> list[bytes]:
    """The lines of a log file, each with its newline: split on \\n only (a \\r is content, as the kubelet
    reads records with ReadBytes('\\n'))."""
    out = data.split(b"\n")
    last = out.pop()
    out = [line + b"\n" for line in out]
    if last:
        out.append(last)
    return out


def lines(data: bytes, fallback: str, *, continued: bool = False) -> list[Line]:
    """The lines of log records `data`: a partial record's content and the records that continue it make one
    line, with the time of its first part. A line that is no record (an older kube-tui's log, a damaged line)
    is output as it is, with the time of the record before it, or `fallback` for the first. With `continued`,
    `data` starts in the middle of a line (the record before it was partial): its first part gets no line of
    its own time but is still output (a follower already showed the start of that line)."""
    out: list[Line] = []
    when = fallback
    open_line: Line | None = None
    if continued:
        open_line = Line("", b"")  # time "": its start was shown before; no stamp goes in front of it
        out.append(open_line)
    for raw in _records(data):
        m = _RECORD.match(raw)
        if m is None:
            content, partial = raw, not raw.endswith(b"\n")
        else:
            when = m[1].decode()
            if len(when) != FIXED_LEN or not when.endswith("Z"):
                when = fixed(when)
            content = raw[m.end():]
            partial = m[3].split(b":", 1)[0] == b"P"
            if partial and content.endswith(b"\n"):
                content = content[:-1]
        if open_line is None:
            open_line = Line(when, b"")
            out.append(open_line)
        open_line.text += content
        if not partial:
            open_line = None
    return out


def render(data: bytes, opts: LogOptions, fallback: str, *, continued: bool = False) -> str:
    """What `kubectl logs` prints of log records `data`: the last `tail` lines, those not older than `since`,
    each prefixed with its time and a space with `timestamps` (kubectl logs --timestamps)."""
    picked = None
    if opts.tail is not None and not continued:
        # a long log's last lines without reading all of it: one more than asked is enough (the first may be
        # the end of a line whose start is further back)
        start = _back(data, opts.tail + 2)
        if start > 0:
            near = lines(data[start:], fallback)
            if len(near) > opts.tail:
                picked = near
    if picked is None:
        picked = lines(data, fallback, continued=continued)
    if opts.tail is not None:
        picked = picked[-opts.tail:] if opts.tail > 0 else []
    if opts.since is not None:
        # a continued line's start was shown already: it belongs with it
        picked = [ln for ln in picked if (ln.time or opts.since) >= opts.since]
    if opts.timestamps:
        return "".join((ln.time + " " if ln.time else "") + ln.text.decode(errors="replace") for ln in picked)
    return b"".join(ln.text for ln in picked).decode(errors="replace")


def _back(data: bytes, n: int) -> int:
    """Where the last `n` lines of the file `data` start (0: it has no more)."""
    end = len(data) - 1  # a newline that ends the file ends the last line; it starts none
    for _ in range(n):
        end = data.rfind(b"\n", 0, end)
        if end < 0:
            return 0
    return end + 1


def text(data: bytes) -> str:
    """The output log records `data` hold, without their times."""
    return render(data, LogOptions(), "")


def continues(data: bytes, offset: int) -> bool:
    """Whether the record that ends at `offset` in `data` is partial: what follows continues its line."""
    if offset <= 0 or data[offset - 1:offset] != b"\n":
        return False
    start = data.rfind(b"\n", 0, offset - 1) + 1
    m = _RECORD.match(data, start, offset)
    return m is not None and m[3].split(b":", 1)[0] == b"P"


def complete(data: bytes) -> int:
    """How much of `data` is whole records: up to its last newline (a record being written may be cut)."""
    return data.rfind(b"\n") + 1


def whole_characters(data: bytes) -> int:
    """How much of whole records `data` a reader can show while the container still writes: all of it,
    unless the last record is partial and ends inside a UTF-8 character (a read of the container's output
    split it). That record waits for the one that finishes its character, or the reader would show a
    replacement character where the output has none."""
    end = len(data)
    if end < 2 or data[-1:] != b"\n":
        return end
    start = data.rfind(b"\n", 0, end - 1) + 1
    m = _RECORD.match(data, start, end)
    if m is None or m[3].split(b":", 1)[0] != b"P":
        return end
    return start if _cut_character(data[m.end():end - 1]) else end


def _cut_character(content: bytes) -> bool:
    """Whether `content` ends with the first bytes of a UTF-8 character whose other bytes are missing."""
    for back in range(1, min(4, len(content)) + 1):
        byte = content[-back]
        if byte & 0xC0 == 0x80:  # a continuation byte: its lead is further back
            continue
        need = 2 if 0xC0 <= byte < 0xE0 else 3 if 0xE0 <= byte < 0xF0 else 4 if 0xF0 <= byte < 0xF8 else 1
        return back < need
    return False


def output(data: bytes) -> tuple[bytes, bytes]:
    """The container output in `data`, records read as they come (a follower's copy of a log): (what they
    hold, the bytes of a record not yet whole, to read again with what comes next)."""
    end = complete(data)
    out = bytearray()
    for raw in _records(data[:end]):
        m = _RECORD.match(raw)
        if m is None:
            out += raw
        elif m[3].split(b":", 1)[0] == b"P":
            out += raw[m.end():-1] if raw.endswith(b"\n") else raw[m.end():]
        else:
            out += raw[m.end():]
    return bytes(out), data[end:]
