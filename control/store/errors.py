"""Errors raised by the store, shaped like etcd's (ErrCompacted, ErrFutureRev, lease not found)."""

from __future__ import annotations


class StoreError(Exception):
    """A write could not be made durable (disk full, read-only, ...) or the store is not usable."""


class ErrCompacted(Exception):
    """The requested revision is older than the store's compacted history (etcd: ErrCompacted)."""


class ErrFutureRev(Exception):
    """The requested revision is newer than the store's current revision (etcd: ErrFutureRev)."""


class ErrLeaseNotFound(Exception):
    """The lease does not exist, or has expired (etcd: "requested lease not found")."""
