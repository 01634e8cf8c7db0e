"""Object metadata helpers: uids."""

from __future__ import annotations

import uuid

from control.api import meta


def test_new_uid_is_a_random_version_4_uuid() -> None:
    uids = [meta.new_uid() for _ in range(2000)]
    assert len(set(uids)) == len(uids)
    for u in uids:
        parsed = uuid.UUID(u)
        # Formatted as str(uuid.uuid4()) would be: lower-case 8-4-4-4-12, version 4, RFC 4122 variant.
        assert str(parsed) == u and parsed.version == 4 and parsed.variant == uuid.RFC_4122
