"""CurveZMQ keys: the server's keypair (kept owner-only in the data dir) and each client's, derived from its credential.

A client's CURVE secret key is a hash of its credential, so possessing the credential is what the CURVE
handshake proves, and the server (which knows every credential) can map a client's public key to a user
without any state that a restart would lose. Credentials are 128-bit random tokens: the public key does
not let anyone guess them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import zmq
import zmq.utils.z85

KEY_FILE = "curve.json"
_DERIVE_LABEL = b"kube-tui/curve-client/v1\x00"


def available() -> bool:
    return bool(zmq.has("curve"))


def client_keypair(credential: str | None) -> tuple[bytes, bytes]:
    """(public, secret) z85 keys for a client: derived from its credential, or ephemeral without one."""
    if not credential:
        return zmq.curve_keypair()
    secret = zmq.utils.z85.encode(hashlib.sha256(_DERIVE_LABEL + credential.encode()).digest())
    return zmq.curve_public(secret), secret


def client_public_key(credential: str) -> bytes:
    """The raw 32-byte public key a client holding `credential` presents (what a ZAP request carries)."""
    return zmq.utils.z85.decode(client_keypair(credential)[0])


def load_or_create_server_keys(data_dir: Path | None) -> tuple[str, str]:
    """The control plane's (public, secret) keypair: made on first start, then read back (file mode 0600)."""
    if data_dir is None:
        pub, sec = zmq.curve_keypair()
        return pub.decode(), sec.decode()
    path = data_dir / KEY_FILE
    try:
        raw = json.loads(path.read_text())
        return str(raw["public"]), str(raw["secret"])
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError) as e:
        raise OSError(f"cannot read the CURVE keys in {path}: {e}; move the file away to make new ones "
                      "(nodes then need the new --server-key)") from e
    pub, sec = zmq.curve_keypair()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"public": pub.decode(), "secret": sec.decode()}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return pub.decode(), sec.decode()


def read_public_key(data_dir: Path) -> str | None:
    """The server's public key, if `kube-tui control` made one in this data dir."""
    try:
        return str(json.loads((data_dir / KEY_FILE).read_text())["public"])
    except (OSError, ValueError, KeyError):
        return None
