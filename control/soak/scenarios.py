"""The fault scenarios: each one injects a fault, measures, and records its checks in a Report."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import random
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import zmq

from control.apiserver.auth import Credentials
from control.apiserver.server import ApiServer
from control.client import Client
from control.errors import ApiError
from control.faults import Faults
from control.informer import Informer
from control.plane import ControlPlane
from control.soak.fuzz import FORGED_NAMES
from control.soak.procs import EVICTION, GRACE, MONITOR, ROOT, SoakCluster, is_ready, wait_until
from control.soak.report import Report, ms, percentile
from control.store import Store

NS = "soak"
LATENCY_TARGET = 0.1  # p99 of a real client's read while the server is being abused or a subscriber is frozen


# -- objects ---------------------------------------------------------------------------------------------
def deployment(name: str, replicas: int, prefer: str | None = None) -> dict:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "pause"}], "terminationGracePeriodSeconds": 0}
    if prefer:
        term = {"weight": 100, "preference": {"matchExpressions": [{"key": prefer, "operator": "In", "values": ["yes"]}]}}
        spec["affinity"] = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name, "soak": "pod"}}, "spec": spec}}}


def lease(name: str) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name, "namespace": NS},
            "spec": {"holderIdentity": "soak"}}


def pod(name: str, node: str = "") -> dict:
    p: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
                         "spec": {"containers": [{"name": "c", "image": "pause"}]}}
    if node:
        p["spec"]["nodeName"] = node
    return p


async def ensure_namespace(client: Client) -> None:
    try:
        await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    except ApiError as e:
        if e.code != 409:
            raise


def live(p: dict) -> bool:
    return not p["metadata"].get("deletionTimestamp")


def running(p: dict) -> bool:
    return live(p) and (p.get("status") or {}).get("phase") == "Running"


def container_state(p: dict) -> tuple[int, str]:
    cs = ((p.get("status") or {}).get("containerStatuses") or [{}])[0]
    return int(cs.get("restartCount") or 0), str(((cs.get("state") or {}).get("running") or {}).get("startedAt") or "")


async def soak_pods(client: Client, app: str | None = None) -> list[dict]:
    sel = f"app={app}" if app else "soak=pod"
    return (await client.list("pods", NS, label_selector=sel))["items"]  # type: ignore[no-any-return]


async def latency_probe(client: Client, stop: asyncio.Event, out: list[float], interval: float = 0.02) -> None:
    """A real client's reads, timed, until stopped."""
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            await client.get("namespaces", NS, None)
            out.append(time.perf_counter() - t0)
        except ApiError:
            out.append(float("inf"))
        await asyncio.sleep(interval)


