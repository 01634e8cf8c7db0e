"""The kubelet's containerLogs for a follower: it resumes where a record starts, and a log rotated since its
last answer is read from the start of the new file, never from the middle of a record."""

from __future__ import annotations

from nodes.kubelet import Kubelet
from nodes.runtime.shim import records

T1 = b"2026-11-27T13:10:01.000000001Z"
T2 = b"2026-11-27T13:10:02.000000002Z"


class Worker:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def log_running(self, container: str | None = None) -> bool:
        return True

    def log_records(self, container: str | None = None, *, previous: bool = False) -> tuple[bytes, str]:
        return self.data, "2026-11-27T13:10:00.000000000Z"


def kubelet(worker: Worker) -> Kubelet:
    k = Kubelet.__new__(Kubelet)
    k.workers = {("default", "flood"): worker}  # type: ignore[assignment]
    return k


def test_a_follower_resumes_at_its_offset_and_starts_over_after_a_rotation() -> None:
    first = b"".join(records(b"one\ntwo\n", T1))
    w = Worker(first)
    k = kubelet(w)
    body = {"namespace": "default", "name": "flood"}
    answer = k.logs(body)
    assert answer["text"] == "one\ntwo\n" and answer["offset"] == len(first)
    w.data = first + b"".join(records(b"three\n", T2))
    assert k.logs({**body, "offset": answer["offset"]})["text"] == "three\n"
    # Rotated: the new file is already longer than the old offset, which now falls inside a record.
    rotated = b"".join(records(b"r9 155677 and some more text to be longer\n" * 3, T2))
    assert rotated[answer["offset"] - 1:answer["offset"]] != b"\n"
    w.data = rotated
    again = k.logs({**body, "offset": answer["offset"]})
    assert again["text"] == "r9 155677 and some more text to be longer\n" * 3  # whole lines, no header pieces


def test_a_follower_never_gets_half_a_character() -> None:
    # One read of the output ended inside "é" (2 bytes): the shim wrote a partial record with its first byte.
    first = b"".join(records(b"caf\xc3", T1))
    w = Worker(first)
    k = kubelet(w)
    body = {"namespace": "default", "name": "flood"}
    answer = k.logs(body)
    assert answer["text"] == "" and answer["offset"] == 0  # held back until the character is whole
    w.data = first + b"".join(records(b"\xa9 au lait\n", T2))
    answer = k.logs({**body, "offset": answer["offset"]})
    assert answer["text"] == "caf\u00e9 au lait\n"
    # A partial record that ends between characters is shown at once.
    more = b"".join(records(b"na\xc3\xafve", T2))
    w.data += more
    assert k.logs({**body, "offset": answer["offset"]})["text"] == "na\u00efve"


def test_whole_characters_reads_every_utf8_length() -> None:
    from nodes.runtime.crilog import whole_characters
    for char in ("\u00e9", "\u20ac", "\U0001f600"):
        raw = char.encode()
        for cut in range(1, len(raw)):
            data = b"".join(records(b"x" + raw[:cut], T1))
            assert whole_characters(data) == 0, (char, cut)
        data = b"".join(records(b"x" + raw, T1))
        assert whole_characters(data) == len(data)
    whole = b"".join(records(b"ok\n", T1))  # a full record ends a line: never held back
    assert whole_characters(whole) == len(whole)
