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
    _checked: float = 0.0  # time.monotonic() of the last look at the file
    _by_node_cred: dict[str, str] = field(default_factory=dict)  # node credential -> node name
    _by_node_of: dict[str, str] | None = None  # the nodes dict _by_node_cred was built from
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

    RECHECK_SECONDS = 0.5

    def _reload_if_changed(self, *, force: bool = False) -> bool:
        """`kube-tui token create|delete` edits the file while the server runs: pick that up.

        The file is looked at every RECHECK_SECONDS at most (a stat per request was a measurable part of
        the API server's CPU), and whenever a credential is not recognised (force), so a token just
        created works at once and a deleted one stops working within RECHECK_SECONDS. True if reloaded.
        """
        if self.path is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked < self.RECHECK_SECONDS:
            return False
        self._checked = now
        try:
            if self.path.stat().st_mtime != self._mtime:
                self._read()
                return True
        except (OSError, ValueError, KeyError):
            pass  # keep what we have; a half-written file is replaced atomically anyway
        return False

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
            self._by_node_of = None  # the credential map is rebuilt on the next node request
            self.save()
        return cred

    # -- authentication ------------------------------------------------------------------------------
    def authenticate(self, token: str | None) -> str:
        """The user a token belongs to, or 401."""
        if not token:
            raise errors.unauthorized("no credential: pass --token or run `kube-tui control` to record one")
        self._reload_if_changed()
        user = self._user_of(token)
        if user is None and self._reload_if_changed(force=True):
            user = self._user_of(token)
        if user is None:
            raise errors.unauthorized("the credential is not valid for this cluster")
        return user

    def _user_of(self, token: str) -> str | None:
        if not isinstance(token, str) or not token.isascii():
            return None  # every credential is ASCII; compare_digest refuses other str
        if hmac.compare_digest(token, self.admin):
            return ADMIN
        if token.startswith("node."):
            if self._by_node_of is not self.nodes:
                # A map from credential to node, like the apiserver's static token authenticator:
                # one lookup instead of a comparison with every node's credential.
                self._by_node_cred = {cred: name for name, cred in self.nodes.items()}
                self._by_node_of = self.nodes
            name = self._by_node_cred.get(token)
            if name is not None and self.nodes.get(name) == token:
                return f"system:node:{name}"
        tid, _, secret = token.partition(".")
        entry = self.join.get(tid)
        if entry and hmac.compare_digest(secret, entry["secret"]):
            if entry["expires"] and entry["expires"] < time.time():
                raise errors.unauthorized(f"join token {tid} has expired: create one with `kube-tui token create`")
            return f"system:bootstrap:{tid}"
        return None

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
