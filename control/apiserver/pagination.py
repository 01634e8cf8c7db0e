"""List chunking: `limit` and `continue`, as the Kubernetes API server pages a list (apiserver etcd3 store).

Every page of one list is read at the revision of its first page, so the pages add up to one consistent
list; the continue token says where the next page starts and at which revision, in Kubernetes' shape:
base64url of {"v": "meta.k8s.io/v1", "rv": N, "start": "<key after the last one, relative to the list's
prefix>"}. A token whose revision has been compacted answers 410 Gone, like the real one.
"""

from __future__ import annotations

import base64
import binascii
import json

from control import errors

VERSION = "meta.k8s.io/v1"
TOO_OLD = ("The provided continue parameter is too old to display a consistent list result. You can start a "
           "new list without the continue parameter.")


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": VERSION, "rv": rv, "start": start}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """(revision, start key relative to the prefix) of a continue token; 400 naming what is wrong."""
    def bad(why: str) -> errors.ApiError:
        return errors.bad_request(f"continue key is not valid: {why}")

    if not isinstance(token, str):
        raise bad("it must be a string")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as e:
        raise bad(f"not a token this server gave out ({type(e).__name__})") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise bad(f"incorrect encoded start resourceVersion (version {VERSION})")
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv <= 0:
        raise bad("incorrect encoded start resourceVersion")
    if not isinstance(start, str) or not start:
        raise bad("the start key is not valid")
    return rv, start


def parse_limit(value: object) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise errors.bad_request(f"limit: must be a non-negative integer, got {value!r}")
    return value
