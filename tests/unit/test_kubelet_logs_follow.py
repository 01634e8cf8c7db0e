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
