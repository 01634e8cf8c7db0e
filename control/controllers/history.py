"""ControllerRevisions (pkg/controller/history): a controller's stored snapshots of its pod template.

A revision is named `<owner>-<hash>`, the hash an FNV-32 of its data (and of the collision count when two
different templates hash alike), labelled `controller.kubernetes.io/hash`, and controlled by its owner, so the
garbage collector deletes it with the owner. kube-tui's hash reads canonical JSON where Kubernetes reads
Go's encoding, so the names differ from a real cluster's for the same template.
"""

from __future__ import annotations

import json
from typing import Any

from control.api import meta
from control.client import Client
from control.controllers.deployment import safe_encode_string
from control.errors import ApiError

HASH_LABEL = "controller.kubernetes.io/hash"
NAME_PREFIX_MAX = 223  # ControllerRevisionName: the prefix is cut so the name stays a valid subdomain


def fnv32(data: bytes) -> int:
    """hash/fnv New32 (FNV-1, not 1a), which HashControllerRevision uses."""
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def hash_revision(data: Any, probe: int | None) -> str:
    """HashControllerRevision: the data's bytes, then the collision count as decimal text."""
    raw = canonical(data)
    if probe is not None:
        raw += str(probe).encode()
    return safe_encode_string(str(fnv32(raw)))


def revision_name(prefix: str, hash_: str) -> str:
    if len(prefix) > NAME_PREFIX_MAX:
        prefix = prefix[:NAME_PREFIX_MAX]
    return f"{prefix}-{hash_}"


def new_revision(parent: dict, template_labels: dict[str, str], data: dict, revision: int,
                 collision_count: int) -> dict:
    """NewControllerRevision: labels from the template plus the hash, owned (controlled) by the parent."""
    md = parent["metadata"]
    hash_ = hash_revision(data, collision_count)
    labels = dict(template_labels)
    labels[HASH_LABEL] = hash_
    return {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": revision_name(md["name"], hash_), "namespace": md.get("namespace") or "default",
                     "labels": labels, "ownerReferences": [meta.owner_ref(parent, controller=True)]},
        "data": data,
        "revision": revision,
    }


def sort_revisions(revisions: list[dict]) -> list[dict]:
    """SortControllerRevisions: by revision number, then creation time, then name."""
    return sorted(revisions, key=lambda r: (int(r.get("revision") or 0),
                                            str(r["metadata"].get("creationTimestamp") or ""), r["metadata"]["name"]))


def equal_revision(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None:
        return a is b
    return canonical(a.get("data")) == canonical(b.get("data"))


def find_equal_revisions(revisions: list[dict], needle: dict) -> list[dict]:
    """FindEqualRevisions: those with the same hash label and the same data."""
    want = (needle["metadata"].get("labels") or {}).get(HASH_LABEL)
    return [r for r in revisions
            if (r["metadata"].get("labels") or {}).get(HASH_LABEL) == want and equal_revision(r, needle)]


def next_revision(revisions: list[dict]) -> int:
    """One past the last revision (revisions sorted), or 1."""
    return int(revisions[-1].get("revision") or 0) + 1 if revisions else 1


async def create_revision(client: Client, parent: dict, revision: dict, collision_count: int) -> tuple[dict, int]:
    """realHistory.CreateControllerRevision: create under the hashed name; when that name is taken by other data,
    count a collision and try the next hash. Returns (the revision, the collision count)."""
    while True:
        hash_ = hash_revision(revision["data"], collision_count)
        clone = dict(revision)
        clone["metadata"] = dict(revision["metadata"])
        clone["metadata"]["labels"] = dict(revision["metadata"].get("labels") or {}, **{HASH_LABEL: hash_})
        clone["metadata"]["name"] = revision_name(parent["metadata"]["name"], hash_)
        try:
            return await client.create(clone), collision_count
        except ApiError as e:
            if e.code != 409 or e.reason != "AlreadyExists":
                raise
        exists = await client.get("ControllerRevision", clone["metadata"]["name"], clone["metadata"]["namespace"])
        if equal_revision(exists, clone):
            return exists, collision_count
        collision_count += 1


async def update_revision(client: Client, revision: dict, number: int) -> dict:
    """realHistory.UpdateControllerRevision: give an old revision a new number (a rollback to it)."""
    if int(revision.get("revision") or 0) == number:
        return revision
    md = revision["metadata"]
    return await client.patch("ControllerRevision", md["name"],
                              {"revision": number, "metadata": {"resourceVersion": md.get("resourceVersion")}},
                              md.get("namespace"))