# -- 1. kill -9 of the control plane during pod churn ------------------------------------------------------
async def control_plane_kill9(cl: SoakCluster, report: Report, *, rounds: int, max_pods: int, seed: int = 1,
                              converge_timeout: float = 180.0, deadline: float | None = None) -> None:
    rng = random.Random(seed)
    report.begin("control-plane kill -9", f"{rounds} x kill -9 of `kube-tui control` at a random moment of a churn of "
                 f"up to {max_pods} pods (create, scale, delete deployments; create leases)")
    # Two deployments are left alone, so that their pods must simply keep running through every kill;
    # three are scaled, deleted and recreated at random.
    stable = ["stable-0", "stable-1"]
    names = [f"churn-{i}" for i in range(3)]
    per = max(1, max_pods // (len(names) + len(stable)))
    setup = cl.client("soak-setup")
    await ensure_namespace(setup)
    desired: dict[str, int | None] = {}
    for n in stable + names:
        want = per if n in stable else per // 2
        try:
            await setup.get("deployments", n, NS)
            await setup.patch("deployments", n, {"spec": {"replicas": want}}, NS)
        except ApiError:
            await setup.create(deployment(n, want))
        desired[n] = want
    watcher = cl.client("soak-watcher")
    inf = Informer(watcher, "Pod", namespace=NS, silence_timeout=2.0)
    await inf.start()
    await inf.wait_synced(60)
    took = await converge(setup, desired, converge_timeout)
    report.did(f"{sum(v or 0 for v in desired.values())} pods in {len(desired)} deployments Running after {took:.1f} s")
    acked = found = lost_total = restarted_total = kept_total = 0
    conv: list[float] = []
    restarts: list[float] = []
    try:
        for r in range(rounds):
            if deadline is not None and time.monotonic() > deadline and r > 0:
                report.did(f"time is up after {r} rounds")
                break
            before = {p["metadata"]["uid"]: container_state(p) for p in await soak_pods(setup) if running(p)}
            writer = cl.client(f"soak-writer-{r}", timeout=2.0, retry_for=0.0)
            await writer.connect()
            markers: list[str] = []
            inflight: dict[str, int | None] = {}
            stop = asyncio.Event()
            task = asyncio.create_task(churn(writer, rng, names, per, desired, inflight, markers, r, stop))
            await asyncio.sleep(rng.uniform(0.3, 2.5))
            cl.control.kill9()  # type: ignore[union-attr]
            stop.set()
            await asyncio.gather(task, return_exceptions=True)
            await writer.close()
            restart = await cl.start_control()
            restarts.append(restart)
            t0 = time.monotonic()
            have = {o["metadata"]["name"] for o in (await setup.list("leases", NS))["items"]}
            lost = [m for m in markers if m not in have]
            bad_spec: list[str] = []
            for n in stable + names:  # an unacknowledged (in-flight) write may or may not have landed: both are fine
                try:
                    got: int | None = (await setup.get("deployments", n, NS))["spec"]["replicas"]
                except ApiError as e:
                    if e.code != 404:
                        raise
                    got = None
                allowed = {desired[n]} | ({inflight[n]} if n in inflight else set())
                if got not in allowed:
                    bad_spec.append(f"{n}: {got} not in {allowed}")
                desired[n] = got
            acked += len(markers)
            found += len(markers) - len(lost)
            lost_total += len(lost) + len(bad_spec)
            took = await converge(setup, desired, converge_timeout)
            conv.append(time.monotonic() - t0)
            after = {p["metadata"]["uid"]: container_state(p) for p in await soak_pods(setup)}
            kept = [u for u in before if u in after]
            restarted = [u for u in kept if after[u] != before[u]]
            kept_total += len(kept)
            restarted_total += len(restarted)
            store_names = {p["metadata"]["name"] for p in await soak_pods(setup)}
            await wait_until(lambda names=store_names: {n for _, n in inf.cache} == names, 30, "the watcher to match the store")
            await wait_until(lambda: cl.ready_nodes(setup, cl.sim_nodes, "soak-sim-"), 30, "every node Ready again")
            ok = not lost and not bad_spec and not restarted
            report.did(f"round {r + 1}: killed with {len(inflight)} write(s) in flight, restart {restart:.1f} s, "
                       f"{len(markers)} marker writes acked, {len(markers) - len(lost)} found, converged to "
                       f"{sum(v or 0 for v in desired.values())} pods in {took:.1f} s, {len(kept)} running pods kept, "
                       f"{len(restarted)} restarted{'' if ok else ' <- PROBLEM ' + '; '.join(bad_spec + lost[:3])}")
        report.number("acked_writes", acked)
        report.number("found_after_recovery", found)
        report.check("every acknowledged write survives", lost_total == 0 and acked == found,
                     f"{acked} acknowledged marker writes, {found} found after recovery; deployment specs "
                     f"{'all as acknowledged' if lost_total == 0 else f'{lost_total} lost'}")
        report.check("the cluster converges after each restart", len(conv) >= 1,
                     f"{len(conv)} rounds; convergence after restart: median {sorted(conv)[len(conv) // 2]:.1f} s, "
                     f"max {max(conv):.1f} s (control plane up again in max {max(restarts):.1f} s)")
        report.number("convergence_max_s", max(conv))
        report.check("running pods are not restarted", restarted_total == 0,
                     f"{kept_total} pod-rounds of pods Running before the kill and still wanted after; "
                     f"{restarted_total} restarted (restartCount/startedAt changed)")
        report.check("clients reconnect by themselves", True,
                     f"the watcher's cache matched the store after every round ({inf.relists} relists, "
                     f"{watcher.reconnects} reconnects); all {cl.sim_nodes} nodes of the pool Ready each time")
    finally:
        await inf.stop()
        await watcher.close()
        await setup.close()


async def churn(writer: Client, rng: random.Random, names: list[str], per: int, desired: dict[str, int | None],
                inflight: dict[str, int | None], markers: list[str], round_: int, stop: asyncio.Event) -> None:
    """Scale, delete and recreate deployments and create marker leases until a write fails (the server died)."""
    i = 0
    while True:
        n = rng.choice(names)
        op = rng.random()
        try:
            if op < 0.1 and desired[n] is not None:
                inflight[n] = None
                await writer.delete("deployments", n, NS)
            elif desired[n] is None:
                want = rng.randint(0, per)
                inflight[n] = want
                try:
                    await writer.create(deployment(n, want))
                except ApiError as e:
                    if e.code != 409:
                        raise
                    inflight[n] = None  # still being deleted: it stays gone
                    continue
            elif op < 0.6:
                want = rng.randint(0, per)
                inflight[n] = want
                await writer.patch("deployments", n, {"spec": {"replicas": want}}, NS)
            else:
                name = f"w-{round_}-{i}"
                i += 1
                await writer.create(lease(name))
                markers.append(name)
                continue
            desired[n] = inflight.pop(n)
        except ApiError as e:
            if e.code in (503, 504) or stop.is_set():
                return
            inflight.pop(n, None)
        except (zmq.ZMQError, asyncio.CancelledError):
            return


async def converge(client: Client, desired: dict[str, int | None], timeout: float, *, alone: bool = True) -> float:
    """Wait until each deployment has exactly its replicas Running and (`alone`) nothing else of the soak is
    left; alone=False ignores the pods of other deployments (those another scenario keeps across cycles)."""

    async def done() -> bool:
        pods = await soak_pods(client)
        if not alone:
            pods = [p for p in pods if p["metadata"].get("labels", {}).get("app") in desired]
        want = sum(v or 0 for v in desired.values())
        if len(pods) != want:
            return False
        by: dict[str, int] = {}
        for p in pods:
            if not running(p):
                return False
            by[p["metadata"]["labels"]["app"]] = by.get(p["metadata"]["labels"]["app"], 0) + 1
        return all(by.get(n, 0) == (v or 0) for n, v in desired.items())

    return await wait_until(done, timeout, "the soak deployments to converge", interval=0.25)


# -- 2. kill -9 of a node --------------------------------------------------------------------------------
async def node_kill9(cl: SoakCluster, report: Report, *, replicas: int = 6, round_: int = 0) -> None:
    report.begin("node kill -9", f"kill -9 of a `kube-tui node` process hosting pods; eviction, replacement, rejoin "
                 f"(grace {GRACE:g} s + eviction {EVICTION:g} s)")
    name = "soak-victim"
    app = f"evict-{round_}"
    client = cl.client("soak-node-kill")
    await ensure_namespace(client)
    token = cl.join_token()
    args = ["node", "--name", name, "--runtime", "sim", "--no-proxy", "--server", cl.server, *cl.key_args(), "--data-dir", str(cl.dir / "victim"), "--timings", str(cl.cluster_file), "--labels", "soak-victim=yes"]
    victim = cl.spawn(args, f"victim-{round_}-a", token=token)
    try:
        await victim.wait_line("is ready", 60)
        # Cordon the other nodes while the deployment lands, so that its pods run on the victim.
        others = [n["metadata"]["name"] for n in (await client.list("nodes"))["items"] if n["metadata"]["name"] != name]
        for other in others:
            await client.patch("nodes", other, {"spec": {"unschedulable": True}}, None)
        try:
            await client.create(deployment(app, replicas, prefer="soak-victim"))
            await converge(client, {app: replicas}, 60, alone=False)
        finally:
            for other in others:
                await client.patch("nodes", other, {"spec": {"unschedulable": None}}, None)
        on_victim = [p for p in await soak_pods(client, app) if p["spec"].get("nodeName") == name]
        report.did(f"{replicas} pods Running, {len(on_victim)} of them on {name}")
        victim.kill9()
        t0 = time.monotonic()

        async def node_not_ready() -> bool:
            return not is_ready(await client.get("nodes", name, None))

        t_notready = await wait_until(node_not_ready, 60, f"{name} to be marked not ready")

        async def replaced() -> bool:
            pods = [p for p in await soak_pods(client, app) if live(p)]
            return len(pods) == replicas and all(running(p) and p["spec"].get("nodeName") != name for p in pods)

        await wait_until(replaced, 120, "the evicted pods to be replaced elsewhere", interval=0.2)
        t_replaced = time.monotonic() - t0
        bound = GRACE + EVICTION + 2 * MONITOR + 10.0
        report.number("not_ready_s", t_notready)
        report.number("replaced_s", t_replaced)
        report.check("its pods are evicted and replaced elsewhere in time", len(on_victim) > 0 and t_replaced <= bound,
                     f"{len(on_victim)} pods on the killed node; NotReady after {t_notready:.1f} s, all {replicas} "
                     f"Running elsewhere after {t_replaced:.1f} s (bound: grace + eviction + 2 monitor periods + 10 s "
                     f"= {bound:.0f} s)")
        stale = [p for p in await soak_pods(client, app) if p["spec"].get("nodeName") == name]
        again = cl.spawn(args, f"victim-{round_}-b", token=token)
        t1 = time.monotonic()
        await again.wait_line("is ready", 60)
        t_rejoin = time.monotonic() - t1

        async def clean() -> bool:
            return not [p for p in await soak_pods(client, app) if p["spec"].get("nodeName") == name]

        t_clean = await wait_until(clean, 60, "the stale pods of the returning node to be cleaned up")
        log = again.text()
        report.check("it rejoins cleanly and its stale pods are cleaned up",
                     "joined" in log and is_ready(await client.get("nodes", name, None)),
                     f"rejoined with its saved credential in {t_rejoin:.1f} s; {len(stale)} of its evicted pods still "
                     f"bound to it (Terminating) at rejoin, none {t_clean:.1f} s later; replacements untouched: "
                     f"{await replaced()}")
        again.stop()
        await client.delete("deployments", app, NS)
        await client.delete("nodes", name, None)
    finally:
        victim.stop()
        await client.close()


# -- 3. watch loss ------------------------------------------------------------------------------------------
async def watch_loss(report: Report, workdir: Path, *, ops: int = 400, drop: float = 0.05, seed: int = 3) -> None:
    report.begin("watch loss", f"{drop:.0%} of published watch events dropped (fault injection); {ops} writes; "
                 "informers of every kind must converge on the store")
    plane = ControlPlane(workdir / "watch-loss", "tcp://127.0.0.1:*", scheduler=False, controllers=False,
                         bookmark_interval=0.2, faults=Faults(drop=drop, seed=seed))
    await plane.start()
    assert plane.credentials is not None and plane.server is not None
    writer = plane.client("soak-writer")
    clients = [plane.client(f"soak-watch-{i}") for i in range(3)]
    node = Client(plane.server.address, token=plane.credentials.node_credential("n1"), identity="kubelet-n1")
    infs = {
        "pods (all)": Informer(clients[0], "Pod", silence_timeout=1.0),
        "pods of n1 (node credential)": Informer(node, "Pod", node_name="n1", silence_timeout=1.0),
        "services": Informer(clients[1], "Service", silence_timeout=1.0),
        "leases": Informer(clients[2], "Lease", silence_timeout=1.0),
    }
    rng = random.Random(seed)
    try:
        await ensure_namespace(writer)
        for inf in infs.values():
            await inf.start()
            await inf.wait_synced(30)
        names = [f"p{i}" for i in range(40)]
        t_start = time.monotonic()
        for i in range(ops):
            k = rng.random()
            try:
                if k < 0.5:
                    n = rng.choice(names)
                    if rng.random() < 0.5:
                        await writer.create(pod(n, rng.choice(["", "n1", "n2"])))
                    else:
                        await writer.patch("pods", n, {"metadata": {"labels": {"v": str(i)}}}, NS)
                elif k < 0.7:
                    await writer.delete("pods", rng.choice(names), NS, grace_period=0)
                elif k < 0.85:
                    await writer.create(lease(f"l{rng.randint(0, 30)}"))
                elif k < 0.95:
                    await writer.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{rng.randint(0, 9)}", "namespace": NS},
                                         "spec": {"ports": [{"port": 80}]}})
                else:
                    await writer.delete("services", f"s{rng.randint(0, 9)}", NS)
            except ApiError:
                pass  # exists already, or gone already: it is churn
        writes = time.monotonic() - t_start
        truth = {
            "pods (all)": await view(writer, "pods"),
            "pods of n1 (node credential)": await view(writer, "pods", field_selector="spec.nodeName=n1"),
            "services": await view(writer, "services"),
            "leases": await view(writer, "leases"),
        }
        times: dict[str, float] = {}
        for label, inf in infs.items():
            t = await wait_until(lambda inf=inf, label=label: cache(inf) == truth[label], 30, f"informer {label}")
            times[label] = t
        faults = plane.faults
        assert faults is not None
        relists = {label: inf.relists for label, inf in infs.items()}
        report.did(f"{ops} writes in {writes:.1f} s; {plane.server.hub.published} events published, {faults.dropped} dropped")
        report.number("dropped", faults.dropped)
        report.number("relists", sum(relists.values()))
        report.check("every informer converges to the store's contents", True,
                     "; ".join(f"{label}: {len(truth[label])} objects, converged {times[label]:.2f} s after the last "
                               f"write, {relists[label]} relists" for label in infs))
        report.check("drops were noticed and healed by relisting", faults.dropped > 0 and sum(relists.values()) > 0,
                     f"{faults.dropped} events dropped, {sum(relists.values())} relists in all")
    finally:
        for inf in infs.values():
            await inf.stop()
        for c in (*clients, node, writer):
            await c.close()
        await plane.stop()


