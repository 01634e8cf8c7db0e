"""Where a client finds the server and its credential: --server, $KUBE_TUI_SERVER, else the last `control`."""

from __future__ import annotations

import base64
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SERVER = "tcp://127.0.0.1:7070"
DEFAULT_REST = "127.0.0.1:7080"  # HOST:PORT of the Kubernetes REST API (HTTPS) for the real kubectl
DEFAULT_INGRESS = "127.0.0.1:7090"  # HOST:PORT where the ingress controller serves HTTP


def home() -> Path:
    """Per-user state: $KUBE_TUI_HOME, else ~/.kube-tui."""
    return Path(os.environ.get("KUBE_TUI_HOME") or Path.home() / ".kube-tui")


def default_data_dir() -> Path:
    return home() / "data"


@dataclass
class ClientConfig:
    server: str
    token: str | None
    server_key: str | None = None  # the API server's CURVE public key (z85), when it encrypts


def _recorded() -> dict:
    path = home() / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(server: str, token: str, data_dir: Path, server_key: str | None = None) -> None:
    """What `kube-tui control` leaves for this user's later commands (owner-only)."""
    _write_private("config.json", json.dumps(
        {"server": server, "token": token, "data_dir": str(data_dir), "server_key": server_key}))


def _write_private(name: str, text: str) -> Path:
    """home()/name, owner-only, replaced whole (a reader never sees half of it)."""
    d = home()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = d / name
    tmp = path.with_name(f"{name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


NETWORKS = "networks.json"


def _networks() -> dict[str, dict[str, str]]:
    try:
        got = json.loads((home() / NETWORKS).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in got.items() if isinstance(v, dict)} if isinstance(got, dict) else {}


def remember_network(data_dir: Path, network: dict[str, str]) -> None:
    """Keep this cluster's address ranges (ClusterNetwork.to_dict) by its data dir, so that a cluster this user
    creates later avoids them even while this one is stopped. Clusters whose data dir is gone are forgotten.
    Under a lock: two control planes starting at once would each write back the file without the other's."""
    d = home()
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(d / f"{NETWORKS}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        known = {k: n for k, n in _networks().items() if Path(k).is_dir()}
        known[str(Path(data_dir).resolve())] = network
        _write_private(NETWORKS, json.dumps(known, indent=1, sort_keys=True))
    finally:
        os.close(fd)  # and the lock with it


def other_networks(data_dir: Path) -> list[dict[str, str]]:
    """The address ranges of this user's other clusters whose data dir still exists, running or not."""
    me = str(Path(data_dir).resolve())
    return [n for d, n in sorted(_networks().items()) if d != me and Path(d).is_dir()]


def write_kubeconfig(address: str, token: str, ca_pem: bytes) -> Path:
    """A kubeconfig for the real kubectl (the REST API of control/apiserver/rest.py), owner-only:
    `export KUBECONFIG=~/.kube-tui/kubeconfig`, or `kubectl --kubeconfig ~/.kube-tui/kubeconfig ...`."""
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": "kube-tui",
        "clusters": [{"name": "kube-tui", "cluster": {
            "server": address, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": "kube-tui-admin", "user": {"token": token}}],
        "contexts": [{"name": "kube-tui", "context": {"cluster": "kube-tui", "user": "kube-tui-admin", "namespace": "default"}}],
    }
    return _write_private("kubeconfig", json.dumps(doc, indent=2))  # JSON is YAML: kubectl reads it


def resolve(server: str | None = None, token: str | None = None, server_key: str | None = None) -> ClientConfig:
    rec = _recorded()
    srv = server or os.environ.get("KUBE_TUI_SERVER") or rec.get("server") or DEFAULT_SERVER
    tok = token or os.environ.get("KUBE_TUI_TOKEN")
    if tok is None and srv == rec.get("server"):
        tok = rec.get("token")
    if tok is None and rec.get("data_dir"):
        tok = _admin_from_data_dir(Path(rec["data_dir"]))
    key = server_key or os.environ.get("KUBE_TUI_SERVER_KEY")
    if key is None and srv == rec.get("server"):
        key = rec.get("server_key")
    return ClientConfig(srv, tok, key or None)


def _admin_from_data_dir(data_dir: Path) -> str | None:
    try:
        return json.loads((data_dir / "credentials.json").read_text()).get("admin")
    except (OSError, ValueError):
        return None


def rest_ca(address: str) -> bytes | None:
    """The CA certificate that verifies the REST API at `address` (https://HOST:PORT): the one in the kubeconfig
    `kube-tui control` wrote for it, else the recorded data dir's (pki/ca.crt); None when neither is there."""
    try:
        doc = json.loads((home() / "kubeconfig").read_text())
        for c in doc.get("clusters") or []:
            cluster = c.get("cluster") or {}
            if cluster.get("server") == address and cluster.get("certificate-authority-data"):
                return base64.b64decode(cluster["certificate-authority-data"])
    except (OSError, ValueError, AttributeError):
        pass
    data_dir = _recorded().get("data_dir")
    try:
        return (Path(data_dir) / "pki" / "ca.crt").read_bytes() if data_dir else None
    except OSError:
        return None
