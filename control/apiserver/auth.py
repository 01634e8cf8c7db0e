"""Who is asking: admin, join (bootstrap) and node credentials, kept owner-only in the data dir."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from control import errors

ADMIN = "admin"
SYSTEM = "system:apiserver"


@dataclass
class Credentials:
    """The control plane's secrets: one admin token, join tokens, and a credential per joined node."""

    path: Path | None
    admin: str = ""
    join: dict[str, dict] = field(default_factory=dict)  # token id -> {"secret", "expires" (0: never)}
    nodes: dict[str, str] = field(default_factory=dict)  # node name -> credential
    _mtime: float = 0.0
    _keys: dict[bytes, str] = field(default_factory=dict)  # CURVE client public key -> user
    _keys_of: tuple = ()

    @classmethod
    def load(cls, data_dir: str | Path | None) -> Credentials:
        if data_dir is None:
            creds = cls(path=None, admin=f"admin.{secrets.token_hex(16)}")
            creds.create_join_token()
            return creds
        path = Path(data_dir) / "credentials.json"
        if path.exists():
            creds = cls(path=path)
            creds._read()
            return creds
        creds = cls(path=path, admin=f"admin.{secrets.token_hex(16)}")
        creds.create_join_token(save=False)
        creds.save()
        return creds

    def _read(self) -> None:
        assert self.path is not None
        self._mtime = self.path.stat().st_mtime
        raw = json.loads(self.path.read_text())
        self.admin, self.join, self.nodes = raw["admin"], raw.get("join", {}), raw.get("nodes", {})

    def _reload_if_changed(self) -> None:
        """`kube-tui token create|delete` edits the file while the server runs: pick that up."""
        if self.path is None:
            return
        try:
            if self.path.stat().st_mtime != self._mtime:
                self._read()
        except (OSError, ValueError, KeyError):
            pass  # keep what we have; a half-written file is replaced atomically anyway

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"admin": self.admin, "join": self.join, "nodes": self.nodes}, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._mtime = self.path.stat().st_mtime

    # -- join tokens (kubeadm's shape: [a-z0-9]{6}.[a-z0-9]{16}) ----------------------------------
    def create_join_token(self, ttl: float = 0, *, save: bool = True) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        tid = "".join(secrets.choice(alphabet) for _ in range(6))
        secret = "".join(secrets.choice(alphabet) for _ in range(16))
        self.join[tid] = {"secret": secret, "expires": time.time() + ttl if ttl else 0}
        if save:
            self.save()
        return f"{tid}.{secret}"

    def delete_join_token(self, tid: str) -> bool:
        tid = tid.split(".")[0]
        found = self.join.pop(tid, None) is not None
        if found:
            self.save()
        return found

    def join_tokens(self) -> list[tuple[str, float]]:
        return [(f"{tid}.{t['secret']}", t["expires"]) for tid, t in self.join.items()]

    def first_join_token(self) -> str:
        for tok, expires in self.join_tokens():
            if not expires or expires > time.time():
                return tok
        return self.create_join_token()

    def node_credential(self, node: str) -> str:
        cred = self.nodes.get(node)
        if cred is None:
            cred = self.nodes[node] = f"node.{secrets.token_hex(16)}"
            self.save()
        return cred

    # -- authentication ------------------------------------------------------------------------------
    def authenticate(self, token: str | None) -> str:
        """The user a token belongs to, or 401."""
        if not token:
            raise errors.unauthorized("no credential: pass --token or run `kube-tui control` to record one")
        self._reload_if_changed()
        if hmac.compare_digest(token, self.admin):
            return ADMIN
        if token.startswith("node."):
            for name, cred in self.nodes.items():
                if hmac.compare_digest(token, cred):
                    return f"system:node:{name}"
        tid, _, secret = token.partition(".")
        entry = self.join.get(tid)
        if entry and hmac.compare_digest(secret, entry["secret"]):
            if entry["expires"] and entry["expires"] < time.time():
                raise errors.unauthorized(f"join token {tid} has expired: create one with `kube-tui token create`")
            return f"system:bootstrap:{tid}"
        raise errors.unauthorized("the credential is not valid for this cluster")

    def user_for_curve_key(self, public_key: bytes) -> str | None:
        """The user whose credential derives this CURVE public key (see control/curve.py), if any."""
        from control.curve import client_public_key

        self._reload_if_changed()
        state = (self.admin, tuple(sorted(self.nodes.items())), tuple(sorted((k, v["secret"]) for k, v in self.join.items())))
        if state != self._keys_of:
            keys = {client_public_key(self.admin): ADMIN}
            for name, cred in self.nodes.items():
                keys[client_public_key(cred)] = f"system:node:{name}"
            for tok, _ in self.join_tokens():
                keys[client_public_key(tok)] = f"system:bootstrap:{tok.partition('.')[0]}"
            self._keys, self._keys_of = keys, state
        user = self._keys.get(bytes(public_key))
        if user is not None and user.startswith("system:bootstrap:"):
            try:  # expiry is checked the same way as for a request
                self.authenticate(next(t for t, _ in self.join_tokens() if t.startswith(user.rsplit(":", 1)[1] + ".")))
            except (errors.ApiError, StopIteration):
                return None
        return user
