"""Compare-and-swap transactions, etcd v3 shaped: if every Compare holds, run `success`, else `failure`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from control.store.mvcc import KeyValue

_TARGETS = ("mod", "create", "version", "value", "lease")
_OPS = ("=", "!=", "<", ">")


@dataclass(slots=True)
class Compare:
    """Compare one field of `key`'s latest version. A missing key has revisions/version 0 and no value."""

    key: str
    target: str  # "mod" | "create" | "version" | "value" | "lease"
    op: str  # "=" | "!=" | "<" | ">"
    value: Any  # int for mod/create/version/lease, bytes for value

    def __post_init__(self) -> None:
        if self.target not in _TARGETS:
            raise ValueError(f"Compare.target: must be one of {', '.join(_TARGETS)}, got {self.target!r}")
        if self.op not in _OPS:
            raise ValueError(f"Compare.op: must be one of {', '.join(_OPS)}, got {self.op!r}")

    def holds(self, kv: KeyValue | None) -> bool:
        if self.target == "value":
            if kv is None:
                # etcd: comparing the value of a key that does not exist always fails.
                return False
            have: Any = kv.value
        elif kv is None:
            have = 0
        elif self.target == "mod":
            have = kv.mod_revision
        elif self.target == "create":
            have = kv.create_revision
        elif self.target == "version":
            have = kv.version
        else:
            have = kv.lease
        want = self.value
        if self.op == "=":
            return bool(have == want)
        if self.op == "!=":
            return bool(have != want)
        if self.op == "<":
            return bool(have < want)
        return bool(have > want)


@dataclass(slots=True)
class Op:
    """One operation of a transaction; build with Op.put / Op.delete / Op.range."""

    kind: str  # "put" | "delete" | "range"
    key: str
    value: bytes = b""
    lease: int = 0
    prefix: bool = False

    @staticmethod
    def put(key: str, value: bytes, lease: int = 0) -> Op:
        return Op("put", key, value, lease)

    @staticmethod
    def delete(key: str, prefix: bool = False) -> Op:
        return Op("delete", key, prefix=prefix)

    @staticmethod
    def range(key: str, prefix: bool = False) -> Op:
        return Op("range", key, prefix=prefix)


@dataclass(slots=True)
class TxnResult:
    """`responses[i]` answers the i-th op that ran: put -> previous KeyValue or None,
    delete -> list of deleted KeyValues, range -> list of KeyValues."""

    succeeded: bool
    revision: int
    responses: list[Any] = field(default_factory=list)
