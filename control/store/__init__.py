"""etcd v3-shaped MVCC key-value store, durable through a write-ahead log with group commit."""

from control.store.errors import ErrCompacted, ErrFutureRev, ErrLeaseNotFound, StoreError
from control.store.mvcc import Event, KeyValue
from control.store.store import Store
from control.store.txn import Compare, Op, TxnResult

__all__ = [
    "Compare",
    "ErrCompacted",
    "ErrFutureRev",
    "ErrLeaseNotFound",
    "Event",
    "KeyValue",
    "Op",
    "Store",
    "StoreError",
    "TxnResult",
]
