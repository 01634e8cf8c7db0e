"""A cluster's address ranges: flags parsed with clear errors, chosen clear of other clusters, kept for life;
ClusterIPs and NodePorts handed out at random from the upper band, as kube-apiserver's allocators do."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

import pytest

from control.apiserver import ranges
from control.apiserver.allocator import IPAllocator, PortAllocator
from control.apiserver.ranges import ClusterNetwork, RangeError, Requested
from control.store import Store

net = ipaddress.ip_network


def test_flags_parse_and_bad_ones_say_which_flag_and_what_would_work() -> None:
    r = Requested.parse("127.100.0.0/16", "127.144.0.0/12", "31000-31999", environ={})
    assert (str(r.service_cidr), str(r.cluster_cidr), r.node_ports) == ("127.100.0.0/16", "127.144.0.0/12", (31000, 31999))
    assert Requested.parse(node_ports="30000+100", environ={}).node_ports == (30000, 30100)
    assert Requested.parse(environ={}) == Requested()
    env = {ranges.ENV["service"]: "127.101.0.0/16", ranges.ENV["nodeports"]: "30000-30099"}
    assert Requested.parse(environ=env) == Requested(net("127.101.0.0/16"), None, (30000, 30099),
                                                     frozenset({"service", "nodeports"}))
    flag = Requested.parse("127.102.0.0/16", environ=env)  # the flag wins, and is a demand, not a default
    assert flag.service_cidr == net("127.102.0.0/16") and flag.from_env == {"nodeports"}
    cases = {
        ("10.0.0.0/16", None, None): "--service-cluster-ip-range=10.0.0.0/16: must be inside 127.0.0.0/8",
        ("127.0.0.0/12", None, None): "contains 127.0.0.1, where the control plane listens",
        ("127.96.0.0/30", None, None): "the mask must be between /12 and /28",
        ("banana", None, None): "--service-cluster-ip-range=banana: not a CIDR, e.g. 127.100.0.0/16",
        (None, "127.144.0.0/25", None): "--cluster-cidr=127.144.0.0/25: the mask must be /24 or larger",
        (None, "::1/128", None): "--cluster-cidr=::1/128: must be inside 127.0.0.0/8",
        (None, None, "32767-30000"): "ports must be 1-65535 with the first no greater than the last",
        (None, None, "many"): "--service-node-port-range=many: not a port range, e.g. 30000-32767",
        ("127.144.0.0/16", "127.144.0.0/12", None): "overlaps --cluster-cidr=127.144.0.0/12",
    }
    with pytest.raises(RangeError, match=r"\$KUBE_TUI_CLUSTER_CIDR=10\.1\.0\.0/16: must be inside 127\.0\.0\.0/8"):
        Requested.parse(environ={ranges.ENV["cluster"]: "10.1.0.0/16"})  # named as what it came from
    for (svc, pods, ports), message in cases.items():
        with pytest.raises(RangeError, match=message.replace("(", r"\(").replace("+", r"\+")):
            Requested.parse(svc, pods, ports, environ={})


def test_the_default_range_is_one_nobody_listens_in() -> None:
    busy = {ipaddress.ip_address("127.128.0.1"), ipaddress.ip_address("127.145.3.7"), ipaddress.ip_address("127.0.0.1")}
    for seed in range(50):
        got = ranges.choose(ranges.POD_SPACE, ranges.CLUSTER_PREFIX, busy, random.Random(seed))
        assert got.prefixlen == 12 and got.subnet_of(ranges.POD_SPACE)
        assert got not in (net("127.128.0.0/12"), net("127.144.0.0/12"))
    every = set(ranges.POD_SPACE.subnets(new_prefix=12))
    assert ranges.choose(ranges.POD_SPACE, 12, {s.network_address + 1 for s in every}, random.Random(1)) in every


def test_listening_addresses_are_read_from_proc(tmp_path: Path) -> None:
    table = tmp_path / "tcp"
    table.write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue\n"
        "   0: 0100007F:1B9E 00000000:0000 0A 00000000:00000000\n"  # 127.0.0.1:7070, listening
        "   1: 0200807F:0050 00000000:0000 0A 00000000:00000000\n"  # 127.128.0.2:80, listening
        "   2: 0300807F:0050 0100007F:D431 01 00000000:00000000\n")  # established: not counted
    assert ranges.listening_addresses(str(table)) == {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("127.128.0.2")}
    assert ranges.listening_addresses(str(tmp_path / "missing")) == set()


async def test_a_new_cluster_records_its_ranges_and_keeps_them(tmp_path: Path) -> None:
    async with Store(tmp_path / "d") as store:
        first = await ranges.establish(store, Requested(), busy=set(), rng=random.Random(7))
        assert first.service_cidr.prefixlen == 16 and first.service_cidr.subnet_of(ranges.SERVICE_SPACE)
        assert first.cluster_cidr.prefixlen == 12 and first.node_ports == (30000, 32767)
        keys = [kv.key for kv in store.range("/registry/ranges/", prefix=True)[0]]
        assert keys == ["/registry/ranges/clustercidr", "/registry/ranges/serviceips", "/registry/ranges/servicenodeports"]
        rev = store.revision
    async with Store(tmp_path / "d") as store:  # restarted: the same ranges, nothing written
        again = await ranges.establish(store, Requested(), busy=set(), rng=random.Random(99))
        assert again == first and store.revision == rev
        # the same values as flags are fine; other values are refused, naming the flag and the fix
        assert await ranges.establish(store, Requested(first.service_cidr, first.cluster_cidr, (30000, 32767))) == first
        other = net("127.200.0.0/16") if first.service_cidr != net("127.200.0.0/16") else net("127.201.0.0/16")
        with pytest.raises(RangeError, match=f"--service-cluster-ip-range={other}: this cluster was created with "
                                             f"{first.service_cidr}.*use --data-dir with a new directory"):
            await ranges.establish(store, Requested(service_cidr=other))
        with pytest.raises(RangeError, match="--service-node-port-range=31000-31999: this cluster was created with 30000-32767"):
            await ranges.establish(store, Requested(node_ports=(31000, 31999)))
        # from the environment it is a default for new clusters: an existing one keeps its own
        assert await ranges.establish(store, Requested(service_cidr=other, from_env=frozenset({"service"}))) == first
        assert store.revision == rev


async def test_a_store_from_before_ranges_keeps_the_ranges_it_was_written_with(tmp_path: Path) -> None:
    async with Store(tmp_path / "d") as store:
        await store.put("/registry/services/default/web", b"\x80")
        got = await ranges.establish(store, Requested(), busy=set())
        assert got == ranges.LEGACY
        assert store.get("/registry/ranges/serviceips") is not None  # recorded from now on


def test_cluster_network_travels_in_hello_and_an_old_server_means_the_legacy_ranges() -> None:
    n = ClusterNetwork(net("127.100.0.0/16"), net("127.144.0.0/12"), (31000, 31999))
    assert ClusterNetwork.from_dict(n.to_dict()) == n
    assert ClusterNetwork.from_dict(None) == ranges.LEGACY == ClusterNetwork.from_dict({})
    assert n.kubernetes_ip == "127.100.0.1"
    assert n.is_pod_ip("127.150.1.2") and not n.is_pod_ip("127.160.0.2") and not n.is_pod_ip("nope")


def test_cluster_ips_come_at_random_from_the_upper_band_and_never_the_reserved_ones() -> None:
    a = IPAllocator(net("127.100.0.0/16"), random.Random(1))
    got = [a.allocate() for _ in range(200)]
    assert len(set(got)) == 200
    offsets = [int(ipaddress.ip_address(ip)) - int(ipaddress.ip_address("127.100.0.0")) for ip in got]
    assert min(offsets) >= 2 + 256 and max(offsets) < 65535  # the lower band (256) kept for asked-for IPs
    assert offsets != sorted(offsets)  # at random, not in order
    small = IPAllocator(net("127.100.0.0/28"), random.Random(2))  # 13 usable: .2 to .14
    every = {small.allocate() for _ in range(13)}
    assert every == {f"127.100.0.{i}" for i in range(2, 15)}
    with pytest.raises(RuntimeError, match="range 127.100.0.0/28 is full"):
        small.allocate()
    small.release("127.100.0.9")
    assert small.allocate() == "127.100.0.9"


def test_node_ports_come_at_random_and_fill_the_lower_band_last() -> None:
    p = PortAllocator(30000, 32767, random.Random(3))
    first = [p.allocate() for _ in range(100)]
    assert len(set(first)) == 100 and all(30086 <= x <= 32767 for x in first)  # band: 2768 // 32 = 86
    assert p.contains(30000) and not p.contains(29999) and not p.contains(32768)
    tiny = PortAllocator(30000, 30004, random.Random(4))
    assert sorted(tiny.allocate() for _ in range(5)) == [30000, 30001, 30002, 30003, 30004]
    with pytest.raises(RuntimeError, match="node port range 30000-30004 is full"):
        tiny.allocate()


async def test_the_range_chosen_for_one_never_overlaps_the_range_asked_for_the_other(tmp_path: Path) -> None:
    # A Services' range asked for inside 127.128.0.0/9: the pods' /12 is chosen around it, not over it
    # (one seed in eight used to land on it and fail, naming a --cluster-cidr nobody gave).
    asked = net("127.130.0.0/16")
    for seed in range(40):
        async with Store(tmp_path / f"s{seed}") as store:
            got = await ranges.establish(store, Requested(service_cidr=asked), busy=set(), rng=random.Random(seed))
            assert got.service_cidr == asked and not got.cluster_cidr.overlaps(asked)
    # A cluster CIDR that covers every default Services' range: say which flag to add.
    async with Store(tmp_path / "wide") as store:
        with pytest.raises(RangeError, match=r"--cluster-cidr=127\.96\.0\.0/11 .*--service-cluster-ip-range"):
            await ranges.establish(store, Requested(cluster_cidr=net("127.96.0.0/11")), busy=set())
        assert store.revision == 0
        got = await ranges.establish(store, Requested(net("127.200.0.0/16"), net("127.96.0.0/11")), busy=set())
        assert got.service_cidr == net("127.200.0.0/16")


def test_cluster_ips_asked_for_are_refused_on_the_network_and_broadcast_addresses() -> None:
    a = IPAllocator(net("127.100.0.0/16"))
    assert not a.contains("127.100.0.0") and not a.contains("127.100.255.255")  # as kube-apiserver's Range
    assert a.contains("127.100.0.1") and a.contains("127.100.255.254") and not a.contains("127.101.0.1")


def test_the_lower_band_is_sized_from_the_whole_cidr_as_calculate_range_offset() -> None:
    # min(max(16, cidrSize/16), 256) with cidrSize the CIDR's size (a /20: 4096/16 = 256; a /22: 64)
    for prefix, band in ((16, 256), (20, 256), (21, 128), (22, 64), (23, 32), (24, 16), (28, 0)):
        assert IPAllocator(net(f"127.100.0.0/{prefix}"))._static == band, prefix


async def test_a_running_cluster_claims_its_ranges_so_the_next_one_chooses_others(tmp_path: Path) -> None:
    """A control plane with no node yet listens on nothing else in its ranges: the claim makes them taken."""
    from control.plane import ControlPlane

    before = ranges.listening_addresses()  # ranges nothing on the machine uses now (another cluster may run)
    service = ranges.choose(ranges.SERVICE_SPACE, ranges.SERVICE_PREFIX, before)
    pods = ranges.choose(ranges.POD_SPACE, ranges.CLUSTER_PREFIX, before)
    assert service is not None and pods is not None
    plane = ControlPlane(tmp_path / "a", "tcp://127.0.0.1:*", scheduler=False, controllers=False,
                         network=Requested(service, pods))
    await plane.start()
    try:
        busy = ranges.listening_addresses()
        assert service.network_address in busy and pods.network_address in busy
        # With every range of a kind in use (8 pod ranges: a machine running that many clusters), any may come.
        crowded = {space: all(any(a in s for a in busy) for s in space.subnets(new_prefix=prefix))
                   for space, prefix in ((ranges.SERVICE_SPACE, ranges.SERVICE_PREFIX),
                                         (ranges.POD_SPACE, ranges.CLUSTER_PREFIX))}
        for seed in range(20):  # a new cluster's default never lands on them
            async with Store(tmp_path / f"b{seed}") as store:
                other = await ranges.establish(store, Requested(), rng=random.Random(seed))  # reads /proc itself
                assert other.service_cidr != service or crowded[ranges.SERVICE_SPACE]
                assert other.cluster_cidr != pods or crowded[ranges.POD_SPACE]
                assert other.service_cidr.prefixlen == 16 and other.cluster_cidr.prefixlen == 12
    finally:
        await plane.stop()
    if not any(a in pods for a in before):  # (on a crowded machine the range may be another cluster's too)
        assert pods.network_address not in ranges.listening_addresses()  # given back on stop


async def test_a_refused_range_leaves_nothing_bound(tmp_path: Path) -> None:
    from control.netutil import free_port_pair
    from control.plane import ControlPlane

    async with Store(tmp_path / "d") as store:  # a cluster created with its ranges
        await ranges.establish(store, Requested(net("127.105.0.0/16"), net("127.192.0.0/12")))
    port = free_port_pair()
    plane = ControlPlane(tmp_path / "d", f"tcp://127.0.0.1:{port}", scheduler=False, controllers=False,
                         network=Requested(cluster_cidr=net("127.208.0.0/12")))
    with pytest.raises(RangeError, match="--cluster-cidr=127.208.0.0/12: this cluster was created with 127.192.0.0/12"):
        await plane.start()
    import socket

    for p in (port, port + 1):  # both the request and the watch port are free again
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))


def test_clusters_started_at_once_all_stay_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """remember_network reads, changes and writes back ~/.kube-tui/networks.json: eight writers at once (threads
    here, `kube-tui control` processes in life) must not drop one another's entry."""
    import threading

    from control import config

    monkeypatch.setenv("KUBE_TUI_HOME", str(tmp_path / "home"))
    dirs = [tmp_path / f"c{i}" for i in range(8)]
    start = threading.Barrier(len(dirs))

    def remember(d: Path) -> None:
        d.mkdir()
        start.wait()
        for _ in range(20):
            config.remember_network(d, {"serviceClusterIPRange": "127.100.0.0/16", "clusterCIDR": "127.144.0.0/12"})

    threads = [threading.Thread(target=remember, args=(d,)) for d in dirs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(config.other_networks(tmp_path / "elsewhere")) == len(dirs)