async def view(client: Client, kind: str, **kw: str) -> dict[tuple[str, str], str]:
    items = (await client.list(kind, **kw))["items"]
    return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o["metadata"]["resourceVersion"] for o in items}


def cache(inf: Informer) -> dict[tuple[str, str], str]:
    return {k: o["metadata"]["resourceVersion"] for k, o in inf.cache.items()}


# -- 4. frozen subscriber ------------------------------------------------------------------------------------
async def frozen_subscriber(cl: SoakCluster, report: Report, *, freeze: float = 30.0, rate: float = 100.0) -> None:
    report.begin("frozen subscriber", f"a watch client process stopped with SIGSTOP for {freeze:g} s while "
                 f"{rate:g} writes/s go on; the control plane must not slow down, the client must catch up")
    client = cl.client("soak-latency")
    writer = cl.client("soak-frozen-writer")
    await ensure_namespace(writer)
    sub = cl.spawn(["--server", cl.server, *cl.key_args()], "subscriber", module="control.soak.subscriber", token=cl.admin)
    run = uuid.uuid4().hex[:6]  # the cluster outlives a cycle: this cycle's leases must not meet the last one's
    left: set[str] = set()  # leases still to delete when the scenario ends
    try:
        await sub.wait_line("synced", 60)

        async def phase(seconds: float, tag: str) -> tuple[list[float], int]:
            lat: list[float] = []
            stop = asyncio.Event()
            probe = asyncio.create_task(latency_probe(client, stop, lat))
            n = 0
            t_end = time.monotonic() + seconds
            while time.monotonic() < t_end:
                t0 = time.monotonic()
                name = f"fz-{run}-{tag}-{n}"
                await writer.create(lease(name))
                left.add(name)
                if n >= 50:
                    await writer.delete("leases", f"fz-{run}-{tag}-{n - 50}", NS)
                    left.discard(f"fz-{run}-{tag}-{n - 50}")
                n += 1
                await asyncio.sleep(max(0.0, 1.0 / rate - (time.monotonic() - t0)))
            stop.set()
            await probe
            return lat, n

        base, _ = await phase(min(5.0, freeze / 3), "base")
        sub.signal(signal.SIGSTOP)
        frozen, writes = await phase(freeze, "frozen")
        truth = len((await writer.list("leases", NS))["items"])
        before = sub.text()
        relists_before = int(before.rsplit("relists=", 1)[1].split()[0]) if "relists=" in before else 0
        sub.signal(signal.SIGCONT)

        def caught_up() -> bool:
            last = [ln for ln in sub.text()[len(before):].splitlines() if ln.startswith("cache ")]
            return bool(last) and f"leases={truth} " in last[-1]

        took = await wait_until(caught_up, 60, "the resumed subscriber to catch up")
        after = [ln for ln in sub.text()[len(before):].splitlines() if ln.startswith("cache ")][-1]
        relists = int(after.rsplit("relists=", 1)[1].split()[0]) - relists_before
        p99b, p99f = percentile(base, 99), percentile(frozen, 99)
        limit = max(LATENCY_TARGET, 2 * p99b)
        report.number("p99_base_ms", p99b * 1000)
        report.number("p99_frozen_ms", p99f * 1000)
        report.check("a frozen subscriber does not slow the control plane", p99f <= limit,
                     f"read p99 {ms(p99b)} before, {ms(p99f)} while frozen (limit {ms(limit)}; {len(frozen)} reads, "
                     f"{writes} writes, about {2 * writes} events queued for the frozen client)")
        report.check("it catches up when resumed", True,
                     f"cache matched the store {took:.1f} s after SIGCONT ({relists} relists"
                     + (": nothing was lost, the queued events were enough; a gap or silence would relist)" if relists == 0 else ")"))
    finally:
        sub.stop()
        for name in left:
            with contextlib.suppress(ApiError):
                await writer.delete("leases", name, NS)
        await client.close()
        await writer.close()


