"""The control plane in one process: the store, the API server, and (by default) scheduler and controllers."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from control import gcpolicy
from control.apiserver.auth import Credentials
from control.apiserver.server import ApiServer
from control.apiserver.serviceaccount import TokenIssuer
from control.client import Client
from control.curve import load_or_create_server_keys
from control.faults import Faults
from control.store import Store
from control.timings import Timings

log = logging.getLogger("kube_tui.control")


def is_loopback(address: str) -> bool:
    if address.startswith("ipc://") or address.startswith("inproc://"):
        return True
    host = address.removeprefix("tcp://").rpartition(":")[0].strip("[]")
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tune_gc() -> None:
    """For a process that is a control plane: call once it has loaded the store (see control.gcpolicy)."""
    gcpolicy.install()


@dataclass
class ControlPlane:
    data_dir: Path | None
    listen: str = "tcp://127.0.0.1:7070"
    scheduler: bool = True
    scheduler_config: Any = None  # control.scheduler.config.SchedulerConfig: profiles (None: the default one)
    controllers: bool = True
    faults: Faults | None = None
    bookmark_interval: float = 1.0
    timings: Timings = field(default_factory=Timings)
    fsync: bool = True
    curve: bool = False  # encrypt both sockets with CurveZMQ (required off loopback unless --insecure)
    watch_auth: bool = True  # authorize watch subscriptions by the subscriber's identity
    network: Any = None  # control.apiserver.ranges.Requested (None: the KUBE_TUI_* variables, else chosen)
    rest_listen: str | None = None  # HOST:PORT of the Kubernetes REST API (HTTPS) for kubectl (apiserver/rest.py)
    store: Store | None = None
    server: ApiServer | None = None
    rest: Any = None  # control.apiserver.rest.RestApi, when rest_listen is set
    rest_error: str = ""  # why it is not served, when rest_listen is set and rest is None
    ingress_listen: str | None = None  # HOST:PORT of the ingress controller's HTTP listener (ingress_controller.py)
    ingress: Any = None  # control.ingress_controller.IngressController, when ingress_listen is set
    ingress_error: str = ""  # why it does not listen, when ingress_listen is set and ingress is None
    credentials: Credentials | None = None
    _claims: list[Any] = field(default_factory=list)  # sockets marking the cluster's ranges in use (ranges.claim)
    _components: list[asyncio.Task[Any]] = field(default_factory=list)
    _clients: list[Client] = field(default_factory=list)

    async def start(self) -> None:
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.credentials = Credentials.load(self.data_dir)
        curve_keys = load_or_create_server_keys(self.data_dir) if self.curve else None
        self.store = Store(self.data_dir, fsync=self.fsync)
        await self.store.open()
        self.server = ApiServer(
            self.store,
            self.listen,
            credentials=self.credentials,
            token_issuer=TokenIssuer.load(self.data_dir),
            bookmark_interval=self.bookmark_interval,
            faults=self.faults,
            event_ttl=self.timings.event_ttl,
            timings=self.timings.to_dict(),
            curve_keys=curve_keys,
            watch_auth=self.watch_auth,
            network=self.network,
        )
        try:
            await self.server.start()
        except BaseException:
            await self.store.close()
            raise
        if self.rest_listen:
            from control.apiserver.rest import RestApi  # aiohttp: imported only where kubectl is served

            self.rest = RestApi(self.server, self.rest_listen, self.data_dir)
            try:
                await self.rest.start()
            except OSError as e:  # an extra door: the cluster runs without it (a port taken, say)
                self.rest, self.rest_error = None, f"{self.rest_listen}: {e.strerror or e}"
                log.warning("not serving the Kubernetes REST API for kubectl on %s", self.rest_error)
            except BaseException:
                self.rest = None
                await self.server.stop()
                await self.store.close()
                raise
        assert self.server.api is not None
        from control.apiserver import ranges

        self._claims = ranges.claim(self.server.api.network)
        from control.apiserver.handlers import AGENT, WARNINGS

        token, agent = WARNINGS.set([]), AGENT.set("kube-apiserver")  # a write of the server's own, as in bootstrap
        self.server.api.rest_address = self.rest.address if self.rest is not None else ""
        from control.apiserver import pki

        # what pods' kube-api-access volumes trust (kube-root-ca.crt): the CA the REST API is served with
        ca_pem = self.rest.ca_pem if self.rest is not None else pki.root_ca(self.data_dir)
        self.server.api.root_ca = ca_pem.decode()
        try:
            await self.server.api.reconcile_apiserver_endpoints(self.rest.endpoint if self.rest is not None else None)
        except Exception:  # the cluster runs without it: only the kubernetes Service's ClusterIP leads nowhere
            log.exception("could not record the kubernetes Service's endpoints")
        finally:
            WARNINGS.reset(token)
            AGENT.reset(agent)
        if self.ingress_listen:
            await self._start_ingress(self.ingress_listen)
        if self.scheduler:
            profiles = self.scheduler_config.profiles if self.scheduler_config is not None else []
            self.server.api.scheduler_profiles = [p.scheduler_name for p in profiles] or ["default-scheduler"]
            self._spawn("scheduler", self._run_scheduler)
        if self.controllers:
            self._spawn("controller-manager", self._run_controllers)

    async def _start_ingress(self, listen: str) -> None:
        """The ingress controller, listening at once (so its address can be printed); a taken port leaves the
        cluster without it, as the REST API's does."""
        from control.ingress_controller import IngressController

        controller = IngressController(self.client("ingress-controller"), listen)
        try:
            await controller.bind()
        except (OSError, ValueError) as e:
            self.ingress_error = f"{listen}: {getattr(e, 'strerror', None) or e}"
            log.warning("not serving Ingresses on %s", self.ingress_error)
            return
        await controller.start()
        self.ingress = controller

    def client(self, identity: str) -> Client:
        assert self.server is not None and self.credentials is not None
        c = Client(self.server.address, token=self.credentials.admin, identity=identity, server_key=self.server.server_key)
        self._clients.append(c)
        return c

    def _spawn(self, name: str, fn: Callable[[Client], Awaitable[None]]) -> None:
        async def run() -> None:
            client = self.client(name)
            try:
                await fn(client)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped with an error", name)

        self._components.append(asyncio.create_task(run(), name=name))

    async def _run_scheduler(self, client: Client) -> None:
        from control.scheduler.scheduler import run_scheduler

        await run_scheduler(client, timings=self.timings, config=self.scheduler_config)

    async def _run_controllers(self, client: Client) -> None:
        from control.apiserver import pki
        from control.controllers.manager import run_controller_manager

        # the CSR signer signs with the CA the REST API trusts client certificates from (kept in this process)
        ca = (self.rest.ca_pem, self.rest.ca_key) if self.rest is not None else pki.stored_signing_ca(self.data_dir)
        await run_controller_manager(client, timings=self.timings, signing_ca=ca)

    async def stop(self) -> None:
        if self.ingress is not None:
            await self.ingress.stop()
        for t in self._components:
            t.cancel()
        await asyncio.gather(*self._components, return_exceptions=True)
        for c in self._clients:
            await c.close()
        if self.rest is not None:
            await self.rest.stop()
        if self.server is not None:
            await self.server.stop()
        if self.store is not None:
            await self.store.close()
        for s in self._claims:
            s.close()
        self._claims = []

    def join_command(self, node_name: str = "node-1") -> str:
        assert self.server is not None and self.credentials is not None
        key = f" --server-key {self.server.server_key}" if self.server.server_key else ""
        return f"kube-tui node --server {self.server.address}{key} --token {self.credentials.first_join_token()} --name {node_name}"
