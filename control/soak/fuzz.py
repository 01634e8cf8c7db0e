"""Fuzzed and unauthenticated request frames for the abuse scenario (a seeded random generator)."""

from __future__ import annotations

import random
from typing import Any

import msgpack

from control import wire

NS = "soak"
VERBS = ["hello", "create", "get", "list", "update", "patch", "delete", "bind", "range", "logs"]
FORGED_NAMES = [*(f"fuzz-{i}" for i in range(7)), *(f"unauth-{i}" for i in range(5))]


def _pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"containers": [{"name": "c", "image": "pause"}]}}


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    k = rng.random()
    if depth > 3 or k < 0.3:
        return rng.choice([None, True, -1, 2**63 - 1, 1.5, "", "x" * rng.randint(0, 50), b"\xff\x00", "/registry/"])
    if k < 0.6:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["kind", "metadata", "name", "object", "spec", "v", "id", 7]): _random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def fuzz_frames(rng: random.Random, i: int) -> list[bytes]:
    """One fuzzed message: garbage, random msgpack, request-shaped nonsense, forged writes, truncations."""
    k = rng.random()
    if k < 0.2:
        return [rng.randbytes(rng.randint(0, 300))]
    if k < 0.4:
        return [msgpack.packb(_random_value(rng), use_bin_type=True)]
    if k < 0.65:
        req = {"v": rng.choice([1, 2, None, "1"]), "id": rng.choice([i, -i, "x", None, 2**64 - 1, -(2**63)]),
               "verb": rng.choice([*VERBS, "", "drop", 5]), "token": rng.choice([None, "", "admin", "node.x", 42, "a.b"]),
               "body": _random_value(rng)}
        return [msgpack.packb(req, use_bin_type=True)]
    if k < 0.85:  # a well-formed write with a forged or missing credential
        tok = rng.choice([None, "", "admin", f"admin.{rng.randbytes(16).hex()}", "abcdef.0123456789abcdef"])
        return [wire.request(i, rng.choice(["create", "update", "delete", "bind"]),
                             {"object": _pod(f"fuzz-{i % 7}"), "kind": "Pod", "name": f"fuzz-{i % 7}", "namespace": NS,
                              "node": "x"}, tok, "fuzz")]
    if k < 0.95:
        whole = wire.request(i, "create", {"object": _pod(f"fuzz-{i % 7}")}, None, "fuzz")
        return [whole[: rng.randint(0, len(whole) - 1)]]
    return [rng.randbytes(rng.randint(0, 20)) for _ in range(rng.randint(2, 4))]


def unauthenticated(rng: random.Random, i: int) -> list[bytes]:
    """A well-formed create with no credential or a guessed one."""
    return [wire.request(i, "create", {"object": _pod(f"unauth-{i % 5}")}, rng.choice([None, "guess"]), "x")]