# -- 5. disk full / unwritable ----------------------------------------------------------------------------------
async def disk_full(report: Report, workdir: Path) -> None:
    report.begin("disk full", "the store's disk fails (ENOSPC on write, EIO on fsync) while a real API server serves")
    for kind, err in (("write", errno.ENOSPC), ("fsync", errno.EIO)):
        await _disk_case(report, workdir / f"disk-{kind}", kind, err)


async def _disk_case(report: Report, data: Path, kind: str, err: int) -> None:
    failing = False

    def write_hook(fd: int, buf: Any) -> int:
        if failing and kind == "write":
            raise OSError(err, os.strerror(err))
        return os.write(fd, buf)

    def sync_hook(fd: int) -> None:
        if failing and kind == "fsync":
            raise OSError(err, os.strerror(err))
        os.fdatasync(fd)

    data.mkdir(parents=True, exist_ok=True, mode=0o700)  # noqa: ASYNC240 - once, before serving
    creds = Credentials.load(data)
    store = Store(data, write_hook=write_hook, sync_hook=sync_hook)
    await store.open()
    server = ApiServer(store, "tcp://127.0.0.1:*", credentials=creds)
    await server.start()
    client = Client(server.address, token=creds.admin, identity="soak-disk", timeout=5.0, retry_for=5.0)
    try:
        await ensure_namespace(client)
        for i in range(30):
            await client.create(pod(f"before-{i}"))
        failing = True
        errors_seen: list[str] = []
        for i in range(10):
            try:
                await client.create(pod(f"during-{i}"))
            except ApiError as e:
                errors_seen.append(f"{e.code} {e.message}")
        listed = len((await client.list("pods", NS))["items"])
        failing = False
        for i in range(10):
            await client.create(pod(f"after-{i}"))
        sample = errors_seen[0] if errors_seen else "no error"
        report.check(f"{kind} failure: writes fail with a clear error, reads go on",
                     len(errors_seen) == 10 and listed == 30 and os.strerror(err) in sample,
                     f"10 of 10 writes refused ({sample!r}); a list during the failure answered {listed} pods; "
                     "10 writes after the disk came back succeeded")
    finally:
        await client.close()
        await server.stop()
        await store.close()
    again = Store(data)
    await again.open()
    try:
        keys = {kv.key.rsplit("/", 1)[1] for kv in again.range(f"/registry/pods/{NS}/", prefix=True)[0]}
    finally:
        await again.close()
    want = {f"before-{i}" for i in range(30)} | {f"after-{i}" for i in range(10)}
    report.check(f"{kind} failure: nothing already stored is damaged", keys == want,
                 f"after a restart the store holds {len(keys & want)}/40 acknowledged pods and "
                 f"{len(keys - want)} of the refused ones")


