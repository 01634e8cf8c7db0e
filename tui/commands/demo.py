"""`kube-tui demo --headless`: the list-watch story, start to recovery, printed as numbered steps; exit 0 if it converged."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from control import aio
from control.api.meta import SCHEDULING_ANNOTATION, node_ready
from control.client import Client
from control.informer import Informer
from control.netutil import free_port_pair
from control.scheduler.record import parse as parse_record
from tui import cluster as cluster_file
from tui.commands.common import fail
from tui.commands.up import check_no_other_cluster

KINDS = ("Deployment", "ReplicaSet", "Pod", "Node", "Service", "EndpointSlice", "Job")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--headless", action="store_true", help="print the story instead of opening the dashboard")
    p.add_argument("-f", "--filename", default=None, help="cluster file (default: ./demo.yaml if there is one, else the one installed with kube-tui)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds before giving up (default 180)")
    p.add_argument("--port", type=int, default=0, help="API server port (default: a free one)")


def decision_summary(rec: dict) -> str:
    """The scores of the nodes that passed every filter, and how many did not (they were never scored)."""
    nodes = rec.get("nodes") or []
    fit = [n for n in nodes if all(f.get("ok") for f in n.get("filters") or [])]
    rejected = rec["evaluated"] - rec["feasible"] if isinstance(rec.get("evaluated"), int) and \
        isinstance(rec.get("feasible"), int) else len(nodes) - len(fit)
    out = [f"filtered out: {rejected}"] if rejected > 0 else []
    if len(fit) == 1 and rec.get("feasible") == 1:
        out.insert(0, f"{fit[0]['node']} the only node that fits (not scored)")
    elif fit:
        out.insert(0, "scores: " + ", ".join(f"{n['node']} {n['total']}" for n in fit))
    return "; " + "; ".join(out) if out else ""


def writer(obj: dict) -> str:
    mf = (obj.get("metadata") or {}).get("managedFields") or []
    return mf[-1].get("manager", "?") if mf else "?"


@dataclass
class Story:
    """Prints each hop once, numbered, with the time since the story began."""

    t0: float = field(default_factory=time.monotonic)
    n: int = 0
    seen: set[str] = field(default_factory=set)

    def step(self, text: str, *, once: str | None = None) -> None:
        if once is not None:
            if once in self.seen:
                return
            self.seen.add(once)
        self.n += 1
        print(f"{self.n:3d}. [{time.monotonic() - self.t0:6.2f}s] {text}", flush=True)

    def note(self, text: str) -> None:
        print(f"      {text}", flush=True)


class Watch:
    """Informers for the kinds the story follows, printing hops as they arrive."""

    def __init__(self, client: Client, story: Story) -> None:
        self.client = client
        self.story = story
        self.inf = {k: Informer(client, k) for k in KINDS}
        self.inf["Pod"].add_handler(self._pod, lambda o, n: self._pod(n, o), None)
        self.inf["ReplicaSet"].add_handler(self._rs, None, None)
        self.inf["EndpointSlice"].add_handler(None, lambda o, n: self._slice(n), None)
        self.inf["Node"].add_handler(None, self._node, None)

    async def start(self) -> None:
        for i in self.inf.values():
            await i.start()
        for i in self.inf.values():
            await i.wait_synced(30)

    async def stop(self) -> None:
        for i in self.inf.values():
            await i.stop()

    def _rs(self, rs: dict) -> None:
        md = rs["metadata"]
        owner = next((r["name"] for r in md.get("ownerReferences") or []), "?")
        self.story.step(
            f"controller-manager (deployment) -> API server: created ReplicaSet {md['name']} for Deployment {owner} "
            f"(rev {md['resourceVersion']}); it lands in etcd at /registry/replicasets/{md['namespace']}/{md['name']}",
            once=f"rs/{md['name']}",
        )

    def _pod(self, pod: dict, old: dict | None = None) -> None:
        md, spec, st = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        name, rv = md["name"], md["resourceVersion"]
        owner = next((r for r in md.get("ownerReferences") or []), None)
        if old is None and owner:
            self.story.step(
                f"controller-manager ({owner['kind'].lower()}) -> API server: created Pod {name} (rev {rv}, Pending, unscheduled)",
                once=f"created/{md.get('uid')}",
            )
        if spec.get("nodeName") and (old is None or not (old.get("spec") or {}).get("nodeName")):
            rec = parse_record((md.get("annotations") or {}).get(SCHEDULING_ANNOTATION)) or {}
            self.story.step(
                f"scheduler -> API server: bound {name} to {spec['nodeName']} (rev {rv})" + decision_summary(rec),
                once=f"bound/{md.get('uid')}",
            )
        phase = st.get("phase")
        old_phase = ((old or {}).get("status") or {}).get("phase")
        if phase != old_phase and phase in ("Running", "Succeeded", "Failed") and spec.get("nodeName"):
            self.story.step(
                f"kubelet on {spec['nodeName']} -> API server: {name} is {phase}, IP {st.get('podIP', '-')} (rev {rv}, written by {writer(pod)})",
                once=f"{phase}/{md.get('uid')}",
            )
        cond = next((c for c in st.get("conditions") or [] if c.get("type") == "PodScheduled" and c.get("status") == "False"), None)
        if cond:
            self.story.step(f"scheduler: {name} stays Pending: {cond.get('message')}", once=f"unsched/{md.get('uid')}")

    def _slice(self, eps: dict) -> None:
        """The EndpointSlice controller's slice of a Service: what every kube-proxy forwards to."""
        ips = [a for e in eps.get("endpoints") or [] if (e.get("conditions") or {}).get("ready") is not False
               for a in e.get("addresses") or []]
        service = ((eps.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name", "")
        if ips and service:
            self.story.step(
                f"controller-manager (endpointslice) -> API server: EndpointSlice {eps['metadata']['name']} of Service "
                f"{service} = {', '.join(ips)}; every kube-proxy hears it",
                once=f"eps/{service}/{len(ips)}",
            )

    def _node(self, old: dict, new: dict) -> None:
        def ready(n: dict) -> str:
            return next((c.get("status", "?") for c in (n.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), "?")

        if ready(old) != ready(new):
            taints = ", ".join(f"{t['key']}:{t['effect']}" for t in (new.get("spec") or {}).get("taints") or [])
            self.story.step(
                f"controller-manager (node lifecycle): node {new['metadata']['name']} Ready={ready(new)}" + (f", taints {taints}" if taints else ""),
                once=f"ready/{new['metadata']['name']}/{ready(new)}/{new['metadata']['resourceVersion']}",
            )

    # -- conditions the story waits for ------------------------------------------------------------------
    def web_ready(self, deploy: str, want: int) -> bool:
        d = self.inf["Deployment"].get("default", deploy)
        return bool(d) and int((d.get("status") or {}).get("availableReplicas", 0)) >= want

    def pods_of(self, label: str, value: str) -> list[dict]:
        return [p for p in self.inf["Pod"].list() if (p["metadata"].get("labels") or {}).get(label) == value]


async def wait(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback only
        return r.read().decode(errors="replace")


async def run_demo(args: argparse.Namespace) -> int:
    from tui.commands.up import start_cluster

    spec = cluster_file.load(args.filename)
    try:
        check_no_other_cluster(spec)
    except RuntimeError as e:
        return fail(f"error: {e}")
    port = args.port or free_port_pair()
    spec.listen = f"tcp://127.0.0.1:{port}"
    deadline = time.monotonic() + args.timeout
    st = Story()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kube-tui-demo-") as tmp:
        os.environ["KUBE_TUI_HOME"] = tmp  # the demo never touches the user's own cluster or config
        st.step(f"start the control plane: store (etcd) + API server + scheduler + controller manager on {spec.listen}")
        st.note(f"and {len(spec.nodes)} nodes, each its own `kube-tui node` process (kubelet + kube-proxy): "
                + ", ".join(n.name for n in spec.nodes))
        objects, spec.objects = spec.objects, []
        launcher = await start_cluster(spec, Path(tmp) / "data", quiet=True)
        client = Client(launcher.server, token=_admin(Path(tmp) / "data"), identity="demo", retry_for=30)
        watch = Watch(client, st)
        try:
            await client.connect()
            await watch.start()
            left = lambda: max(1.0, deadline - time.monotonic())  # noqa: E731
            await wait(lambda: sum(1 for n in watch.inf["Node"].list() if node_ready(n)) == len(spec.nodes), left(), "all nodes Ready")
            st.step(f"every kubelet registered its Node and renews its Lease: {len(spec.nodes)} nodes Ready")
            st.step("kube-tui apply -> API server: validate, default, write to etcd, answer; each write becomes a watch event")
            import io

            from tui.commands.apply import apply_all

            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                await apply_all(client, objects, create_only=False, namespace=None)
            for line in buf.getvalue().splitlines():
                st.note(line)
            web = _first_deployment(objects)
            if web:
                name, want = web
                await wait(lambda: watch.web_ready(name, want), left(), f"deployment {name} to have {want} available pods")
                st.step(f"Deployment {name}: {want}/{want} pods available")
                nodeport = _nodeport(watch)
                if nodeport:
                    url = f"http://127.0.0.1:{nodeport}/"
                    answered = set()
                    for _ in range(12):
                        try:
                            page = await asyncio.to_thread(http_get, url)
                            answered.add(_pod_in_page(page, watch))
                        except OSError as e:
                            problems.append(f"GET {url} failed: {e}")
                            break
                    st.step(f"kube-proxy: {url} answered from {len(answered)} different pods: {', '.join(sorted(a for a in answered if a))}")
                victim = _busiest_node(watch, name, launcher.started_nodes())
                if victim:
                    st.step(f"kill -9 node {victim} (its kubelet and containers die; nobody tells the control plane)")
                    before = {p["metadata"]["name"] for p in watch.pods_of("app", name) if p["spec"].get("nodeName") == victim}
                    launcher.stop_node(victim, hard=True)
                    def evicted() -> bool:
                        return all(
                            p["metadata"].get("deletionTimestamp") for p in watch.inf["Pod"].list() if p["metadata"]["name"] in before
                        )

                    await wait(evicted, left(), f"pods on {victim} to be evicted")
                    st.step(f"node lifecycle controller (taint manager) evicted {len(before)} pod(s) from {victim}: {', '.join(sorted(before))}")
                    st.note("they stay Terminating: nobody can confirm they stopped (the node may still run them); a ReplicaSet does not wait for them, a StatefulSet would")
                    def recovered() -> bool:
                        live = [p for p in watch.pods_of("app", name) if not p["metadata"].get("deletionTimestamp")]
                        return watch.web_ready(name, want) and all(p["spec"].get("nodeName") != victim for p in live)

                    await wait(recovered, left(), f"deployment {name} to recover on the other nodes")
                    st.step(f"the ReplicaSet replaced them and the scheduler placed them elsewhere: {name} is {want}/{want} again")
            summary = _summary(watch)
            print("\nsummary:")
            for line in summary:
                print(f"  {line}")
        except TimeoutError as e:
            problems.append(f"did not converge within {args.timeout:.0f}s: waiting for {e}")
        finally:
            await watch.stop()
            await client.close()
            launcher.stop_all()
    if problems:
        for p in problems:
            print(f"FAILED: {p}", file=sys.stderr)
        return 1
    print(f"\nOK: the cluster converged ({st.n} steps, {time.monotonic() - st.t0:.1f}s)")
    return 0


def _admin(data: Path) -> str:
    from tui.launcher import admin_token

    return admin_token(data) or ""


def _first_deployment(objects: list) -> tuple[str, int] | None:  # type: ignore[type-arg]
    for m in objects:
        if m.obj.get("kind") == "Deployment":
            return m.obj["metadata"]["name"], int((m.obj.get("spec") or {}).get("replicas", 1))
    return None


def _nodeport(watch: Watch) -> int | None:
    for s in watch.inf["Service"].list():
        for p in (s.get("spec") or {}).get("ports") or []:
            if p.get("nodePort"):
                return int(p["nodePort"])
    return None


def _pod_in_page(page: str, watch: Watch) -> str:
    for p in watch.inf["Pod"].list():
        if p["metadata"]["name"] in page:
            return p["metadata"]["name"]
    return ""


def _busiest_node(watch: Watch, app: str, candidates: list[str]) -> str | None:
    counts: dict[str, int] = {}
    for p in watch.pods_of("app", app):
        n = p["spec"].get("nodeName")
        if n in candidates:
            counts[n] = counts.get(n, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def _summary(watch: Watch) -> list[str]:
    from tui import printers

    out = []
    for p in sorted(watch.inf["Pod"].list(), key=lambda p: p["metadata"]["name"]):
        st = p.get("status") or {}
        restarts = sum(int(c.get("restartCount", 0)) for c in st.get("containerStatuses") or [])
        out.append(f"pod {p['metadata']['name']:<28} {printers.pod_status(p)[1]:<18} node {p['spec'].get('nodeName') or '-':<9} restarts {restarts}")
    for j in watch.inf["Job"].list():
        conds = [c["type"] for c in (j.get("status") or {}).get("conditions") or [] if c.get("status") == "True"]
        out.append(f"job {j['metadata']['name']}: {', '.join(conds) or 'running'}")
    return out


def run(args: argparse.Namespace) -> int:
    if not args.headless:
        return fail("error: the interactive demo is `kube-tui`; use --headless for the printed story")
    try:
        return aio.run(run_demo(args))
    except cluster_file.ClusterFileError as e:
        return fail(f"error: {e}")
