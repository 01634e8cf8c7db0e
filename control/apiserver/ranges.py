"""The cluster's address ranges: where its Services, its nodes and its pods live in 127/8.

kube-apiserver takes --service-cluster-ip-range and --service-node-port-range, kube-controller-manager
--cluster-cidr (cut into one /24 per node, as --node-cidr-mask-size=24). Here they are chosen once, when a
cluster's store is new, and kept in the store beside what kube-apiserver keeps there
(/registry/ranges/serviceips, /registry/ranges/servicenodeports; /registry/ranges/clustercidr is ours): a
cluster keeps its addresses across restarts, and a second cluster on the same machine gets others, so its
pods, Services and nodes never answer for the first one's.

Everything is in 127.0.0.0/8 because Linux routes all of it to the loopback device: any address there
can be bound without root and without creating an interface.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import random
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgpack

from control.api import meta
from control.store.txn import Op

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
SERVICE_SPACE = ipaddress.ip_network("127.96.0.0/12")  # default service ranges are /16s of this
POD_SPACE = ipaddress.ip_network("127.128.0.0/9")  # default cluster CIDRs are /12s of this (4,096 nodes)
SERVICE_PREFIX, CLUSTER_PREFIX = 16, 12
NODE_MASK = 24  # each node's spec.podCIDR: .1 is the node, .2-.254 its pods
NODE_PORTS = (30000, 32767)  # kube-apiserver's default --service-node-port-range

KEYS = {"service": "/registry/ranges/serviceips", "nodeports": "/registry/ranges/servicenodeports",
        "cluster": "/registry/ranges/clustercidr"}
# The flags, and the environment variables that stand in for them (a test run gives each worker its own).
FLAGS = {"service": "--service-cluster-ip-range", "cluster": "--cluster-cidr", "nodeports": "--service-node-port-range"}
ENV = {"service": "KUBE_TUI_SERVICE_CLUSTER_IP_RANGE", "cluster": "KUBE_TUI_CLUSTER_CIDR",
       "nodeports": "KUBE_TUI_SERVICE_NODE_PORT_RANGE"}


class RangeError(ValueError):
    """A range flag that cannot work, or one that contradicts what the cluster was created with."""


@dataclasses.dataclass(frozen=True)
class ClusterNetwork:
    service_cidr: ipaddress.IPv4Network
    cluster_cidr: ipaddress.IPv4Network
    node_ports: tuple[int, int] = NODE_PORTS

    @property
    def kubernetes_ip(self) -> str:
        """The `kubernetes` Service's ClusterIP: the first address of the service range."""
        return str(self.service_cidr.network_address + 1)

    @property
    def node_slots(self) -> int:
        return max(1, self.cluster_cidr.num_addresses >> (32 - NODE_MASK))

    def pod_cidr(self, index: int) -> str:
        """The index-th /24 of the cluster CIDR (a node's spec.podCIDR)."""
        if not 0 <= index < self.node_slots:
            raise RuntimeError(f"the cluster CIDR {self.cluster_cidr} is exhausted")
        return f"{self.cluster_cidr.network_address + (index << (32 - NODE_MASK))}/{NODE_MASK}"

    def cidr_index(self, cidr: str) -> int | None:
        """Which /24 of the cluster CIDR a node's podCIDR is (None if it is not one of ours)."""
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.version != 4 or net.prefixlen != NODE_MASK or not net.subnet_of(self.cluster_cidr):  # type: ignore[arg-type]
            return None
        return (int(net.network_address) - int(self.cluster_cidr.network_address)) >> (32 - NODE_MASK)

    def is_pod_ip(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in self.cluster_cidr
        except ValueError:
            return False

    def to_dict(self) -> dict[str, str]:
        """As the hello answer carries it to nodes and controllers."""
        return {"serviceClusterIPRange": str(self.service_cidr), "clusterCIDR": str(self.cluster_cidr),
                "serviceNodePortRange": f"{self.node_ports[0]}-{self.node_ports[1]}"}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ClusterNetwork:
        """From a hello answer; a server from before per-cluster ranges used the legacy ones."""
        d = d or {}
        return cls(
            parse_cidr("service", d["serviceClusterIPRange"]) if d.get("serviceClusterIPRange") else LEGACY.service_cidr,
            parse_cidr("cluster", d["clusterCIDR"]) if d.get("clusterCIDR") else LEGACY.cluster_cidr,
            parse_port_range(d["serviceNodePortRange"]) if d.get("serviceNodePortRange") else NODE_PORTS,
        )


# What every cluster used before each got its own: a store written then keeps it.
LEGACY = ClusterNetwork(ipaddress.ip_network("127.96.0.0/12"), ipaddress.ip_network("127.128.0.0/9"))


@dataclasses.dataclass(frozen=True)
class Requested:
    """What the flags (or their environment variables) ask for; None leaves the choice to the cluster."""

    service_cidr: ipaddress.IPv4Network | None = None
    cluster_cidr: ipaddress.IPv4Network | None = None
    node_ports: tuple[int, int] | None = None
    # Those that came from the environment: defaults for a new cluster, not a demand on an existing one.
    from_env: frozenset[str] = frozenset()
    # The ranges of this user's other clusters, stopped ones too (config.other_networks): a new cluster avoids
    # them as it avoids the addresses something listens on.
    in_use: frozenset[ipaddress.IPv4Network] = frozenset()

    def avoiding(self, networks: Iterable[dict[str, Any]]) -> Requested:
        """This request, also avoiding those clusters' ranges (ClusterNetwork.to_dict each; unreadable ones are skipped)."""
        nets: set[ipaddress.IPv4Network] = set(self.in_use)
        for n in networks:
            for key in ("serviceClusterIPRange", "clusterCIDR"):
                with contextlib.suppress(ValueError, TypeError):
                    nets.add(ipaddress.IPv4Network(n.get(key)))
        return dataclasses.replace(self, in_use=frozenset(nets))

    @classmethod
    def parse(cls, service: str | None = None, cluster: str | None = None, node_ports: str | None = None,
              *, environ: dict[str, str] | None = None) -> Requested:
        """From flag values; a flag not given falls back to its KUBE_TUI_... environment variable."""
        env = os.environ if environ is None else environ
        from_env = frozenset(w for w, given in (("service", service), ("cluster", cluster), ("nodeports", node_ports))
                             if not given and env.get(ENV[w]))
        service = service or env.get(ENV["service"]) or None
        cluster = cluster or env.get(ENV["cluster"]) or None
        node_ports = node_ports or env.get(ENV["nodeports"]) or None
        def by(which: str) -> str:  # a bad value from the environment is named as the variable it came from
            return f"${ENV[which]}" if which in from_env else ""

        req = cls(parse_cidr("service", service, given_by=by("service")) if service else None,
                  parse_cidr("cluster", cluster, given_by=by("cluster")) if cluster else None,
                  parse_port_range(node_ports, given_by=by("nodeports")) if node_ports else None, from_env)
        if req.service_cidr and req.cluster_cidr and req.service_cidr.overlaps(req.cluster_cidr):
            raise RangeError(f"{FLAGS['service']}={req.service_cidr} overlaps {FLAGS['cluster']}={req.cluster_cidr}: "
                             "Services and pods need ranges of their own")
        return req


def parse_cidr(which: str, text: str, *, given_by: str = "") -> ipaddress.IPv4Network:
    """`given_by`: what the value came from, for the errors (the flag by default)."""
    flag = given_by or FLAGS[which]
    try:
        net = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        raise RangeError(f"{flag}={text}: not a CIDR, e.g. {'127.100.0.0/16' if which == 'service' else '127.144.0.0/12'}") from None
    if net.version != 4 or not net.subnet_of(LOOPBACK):  # type: ignore[arg-type]
        raise RangeError(f"{flag}={text}: must be inside 127.0.0.0/8, where every address is on the loopback "
                         "device (kube-tui's pods and Services listen on them without root)")
    if ipaddress.ip_address("127.0.0.1") in net:
        raise RangeError(f"{flag}={text}: contains 127.0.0.1, where the control plane listens; "
                         f"use a range like {'127.100.0.0/16' if which == 'service' else '127.144.0.0/12'}")
    if which == "service" and not 12 <= net.prefixlen <= 28:
        raise RangeError(f"{flag}={text}: the mask must be between /12 and /28 (kube-apiserver refuses a larger "
                         "range; a smaller one has too few addresses)")
    if which == "cluster" and net.prefixlen > NODE_MASK:
        raise RangeError(f"{flag}={text}: the mask must be /{NODE_MASK} or larger: every node takes a "
                         f"/{NODE_MASK} of it (--node-cidr-mask-size={NODE_MASK})")
    return net  # type: ignore[return-value]


def parse_port_range(text: str, *, given_by: str = "") -> tuple[int, int]:
    """kube-apiserver's "30000-32767" or "30000+2767"."""
    flag = given_by or FLAGS["nodeports"]
    s = str(text).strip()
    try:
        if "+" in s:
            lo, n = (int(x) for x in s.split("+", 1))
            hi = lo + n
        else:
            lo, hi = (int(x) for x in s.split("-", 1))
    except ValueError:
        raise RangeError(f"{flag}={text}: not a port range, e.g. 30000-32767") from None
    if not 1 <= lo <= hi <= 65535:
        raise RangeError(f"{flag}={text}: ports must be 1-65535 with the first no greater than the last")
    return lo, hi


def listening_addresses(path: str = "/proc/net/tcp") -> set[ipaddress.IPv4Address]:
    """IPv4 addresses something on this machine listens on (another cluster's nodes, pods and Services)."""
    out: set[ipaddress.IPv4Address] = set()
    try:
        lines = Path(path).read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        f = line.split()
        if len(f) > 3 and f[3] == "0A":  # TCP_LISTEN
            hexip = f[1].split(":")[0]
            out.add(ipaddress.IPv4Address(int.from_bytes(bytes.fromhex(hexip), "little")))
    return out


def choose(space: ipaddress.IPv4Network, prefix: int,
           busy: Iterable[ipaddress.IPv4Address | ipaddress.IPv4Network], rng: random.Random | None = None, *,
           avoid: ipaddress.IPv4Network | None = None) -> ipaddress.IPv4Network | None:
    """A /prefix of `space` that no busy address is in and no busy range overlaps, at random (any of them if
    all are in use); never one that overlaps `avoid` (the other range, asked for by a flag): None if every one does."""
    slots = [s for s in space.subnets(new_prefix=prefix) if avoid is None or not s.overlaps(avoid)]
    if not slots:
        return None
    taken = {s for s in slots for a in busy
             if (s.overlaps(a) if isinstance(a, ipaddress.IPv4Network) else a in s)}
    free = [s for s in slots if s not in taken] or slots
    return (rng or random).choice(free)


def claim(network: ClusterNetwork) -> list[socket.socket]:
    """A listening socket on the first address of each range, which no node, pod or Service ever takes:
    while this control plane runs, a cluster created beside it sees its ranges as in use (choose()), even
    before it has a node. The caller closes them."""
    out: list[socket.socket] = []
    for net in (network.service_cidr, network.cluster_cidr):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((str(net.network_address), 0))
            s.listen(1)
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


def _record(text: str) -> bytes:
    """The stored form: kube-apiserver's RangeAllocation (its allocation bitmap is rebuilt from the
    Services at start instead of stored)."""
    return msgpack.packb({"apiVersion": "v1", "kind": "RangeAllocation",
                          "metadata": {"name": "", "creationTimestamp": meta.now()}, "range": text, "data": ""},
                         use_bin_type=True)


def _stored(store: Any, which: str) -> str | None:
    kv = store.get(KEYS[which])
    if kv is None:
        return None
    try:
        return str(msgpack.unpackb(kv.value, raw=False)["range"])
    except Exception:  # noqa: BLE001 - a damaged record: say so rather than pick a new range under old objects
        raise RangeError(f"{KEYS[which]} in the store is not a range record; the cluster's {FLAGS[which]} is unknown") from None


async def establish(store: Any, requested: Requested | None = None, *,
                    busy: Iterable[ipaddress.IPv4Address | ipaddress.IPv4Network] | None = None,
                    rng: random.Random | None = None) -> ClusterNetwork:
    """The cluster's ranges: those in the store; for a new store, those requested, else free ones at random.

    A cluster that already has ranges keeps them: a flag that asks for others is refused (Services and
    nodes already hold addresses of the old ones); an environment variable only applies to new clusters. A store written before ranges were stored had the
    legacy ones, which it keeps.
    """
    req = requested or Requested()
    stored = {w: _stored(store, w) for w in KEYS}
    if any(stored.values()) or store.revision > 0:
        have = ClusterNetwork(
            parse_cidr("service", stored["service"]) if stored["service"] else LEGACY.service_cidr,
            parse_cidr("cluster", stored["cluster"]) if stored["cluster"] else LEGACY.cluster_cidr,
            parse_port_range(stored["nodeports"]) if stored["nodeports"] else LEGACY.node_ports,
        )
        for which, want, got in (("service", req.service_cidr, have.service_cidr),
                                 ("cluster", req.cluster_cidr, have.cluster_cidr),
                                 ("nodeports", req.node_ports, have.node_ports)):
            if want is not None and want != got and which not in req.from_env:
                shown = lambda r: f"{r[0]}-{r[1]}" if isinstance(r, tuple) else str(r)  # noqa: E731
                raise RangeError(
                    f"{FLAGS[which]}={shown(want)}: this cluster was created with {shown(got)}, and its objects "
                    f"hold addresses in it; drop the flag, or use --data-dir with a new directory for a new cluster")
    else:
        seen: set[ipaddress.IPv4Address | ipaddress.IPv4Network] = set(listening_addresses() if busy is None else busy)
        seen |= req.in_use
        # The one not asked for is chosen clear of the one asked for (--service-cluster-ip-range=127.130.0.0/16
        # lies in the pods' default space, --cluster-cidr=127.96.0.0/11 in the Services').
        service = req.service_cidr or choose(SERVICE_SPACE, SERVICE_PREFIX, seen, rng, avoid=req.cluster_cidr)
        if service is None:
            raise RangeError(f"{FLAGS['cluster']}={req.cluster_cidr} covers {SERVICE_SPACE}, where the Services' range "
                             f"is chosen by default: give {FLAGS['service']} too, outside it")
        cluster = req.cluster_cidr or choose(POD_SPACE, CLUSTER_PREFIX, seen, rng, avoid=service)
        if cluster is None:
            raise RangeError(f"{FLAGS['service']}={service} covers {POD_SPACE}, where the pods' range is chosen by "
                             f"default: give {FLAGS['cluster']} too, outside it")
        have = ClusterNetwork(service, cluster, req.node_ports or NODE_PORTS)
        if have.service_cidr.overlaps(have.cluster_cidr):
            raise RangeError(f"{FLAGS['service']}={have.service_cidr} overlaps {FLAGS['cluster']}={have.cluster_cidr}: "
                             "Services and pods need ranges of their own")
    texts = {"service": str(have.service_cidr), "cluster": str(have.cluster_cidr),
             "nodeports": f"{have.node_ports[0]}-{have.node_ports[1]}"}
    writes = [Op.put(KEYS[w], _record(text)) for w, text in texts.items() if stored[w] != text]
    if writes:  # all at once: a crash leaves all three or none
        await store.txn([], writes, [])
    return have