# -- 6. abuse ---------------------------------------------------------------------------------------------------
async def _attack(cl_dir: Path, server: str, server_key: str | None, mode: str, count: int, rate: float,
                  client: Client) -> tuple[list[float], dict]:
    """Run the attacker process while this process times a real client's reads."""
    args = [sys.executable, "-m", "control.soak.attack", "--server", server, "--mode", mode, "--count", str(count),
            "--rate", str(rate)]
    if server_key:
        args += ["--server-key", server_key]
    proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE, cwd=str(ROOT),
                                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
    lat: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(latency_probe(client, stop, lat))
    try:
        out, _ = await proc.communicate()
    finally:
        stop.set()
        await probe
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    result = json.loads(out.decode().strip().splitlines()[-1])
    return lat, result


async def abuse(server: str, admin: str, server_key: str | None, report: Report, *, frames: int = 100_000,
                fuzz_rate: float = 10_000.0, unauth_seconds: float = 5.0, unauth_rps: float = 1000.0) -> None:
    report.begin("abuse", f"{frames} fuzzed frames at up to {fuzz_rate:g}/s, then {unauth_rps:g} unauthenticated "
                 f"requests/s for {unauth_seconds:g} s (each from a process of its own), while a real client times its reads")
    client = Client(server, token=admin, server_key=server_key, identity="soak-real", timeout=5.0)
    try:
        await ensure_namespace(client)
        base: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.create_task(latency_probe(client, stop, base))
        await asyncio.sleep(2.0)
        stop.set()
        await probe
        lat_f, res_f = await _attack(ROOT, server, server_key, "fuzz", frames, fuzz_rate, client)
        n = int(unauth_seconds * unauth_rps)
        lat_u, res_u = await _attack(ROOT, server, server_key, "unauth", n, unauth_rps, client)
        hello = await client.connect()
        stored = []
        for name in FORGED_NAMES:
            try:
                await client.get("pods", name, NS)
                stored.append(name)
            except ApiError as e:
                if e.code != 404:
                    raise
        p99b, p99f, p99u = percentile(base, 99), percentile(lat_f, 99), percentile(lat_u, 99)
        target = max(LATENCY_TARGET, 3 * p99b)
        report.number("p99_base_ms", p99b * 1000)
        report.number("p99_fuzz_ms", p99f * 1000)
        report.number("p99_unauth_ms", p99u * 1000)
        report.did(f"fuzz: {res_f['sent']} frames in {res_f['seconds']:.1f} s ({res_f['sent'] / res_f['seconds']:.0f}/s); "
                   f"answers by code: {dict(sorted(res_f['answers'].items()))}")
        report.did(f"unauthenticated: {res_u['sent']} requests in {res_u['seconds']:.1f} s "
                   f"({res_u['sent'] / res_u['seconds']:.0f}/s); answers: {dict(sorted(res_u['answers'].items()))}")
        report.check("the server stays up", bool(hello.get("server_id")), f"hello answered after the abuse (server {hello.get('server_id')})")
        report.check("it answers real clients within the latency target", max(p99f, p99u) <= target,
                     f"read p99 {ms(p99b)} idle, {ms(p99f)} under fuzz ({len(lat_f)} reads), {ms(p99u)} under "
                     f"{unauth_rps:g} unauthenticated req/s ({len(lat_u)} reads); target {ms(target)}")
        report.check("nothing is stored from them", not stored and set(res_u["answers"]) <= {"401"},
                     f"forged writes stored: {stored or 'none'}; unauthenticated requests answered "
                     f"{res_u['answers'].get('401', 0)} x 401")
    finally:
        await client.close()
