"""The Kubernetes REST API over HTTPS, so that the real kubectl can talk to kube-tui.

kube-tui's own components speak msgpack over ZeroMQ (DESIGN.md). This is a second door into the same
API server, at kube-apiserver's paths (/api/v1/namespaces/NS/pods/NAME, /apis/apps/v1/...): every
request goes through the same authentication, authorization, admission and store as a ZeroMQ one, in
the same process. It serves what `kubectl get|describe|apply|create|replace|patch|delete|scale|logs|
label|annotate|edit|rollout status` use: discovery (/version, /api, /apis), get, list (as a Table when
kubectl asks for one: the columns of `kube-tui get`), watch (a stream of JSON events), create, update,
patch (strategic, merge, json, server-side apply: fieldmanager.py), delete, the status and scale subresources,
pod logs (-f too), pods/ephemeralcontainers (kubectl debug) and serviceaccounts/token (kubectl create token; the
issuer's /.well-known/openid-configuration and /openid/v1/jwks beside it: serviceaccount.py).

exec (so kubectl cp too) over WebSocket in rest_exec.py, port-forward over SPDY/3.1 in
rest_portforward.py, the metrics API for kubectl top in rest_metrics.py, kubectl auth whoami|can-i in
rest_auth.py; attach (so kubectl run -it) over WebSocket too: the stdio of a container started with
stdin or tty, the output of any other. Not served (a clear error says so): exec and attach over SPDY (kubectl before 1.30),
deletecollection, OpenAPI schemas. A dry run (dryRun=All: kubectl --dry-run=server, kubectl diff) runs admission in
full and writes nothing.

HTTPS (kubectl sends a token only over TLS) with the cluster's own CA (pki.py) and the admin's bearer
token; `kube-tui control` writes the kubeconfig (config.write_kubeconfig).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import ipaddress
import json
import logging
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from control import config, errors
from control.api import horizontalpodautoscaler as hpas
from control.api import kinds, meta, openapi, protobuf
from control.api.fieldsel import parse_field_selector
from control.api.kinds import KindInfo
from control.api.labels import parse_selector
from control.api.patch import apply_patch
from control.api.podlogs import log_pages
from control.apiserver import authz, health, pki, rest_auth, serviceaccount
from control.apiserver.discovery import OTHER_VERSIONS, SCALABLE, group_list, group_versions, resource_list
from control.apiserver.handlers import AGENT, WARNINGS, WRITE_VERBS, set_request_options
from control.apiserver.identity import AUTHENTICATED, User, impersonate
from control.apiserver.watch import decode
from control.errors import ApiError
from control.store import ErrCompacted
from control.version import kubernetes as kubernetes_version
from control.wire import MAX_AGENT, MAX_FRAME

if TYPE_CHECKING:
    from control.apiserver.server import ApiServer
    from control.store import Event

log = logging.getLogger("kube_tui.apiserver.rest")

DEFAULT_LISTEN = config.DEFAULT_REST
# Conversions of a kind to and from an older version it is also served in (discovery.OTHER_VERSIONS)
_TO_OTHER: dict[tuple[str, str], Callable[[dict], dict]] = {(hpas.V1, "HorizontalPodAutoscaler"): hpas.to_v1}
_FROM_OTHER: dict[tuple[str, str], Callable[[dict], dict]] = {(hpas.V1, "HorizontalPodAutoscaler"): hpas.from_v1}
EVICTION_VERSIONS = ("policy/v1", "policy/v1beta1")  # EvictionREST.AcceptsGroupVersion
PATCH_TYPES = {
    "application/strategic-merge-patch+json": "strategic",
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",  # server-side apply (fieldmanager.py)
}
WATCH_TIMEOUT = 1800.0  # seconds a watch stays open without timeoutSeconds (kube-apiserver: 30-60 min)
WATCH_BACKLOG = 10_000  # events waiting for a slow watcher before it is closed, as the apiserver drops one
LOG_POLL = 0.5  # seconds between reads of a followed log, as `kube-tui logs -f`
LOG_STALL = 30.0  # seconds a followed log waits for a client that does not read
FUTURE_RV_WAIT = 3.0  # seconds a watch from a revision not reached yet waits for it


def served(version: str, obj: Any) -> Any:
    """An object as a client of `version` reads it: converted when that is not the kind's stored version, and
    every managedFields entry with a field set, empty where the fields are not tracked (kubectl apply
    --server-side decodes each entry's fieldsV1, and crashed on an entry without one). Stored without it:
    30 bytes less in every write and watch event."""
    if isinstance(obj, dict):
        md = obj.get("metadata")
        entries = md.get("managedFields") if isinstance(md, dict) else None
        if isinstance(entries, list) and any(isinstance(e, dict) and "fieldsV1" not in e for e in entries):
            obj = dict(obj, metadata=dict(md, managedFields=[
                dict(e, fieldsType="FieldsV1", fieldsV1={}) if isinstance(e, dict) and "fieldsV1" not in e else e
                for e in entries]))
        convert = _TO_OTHER.get((version, obj.get("kind", "")))
        if convert is not None:
            return convert(obj)
    return obj


def openapi_root() -> dict:
    """/openapi/v3: where each group version's document is (kubectl's validation and explain look here). As
    kube-apiserver does, each URL carries the hash of the document, so that kubectl keeps it in its cache
    instead of fetching it again on every command."""
    return {"paths": {_gv_path(gv): {"serverRelativeURL": f"/openapi/v3/{_gv_path(gv)}?hash={openapi_document(gv)[1]}"}
                      for gv in group_versions()}}


@functools.cache
def openapi_document(gv: str) -> tuple[bytes, str]:
    """A group version's OpenAPI v3 document as sent, and its hash (kube-apiserver's: SHA-512, upper-case hex)."""
    body = json.dumps(openapi_group_version(gv), separators=(",", ":")).encode()
    return body, hashlib.sha512(body).hexdigest().upper()


def openapi_response(request: web.Request, gv: str) -> web.Response:
    """The document, immutable when asked for by its hash (kube-apiserver's handler3: kubectl's cache keeps it),
    else to be revalidated with its ETag."""
    body, digest = openapi_document(gv)
    headers = {"ETag": f'"{digest}"'}
    if request.query.get("hash") == digest:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = "Thu, 01 Jan 2099 00:00:00 GMT"
    else:
        headers["Cache-Control"] = "no-cache, private"
        if request.headers.get("If-None-Match") == f'"{digest}"':
            return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="application/json", headers=headers)


def openapi_v2(request: web.Request) -> web.Response:
    """/openapi/v2, which kube-apiserver always serves: kubectl falls back to it for a kind /openapi/v3 does not
    list, and without it stops with "failed to download openapi" instead of Kubernetes' own "no matches for
    kind". Its schemas are in /openapi/v3 (kubectl explain reads those), so this document is empty (swagger 2.0, no definitions), in
    protobuf when asked for it (kubectl does), else JSON."""
    if "protobuf" in request.headers.get("Accept", ""):
        swagger = b"2.0"  # openapi_v2.Document: field 1 (swagger), a length-delimited string
        return web.Response(body=b"\x0a" + bytes([len(swagger)]) + swagger,
                            content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    return _json({"swagger": "2.0", "info": {"title": "kube-tui", "version": meta.KUBE_VERSION},
                  "paths": {}, "definitions": {}})


def _gv_path(gv: str) -> str:
    return "api/v1" if gv == "v1" else f"apis/{gv}"


def openapi_group_version(gv: str) -> dict:
    """A group version's OpenAPI v3 document, with only what kubectl reads: the write operations of each
    kind and their parameters. kubectl sees the fieldValidation parameter and leaves validation to the
    server (its admission rejects what is invalid, names the field, and warns about what it ignores)
    instead of validating against schemas kube-tui does not publish."""
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("dryRun", "fieldManager", "fieldValidation")]
    paths: dict[str, Any] = {}
    for info in group_versions().get(gv, []):
        group, _, version = gv.rpartition("/")  # autoscaling/v1 serves the v2-stored HPA: its paths are v1's
        gvk = {"group": group, "version": version, "kind": info.kind}
        scope = f"/{_gv_path(gv)}/namespaces/{{namespace}}/{info.resource}" if info.namespaced else f"/{_gv_path(gv)}/{info.resource}"
        paths[scope] = {"post": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "post", "parameters": params}}
        paths[f"{scope}/{{name}}"] = {
            op: {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": op, "parameters": params}
            for op in ("put", "patch")
        }
    # The kinds' schemas, with Kubernetes' descriptions, for `kubectl explain` (control/api/openapi).
    roots = tuple(sorted(filter(None, (openapi.schema_of(gv, i.kind) for i in group_versions().get(gv, [])))))
    return {"openapi": "3.0.0", "info": {"title": "kube-tui", "version": meta.KUBE_VERSION}, "paths": paths,
            "components": {"schemas": openapi.closure(roots)}}


def to_table(info: KindInfo, objs: list[dict], revision: str = "", headers: bool = True,
             include: str = "Metadata") -> dict:
    """A meta.k8s.io/v1 Table, as kube-apiserver's table convertor makes one for kubectl: the columns of
    `kube-tui get` (the wide ones at priority 1, shown with -o wide), each row with its object: its metadata
    by default (kubectl takes the NAMESPACE column and --show-labels from it), the whole object with
    `includeObject=Object` (kubectl asks for it with --sort-by), none with `None`."""
    from tui.printers.table import COLUMNS, rows  # the same columns as `kube-tui get`

    narrow = len(COLUMNS[info.kind][0])
    header, cells = rows(info.kind, objs, wide=True)
    if include == "Object":
        row_objects: list[dict | None] = [_whole(info, o) for o in objs]
    elif include == "None":
        row_objects = [None] * len(objs)
    else:
        row_objects = [_partial(o) for o in objs]
    table: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": revision},
                             "rows": [{"cells": c, "object": o} if o is not None else {"cells": c}
                                      for c, o in zip(cells, row_objects, strict=True)]}
    if headers:
        table["columnDefinitions"] = [
            {"name": h.title() if h != "NAME" else "Name", "type": "string", "format": "name" if h == "NAME" else "",
             "description": "", "priority": 0 if i < narrow else 1}
            for i, h in enumerate(header)
        ]
    return table


def _whole(info: KindInfo, obj: dict) -> dict:
    return {"apiVersion": info.api_version, "kind": info.kind, **obj}


def include_object(request: web.Request) -> str:
    """The includeObject query parameter of a Table request: None, Metadata (the default) or Object."""
    value = request.query.get("includeObject", "Metadata") or "Metadata"
    if value not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f'includeObject: Unsupported value: "{value}": supported values: "Metadata", '
                                 '"None", "Object"')
    return value


def _partial(obj: dict) -> dict:
    md = obj.get("metadata") or {}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": {k: v for k, v in md.items() if k != "managedFields"}}


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _json(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    headers = {"Warning": ", ".join(_warning(w) for w in warnings)} if warnings else None
    return web.Response(body=json.dumps(body, separators=(",", ":")), status=status,
                        content_type="application/json", headers=headers)


def _warning(text: str) -> str:
    # RFC 7234 warn-code 299, as kube-apiserver sends them (kubectl prints "Warning: <text>"); a header
    # may not hold control characters (a field name in a warning may), so they become spaces
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Target:
    """What a resource path names: /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]."""

    def __init__(self, api_version: str, parts: list[str]) -> None:
        ns: str | None = None
        if parts[0] == "namespaces" and len(parts) == 3 and parts[2] == "status":
            scoped = False  # a Namespace's own status, not a resource in it
        else:
            scoped = parts[0] == "namespaces" and len(parts) >= 3
        if scoped:
            ns, parts = parts[1], parts[2:]
        resource = parts[0]
        info = kinds.KINDS.get(next((i.kind for i in kinds.KINDS.values() if i.resource == resource), ""))
        if info is not None and info.kind in OTHER_VERSIONS.get(api_version, ()):
            self.version = api_version  # an older version of the kind, converted at this door
        elif info is not None:
            self.version = info.api_version
        if info is None or self.version != api_version:
            raise ApiError(404, "NotFound", f'the server could not find the requested resource: no "{resource}" in {api_version}'
                           f" (kube-tui serves {kinds.supported()})")
        self.proxy_path = ""  # after NAME/proxy/: the path a pods/proxy or services/proxy request forwards
        if len(parts) > 3 and parts[2] == "proxy" and info.kind in ("Pod", "Service"):
            self.proxy_path = "/".join(parts[3:])
            parts = parts[:3]
        if len(parts) > 3 or (scoped and not info.namespaced) or (not scoped and info.namespaced and len(parts) > 1):
            # a named namespaced object needs its namespace in the path; a cluster-scoped one has none
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self.info = info
        self.namespace = ns if info.namespaced else None
        self.name = parts[1] if len(parts) > 1 else ""
        self.sub = parts[2] if len(parts) > 2 else ""


class RestApi:
    """The HTTP listener of one ApiServer."""

    def __init__(self, server: ApiServer, listen: str = DEFAULT_LISTEN, data_dir: Path | None = None) -> None:
        self.server = server
        host, _, port = listen.rpartition(":")
        self.host, self.port = (host or "127.0.0.1").strip("[]"), int(port)
        self.data_dir = data_dir
        self._runner: web.AppRunner | None = None
        self._streams: set[asyncio.Task[Any]] = set()
        self.address = ""
        self.endpoint: tuple[str, int] | None = None
        self.ca_pem = b""  # the CA certificate a client verifies this server with (the kubeconfig's)
        self.ca_key = b""  # its key: the CSR signer's (ControlPlane hands it to the controller manager)
        self.stopping = False  # /readyz fails its shutdown check from the start of stop()

    async def start(self) -> None:
        tls, self.ca_pem, self.ca_key = await asyncio.to_thread(pki.server_context, self.data_dir,
                                                  _names_of(self.host, self.server.api.network.kubernetes_ip))
        app = web.Application(client_max_size=MAX_FRAME)
        app.router.add_route("*", "/{path:.*}", self._serve)
        # handler_cancellation: a client that hangs up ends its watch or followed log at once (the writes a
        # request makes are shielded from it in _call)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0,
                                     handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True, ssl_context=tls)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        sockets = getattr(site._server, "sockets", None) or []  # the port the OS chose for port 0
        if sockets:
            self.port = sockets[0].getsockname()[1]
        # a wildcard listen answers on loopback too: that is the address this machine's kubeconfig names
        local = "127.0.0.1" if self.host in ("0.0.0.0", "") else "::1" if self.host == "::" else self.host
        self.address = f"https://[{local}]:{self.port}" if ":" in local else f"https://{local}:{self.port}"
        try:  # the kubernetes Service's endpoint (in-cluster clients): an address, as Endpoints hold
            ip = str(ipaddress.ip_address(local))
        except ValueError:
            ip = socket.getaddrinfo(local, self.port, type=socket.SOCK_STREAM)[0][4][0]  # a name such as localhost
        self.endpoint = (ip, self.port)
        log.info("Kubernetes REST API (for kubectl) on %s", self.address)

    async def stop(self) -> None:
        self.stopping = True
        for t in list(self._streams):
            t.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- one request -------------------------------------------------------------------------------
    async def _serve(self, request: web.Request) -> web.StreamResponse:
        WARNINGS.set([])
        try:
            return await self._route(request)
        except ApiError as e:
            resp = _json(e.status(), e.code)
            retry = (e.details or {}).get("retryAfterSeconds")
            if isinstance(retry, int) and retry > 0:
                resp.headers["Retry-After"] = str(retry)  # as kube-apiserver: client-go waits and tries again
            return resp
        except Exception as e:  # one bad request must never take the server down
            log.exception("REST %s %s", request.method, request.path)
            err = errors.internal(f"{type(e).__name__}: {e}")
            return _json(err.status(), err.code)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        if request.method == "GET":
            if parts and parts[0] in health.ENDPOINTS:  # no credentials needed, as system:public-info-viewer
                status, text = health.answer(parts, {k: request.query.getall(k) for k in request.query},
                                             self.server.api, lambda: self.stopping)
                return web.Response(status=status, text=text, headers={"X-Content-Type-Options": "nosniff"})
            if parts == ["version"]:
                return _json(kubernetes_version())
        user = self._authenticate(request)
        if request.method == "GET":
            if parts == ["api"]:
                return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:{self.port}"}]})
            if parts == ["apis"]:
                return _json(group_list())
            if parts == ["api", "v1"]:
                return _json(resource_list("v1"))
            if len(parts) == 3 and parts[0] == "apis" and f"{parts[1]}/{parts[2]}" in group_versions():
                return _json(resource_list(f"{parts[1]}/{parts[2]}"))
            if parts == [".well-known", "openid-configuration"]:  # the ServiceAccount issuer's discovery
                return _json(self.server.token_issuer.openid_configuration())
            if parts == ["openid", "v1", "jwks"]:
                return _json(self.server.token_issuer.jwks())
            if parts == ["openapi", "v3"]:
                return _json(openapi_root())
            if parts == ["openapi", "v2"]:
                return openapi_v2(request)
            if parts[:2] == ["openapi", "v3"]:  # /openapi/v3/api/v1 or /openapi/v3/apis/GROUP/VERSION
                gv = "v1" if parts[2:] == ["api", "v1"] else "/".join(parts[3:]) if parts[2:3] == ["apis"] else ""
                if gv in group_versions():
                    return openapi_response(request, gv)
        if len(parts) >= 3 and parts[0] == "apis" and f"{parts[1]}/{parts[2]}" in rest_auth.resource_lists():
            return await self._auth(request, user, f"{parts[1]}/{parts[2]}", parts[3:])
        if parts[:3] == ["apis", "metrics.k8s.io", "v1beta1"] and request.method == "GET":
            from control.apiserver import rest_metrics

            if len(parts) == 3:
                return _json(rest_metrics.resource_list())
            return _json(await rest_metrics.serve(parts[3:], lambda verb, body: self._call(verb, body, user, request),
                                                  request.query.get("labelSelector", "")))
        if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
            return await self._resource(request, user, Target("v1", parts[2:]))
        if len(parts) >= 4 and parts[0] == "apis":
            return await self._resource(request, user, Target(f"{parts[1]}/{parts[2]}", parts[3:]))
        raise ApiError(404, "NotFound", "the server could not find the requested resource", {})

    async def _auth(self, request: web.Request, user: str, gv: str, rest: list[str]) -> web.StreamResponse:
        """kubectl auth whoami (SelfSubjectReview), can-i (SelfSubjectAccessReview) and can-i --list
        (SelfSubjectRulesReview): rest_auth.py."""
        if not rest and request.method == "GET":
            return _json(rest_auth.resource_lists()[gv])
        served = {r["name"] for r in rest_auth.resource_lists()[gv]["resources"]}
        if len(rest) != 1 or rest[0] not in served or request.method != "POST":
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        review = await self._body(request)
        if gv == rest_auth.AUTHN:
            review = rest_auth.whoami(user)
            token = self._bearer(request)
            if (token and self.server.token_issuer.is_ours(token) and not isinstance(user, User)
                    and user.startswith("system:serviceaccount:")):
                # the token was checked as this request was authenticated: its uid and extra, as kube-apiserver's
                # (not for a user impersonated with it: kube-apiserver's whoami then shows the impersonated user)
                info = review["status"]["userInfo"]
                details = serviceaccount.user_details(self.server.token_issuer.verify(token))
                review["status"]["userInfo"] = {"username": info["username"], "uid": details["uid"],
                                                "groups": info["groups"], **({"extra": details["extra"]}
                                                                              if "extra" in details else {})}
            return _json(review, 201)
        if rest[0] == "subjectaccessreviews":
            assert self.server.api is not None
            return _json(rest_auth.subject_access_review(user, review, self.server.api), 201)
        if rest[0] == "selfsubjectrulesreviews":
            assert self.server.api is not None
            return _json(rest_auth.rules(user, review, self.server.api), 201)
        assert self.server.api is not None
        return _json(rest_auth.can_i(user, review, self.server.api), 201)

    @staticmethod
    def _bearer(request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return auth[7:].strip() if auth[:7].lower() == "bearer " else None

    def _client_certificate_user(self, request: web.Request) -> str | None:
        """The x509 authenticator: a client certificate the cluster CA signed is user CN in groups O (and
        system:authenticated); None without one. 401 for any other (another CA's, expired, no client auth
        usage, no CN), as kube-apiserver refuses it."""
        tls = request.transport.get_extra_info("ssl_object") if request.transport is not None else None
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        if not der:
            return None
        found = pki.client_identity(der, self.ca_pem)  # per request: a certificate expires (a signature check)
        if isinstance(found, str):
            raise errors.unauthorized(f"the client certificate was refused: {found}")
        name, groups = found
        if name in ("system", "system:apiserver"):  # kube-tui's own identities, which no credential may claim
            raise errors.unauthorized(f'the client certificate names "{name}", a user reserved for the API server')
        return User(name, [*groups, AUTHENTICATED] if AUTHENTICATED not in groups else groups)

    def _authenticate(self, request: web.Request) -> str:
        # kube-apiserver's union of authenticators: the client certificate first, then the bearer token
        user = self._client_certificate_user(request) or self.server.authenticate(self._bearer(request))
        # kubectl --as USER --as-group G: the same impersonation as the ZeroMQ API's (identity.py)
        as_user = request.headers.get("Impersonate-User")
        as_groups = request.headers.getall("Impersonate-Group", [])
        if as_user is None and not as_groups:
            return user
        assert self.server.api is not None
        return impersonate(user, as_user, as_groups, authz.impersonator(user, self.server.api))

    async def _call(self, verb: str, body: dict, user: str, request: web.Request) -> tuple[int, Any]:
        """One verb of the API server, as a ZeroMQ request would run it."""
        api = self.server.api
        assert api is not None
        agent = request.query.get("fieldManager") or request.headers.get("User-Agent", "").partition("/")[0] or "unknown"
        AGENT.set(agent[:MAX_AGENT])
        if "dryRun" in request.query and verb in WRITE_VERBS:
            body["dryRun"] = request.query.getall("dryRun")
        authz.authorize(user, verb, body, api)
        if "fieldValidation" in request.query and verb in ("create", "update", "patch"):
            body["fieldValidation"] = request.query["fieldValidation"]
        set_request_options(verb, body)
        if verb in WRITE_VERBS:  # a client that hangs up must not cut a write short (allocations, retries)
            return await asyncio.shield(api.verbs[verb](body, user))
        return await api.verbs[verb](body, user)

    async def _object(self, request: web.Request, t: Target) -> dict:
        """A create's or update's body: an object of the kind the URL names (kind and apiVersion may be left
        out, as kube-apiserver fills them from the URL)."""
        body = await self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise errors.bad_request("the body must be an object, with metadata an object")
        body.setdefault("kind", t.info.kind)
        body.setdefault("apiVersion", t.version)
        if (body["kind"], body["apiVersion"]) != (t.info.kind, t.version):
            raise errors.bad_request(f"the object is a {body['apiVersion']} {body['kind']}, but the URL names "
                                     f"{t.info.resource} ({t.version} {t.info.kind}): send it to its own URL")
        convert = _FROM_OTHER.get((t.version, t.info.kind))
        return convert(body) if convert is not None else body

    async def _body(self, request: web.Request) -> Any:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "RequestEntityTooLarge",
                           f"Request entity too large: limit is {MAX_FRAME} bytes") from None
        if request.content_type == protobuf.CONTENT_TYPE:  # what kubectl's typed clients send (create, drain)
            return protobuf.decode(raw)
        if request.content_type == "application/apply-patch+yaml":  # YAML, or JSON (what kubectl sends)
            import yaml

            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as e:
                raise errors.bad_request(f"error decoding YAML: {e}") from None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise errors.bad_request(f"the body of the request is not valid JSON: {e}") from None

    async def _resource(self, request: web.Request, user: str, t: Target) -> web.StreamResponse:
        method = request.method
        if t.sub in ("exec", "attach") and t.info.kind == "Pod" and method in ("GET", "POST"):
            from control.apiserver import rest_exec

            assert t.namespace is not None
            self._streaming(True)  # stop() cancels it; it closes its session on the way out
            try:
                return await rest_exec.serve(request, lambda verb, body: self._call(verb, body, user, request),
                                             t.namespace, t.name, attach=t.sub == "attach")
            finally:
                self._streaming(False)
        if t.sub == "proxy" and t.info.kind in ("Pod", "Service") and t.name:
            from control.apiserver import rest_proxy

            assert t.namespace is not None
            verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, "delete")
            attrs = authz.Attributes(verb=verb, resource=t.info.resource, subresource="proxy", name=t.name,
                                     namespace=t.namespace)
            allowed, reason = authz.decide(user, attrs, self.server.api)
            if not allowed:  # system:masters, or a role with pods/proxy or services/proxy (RBAC's edit role)
                raise authz.forbidden(user, attrs, reason)
            rest = t.proxy_path + ("/" if request.path.endswith("/") and t.proxy_path else "")
            return await rest_proxy.serve(request, lambda verb, body: self._call(verb, body, user, request),
                                          t.info.kind, t.namespace, t.name, rest, self.server.api.network)
        if t.sub == "portforward" and t.info.kind == "Pod" and method in ("GET", "POST"):
            from control.apiserver import rest_portforward

            assert t.namespace is not None
            assert self.server.api is not None
            # authorized before the upgrade, as kube-apiserver refuses it (create pods/portforward), not per connection
            authz.authorize(user, "portforward", {"namespace": t.namespace, "name": t.name}, self.server.api)
            self._streaming(True)
            try:
                return await rest_portforward.serve(request, lambda verb, body: self._call(verb, body, user, request),
                                                    t.namespace, t.name)
            finally:
                self._streaming(False)
        if t.sub == "token" and t.info.kind == "ServiceAccount" and t.name:
            if method != "POST":
                raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on serviceaccounts/token: {method}")
            ask = {"kind": "ServiceAccount", "namespace": t.namespace, "name": t.name, "subresource": "token",
                   "object": await self._body(request)}
            code, obj = await self._call("token", ask, user, request)
            return _json(obj, code)
        if t.sub == "eviction" and t.info.kind == "Pod" and t.name:
            if method != "POST":
                raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on pods/eviction: {method}")
            return await self._evict(request, user, t)
        if t.sub and not (t.sub == "status" or (t.sub == "scale" and t.info.kind in SCALABLE)
                          or (t.sub == "approval" and t.info.kind == "CertificateSigningRequest")
                          or (t.sub in ("log", "ephemeralcontainers") and t.info.kind == "Pod")):
            raise ApiError(404, "NotFound", f'the server could not find the requested resource: no subresource "{t.sub}" '
                           f"of {t.info.resource}", {})
        ident = {"kind": t.info.kind, "namespace": t.namespace, "name": t.name}
        if t.sub == "log":
            if method != "GET":
                raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on pods/log: {method}")
            return await self._logs(request, user, t)
        if t.sub == "scale":
            return await self._scale(request, user, t)
        if not t.name:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, user, t)
                return await self._list(request, user, t)
            if method == "POST":
                body = await self._object(request, t)
                code, obj = await self._call("create", {"object": body, "namespace": t.namespace}, user, request)
                return _json(served(t.version, obj), code, WARNINGS.get())
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {t.info.resource}: {method}"
                           + (" (deletecollection: delete the objects one by one)" if method == "DELETE" else ""))
        if method == "GET":
            code, obj = await self._call("get", ident, user, request)
            if wants_table(request):
                return _json(to_table(t.info, [obj], obj["metadata"].get("resourceVersion", ""),
                                      include=include_object(request)))
            return _json(served(t.version, obj), code)
        if method == "PUT":
            body = await self._object(request, t)
            if (body.get("metadata") or {}).get("name") not in (None, t.name):
                raise errors.bad_request(f"the name of the object ({body['metadata']['name']}) does not match the name on "
                                         f"the URL ({t.name})")
            code, obj = await self._call("update", {"object": body, "namespace": t.namespace, "subresource": t.sub or None},
                                         user, request)
            return _json(served(t.version, obj), code, WARNINGS.get())
        if method == "PATCH" and t.version != t.info.api_version:
            # a patch of the older version's fields: applied to the object as that version shows it, converted back
            patch_type = _patch_type(request)
            if patch_type == "apply":
                raise ApiError(415, "UnsupportedMediaType", f"server-side apply of {t.version} {t.info.kind} is not "
                               f"supported by kube-tui: apply it as {t.info.api_version}")
            body = await self._body(request)
            _, cur = await self._call("get", ident, user, request)
            new = _FROM_OTHER[(t.version, t.info.kind)](apply_patch(served(t.version, cur), body, patch_type))
            new.setdefault("metadata", {})["resourceVersion"] = cur["metadata"].get("resourceVersion")
            code, obj = await self._call("update", {"object": new, "namespace": t.namespace, "subresource": t.sub or None},
                                         user, request)
            return _json(served(t.version, obj), code, WARNINGS.get())
        if method == "PATCH":
            patch_type = _patch_type(request)
            body = await self._body(request)
            ask = dict(ident, patch=body, type=patch_type, subresource=t.sub or None)
            if "fieldManager" in request.query:
                ask["fieldManager"] = request.query["fieldManager"]
            if "force" in request.query:
                ask["force"] = _query_bool(request.query, "force")
            code, obj = await self._call("patch", ask, user, request)
            return _json(served(t.version, obj), code, WARNINGS.get())
        if method == "DELETE":
            options = await self._body(request) if request.can_read_body else {}
            options = options if isinstance(options, dict) else {}
            body = dict(ident)
            policy = options.get("propagationPolicy") or request.query.get("propagationPolicy")
            if policy:
                body["propagationPolicy"] = policy
            grace = options.get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
            if grace is not None:
                body["gracePeriodSeconds"] = _int(grace, "gracePeriodSeconds")
            if isinstance(options.get("preconditions"), dict):  # a client's uid / resourceVersion guard
                body["preconditions"] = options["preconditions"]
            if options.get("dryRun"):  # kubectl delete --dry-run=server sends it in the DeleteOptions
                body["dryRun"] = options["dryRun"]
            code, obj = await self._call("delete", body, user, request)
            return _json(served(t.version, obj), code, WARNINGS.get())
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method: {method}")

    async def _list(self, request: web.Request, user: str, t: Target) -> web.StreamResponse:
        q = request.query
        body: dict[str, Any] = {"kind": t.info.kind, "namespace": t.namespace,
                                "labelSelector": q.get("labelSelector", ""), "fieldSelector": q.get("fieldSelector", "")}
        if q.get("limit"):
            body["limit"] = _int(q["limit"], "limit")
        if q.get("continue"):
            body["continue"] = q["continue"]
        _, out = await self._call("list", body, user, request)
        out.pop("revision", None)
        out.pop("seq", None)
        if wants_table(request):
            table = to_table(t.info, out["items"], out["metadata"]["resourceVersion"], include=include_object(request))
            if "continue" in out["metadata"]:
                table["metadata"]["continue"] = out["metadata"]["continue"]
            return _json(table)
        if t.version != t.info.api_version:
            out["items"] = [served(t.version, o) for o in out["items"]]
            out["apiVersion"] = t.version
        return _json(out)

    # -- watch ---------------------------------------------------------------------------------------
    async def _watch(self, request: web.Request, user: str, t: Target) -> web.StreamResponse:
        """A stream of {"type", "object"} lines from resourceVersion on (or every object ADDED, then the changes).

        A watcher that stops reading is closed once WATCH_BACKLOG events wait for it or its timeout
        passes, as kube-apiserver closes an unresponsive one; its reflector relists and watches again."""
        q = request.query
        api = self.server.api
        assert api is not None
        body = {"kind": t.info.kind, "namespace": t.namespace, "labelSelector": q.get("labelSelector", ""),
                "fieldSelector": q.get("fieldSelector", "")}
        authz.authorize(user, "list", dict(body, watch=True), api)
        lsel = parse_selector(body["labelSelector"])
        fsel = parse_field_selector(body["fieldSelector"], t.info.kind)
        try:
            # 0 or none: the server's own limit, as kube-apiserver reads timeoutSeconds
            timeout = min(float(q.get("timeoutSeconds") or WATCH_TIMEOUT) or WATCH_TIMEOUT, WATCH_TIMEOUT)
        except ValueError:
            raise errors.bad_request(f'timeoutSeconds: not a number: "{q.get("timeoutSeconds")}"') from None
        since = _int(q.get("resourceVersion") or "0", "resourceVersion")
        store = self.server.store
        await self._wait_for_revision(since)
        table = wants_table(request)
        prefix = t.info.prefix(t.namespace)

        def matches(obj: dict) -> bool:
            return ((lsel.empty or lsel.matches((obj.get("metadata") or {}).get("labels") or {}))
                    and (fsel.empty or fsel.matches(obj)))

        pending: asyncio.Queue[list[Event]] = asyncio.Queue()
        backlog = [0]

        def on_commit(events: list[Event]) -> None:
            if backlog[0] > WATCH_BACKLOG:
                return  # already closing
            mine = [e for e in events if e.kv.key.startswith(prefix)]
            if mine:
                backlog[0] += len(mine)
                pending.put_nowait(mine)
                if backlog[0] > WATCH_BACKLOG and request.transport is not None:
                    log.warning("closing a watch of %s that fell %d events behind", t.info.resource, backlog[0])
                    request.transport.abort()  # the writer, stuck or not, ends with the connection

        first: list[tuple[str, dict]] = []
        # No await from here to subscribe: no commit can fall between what is read and what is streamed.
        if since == 0:
            kvs, since = store.range(prefix, prefix=True)
            first = [("ADDED", o) for o in (decode(kv.value, kv.mod_revision) for kv in kvs) if matches(o)]
        else:
            try:
                for ev in store.events_since(since, prefix):
                    change = _change(ev, matches)
                    if change:
                        first.append(change)
            except ErrCompacted:
                first = [("ERROR", errors.gone(f"too old resource version: {since} ({store.compact_revision})").status())]
        include = include_object(request) if table else "Metadata"
        unsubscribe = store.subscribe(on_commit)
        resp = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
        deadline = time.monotonic() + timeout
        self._streaming(True)
        try:
            await resp.prepare(request)
            last = store.revision
            batch = first
            while backlog[0] <= WATCH_BACKLOG:
                for typ, obj in batch:
                    line = self._event_line(t.info, typ, served(t.version, obj) if not table else obj, table,
                                            include).encode()
                    await asyncio.wait_for(resp.write(line), max(0.001, deadline - time.monotonic()))
                    if typ == "ERROR":
                        return resp
                events = await asyncio.wait_for(pending.get(), max(0.0, deadline - time.monotonic()))
                backlog[0] -= len(events)
                batch = []
                for ev in events:
                    if ev.kv.mod_revision <= last:
                        continue
                    last = ev.kv.mod_revision
                    change = _change(ev, matches)
                    if change:
                        batch.append(change)
        except (TimeoutError, ConnectionResetError):
            pass  # the watch ends (its time is up, or its client is gone); a reflector starts another
        finally:
            unsubscribe()
            self._streaming(False)
        return resp

    def _streaming(self, on: bool) -> None:
        """Track the current task as a long answer (a watch, a followed log, an exec, a port-forward) that
        stop() cancels, so that its session on a kubelet is closed on the way out."""
        task = asyncio.current_task()
        assert task is not None
        if on:
            self._streams.add(task)
        else:
            self._streams.discard(task)

    async def _wait_for_revision(self, rv: int) -> None:
        """A watch from a revision the store has not reached waits a little for it, then is 504
        "Too large resource version" (as kube-apiserver's watch cache answers), so the client relists
        instead of waiting for events it already missed."""
        store = self.server.store
        if rv <= store.revision:
            return
        reached = asyncio.Event()
        unsubscribe = store.subscribe(lambda _events: reached.set() if store.revision >= rv else None)
        try:
            await asyncio.wait_for(reached.wait(), FUTURE_RV_WAIT)
        except TimeoutError:
            raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {store.revision}",
                           {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                            "retryAfterSeconds": 1}) from None
        finally:
            unsubscribe()

    @staticmethod
    def _event_line(info: KindInfo, typ: str, obj: dict, table: bool, include: str = "Metadata") -> str:
        if table and typ != "ERROR":
            obj = to_table(info, [obj], obj["metadata"].get("resourceVersion", ""), include=include)
        return json.dumps({"type": typ, "object": obj}, separators=(",", ":")) + "\n"

    # -- subresources --------------------------------------------------------------------------------
    async def _logs(self, request: web.Request, user: str, t: Target) -> web.StreamResponse:
        q = request.query
        body: dict[str, Any] = {"namespace": t.namespace, "name": t.name, "previous": _query_bool(q, "previous"),
                                "timestamps": _query_bool(q, "timestamps")}
        if q.get("container"):
            body["container"] = q["container"]
        for param, key in (("tailLines", "tail"), ("limitBytes", "limitBytes"), ("sinceSeconds", "sinceSeconds")):
            if q.get(param):
                body[key] = _int(q[param], param)
        if q.get("sinceTime"):
            body["sinceTime"] = q["sinceTime"]
        limit = body.get("limitBytes")  # the handler cuts an answer, this the whole stream
        sent = 0

        def capped(text: str) -> bytes:
            nonlocal sent
            data = text.encode()
            if limit is not None:
                data = data[:max(0, limit - sent)]
            sent += len(data)
            return data

        async def ask(b: dict) -> dict:
            return (await self._call("logs", b, user, request))[1]  # type: ignore[no-any-return]

        pages = log_pages(ask, body)
        answer = await anext(pages)  # the first page: a pod or container that is not there is an error status
        if not _query_bool(q, "follow") or body["previous"]:
            chunks = [capped(answer.get("text", ""))]
            async for answer in pages:  # a log longer than a page
                if limit is not None and sent >= limit:
                    break
                chunks.append(capped(answer.get("text", "")))
            return web.Response(body=b"".join(chunks), content_type="text/plain")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        self._streaming(True)
        try:
            if answer.get("text"):
                await asyncio.wait_for(resp.write(capped(answer["text"])), LOG_STALL)
            async for answer in pages:
                if limit is not None and sent >= limit:
                    break
                await asyncio.wait_for(resp.write(capped(answer.get("text", ""))), LOG_STALL)
            answer = dict(answer, text="")  # written
            for key in ("tail", "sinceSeconds", "sinceTime"):  # what follows the first answer is newer: all of it
                body.pop(key, None)
            # until the container stops (as the kubelet's follow), the pod is gone or the client leaves: a
            # disconnect cancels this handler (handler_cancellation), and a client that stops reading is
            # dropped after LOG_STALL seconds
            while request.transport is not None and not request.transport.is_closing():
                if answer.get("text"):
                    await asyncio.wait_for(resp.write(capped(answer["text"])), LOG_STALL)
                if (answer.get("running") is False and not answer.get("more")) or (limit is not None and sent >= limit):
                    break  # `running` was asked before the text was read: nothing it wrote is left behind
                if answer.get("offset") is not None:
                    body["offset"] = answer["offset"]
                if not answer.get("more"):  # a page of a burst: the next one at once
                    await asyncio.sleep(LOG_POLL)
                try:
                    _, answer = await self._call("logs", body, user, request)
                except ApiError:
                    break  # the pod is gone: the log ends, as kubectl logs -f ends
        except (TimeoutError, ConnectionResetError):
            pass
        finally:
            self._streaming(False)
        return resp

    async def _evict(self, request: web.Request, user: str, t: Target) -> web.StreamResponse:
        """POST pods/NAME/eviction: a policy/v1 (or v1beta1) Eviction naming the pod, JSON or protobuf (what
        kubectl drain sends); kind and apiVersion may be left out, as the URL says what it is."""
        body = await self._body(request)
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise errors.bad_request("the body must be an object, with metadata an object")
        kind, gv = body.get("kind") or "Eviction", body.get("apiVersion") or "policy/v1"
        if kind != "Eviction" or gv not in EVICTION_VERSIONS:
            raise errors.bad_request(f"not a Eviction object: the body is a {gv} {kind}, pods/eviction takes a "
                                     "policy/v1 Eviction")
        md = body.get("metadata") or {}
        if md.get("name") != t.name:
            raise errors.bad_request("name in URL does not match name in Eviction object")
        if md.get("namespace") and md["namespace"] != t.namespace:
            raise errors.bad_request(f"the namespace of the provided object ({md['namespace']}) does not match the "
                                     f"namespace sent on the request ({t.namespace})")
        ask: dict[str, Any] = {"kind": "Pod", "namespace": t.namespace, "name": t.name}
        if body.get("deleteOptions") is not None:
            ask["deleteOptions"] = body["deleteOptions"]
        code, out = await self._call("evict", ask, user, request)
        return _json(out, code, WARNINGS.get())

    async def _scale(self, request: web.Request, user: str, t: Target) -> web.StreamResponse:
        """The autoscaling/v1 Scale of a Deployment, ReplicaSet or StatefulSet (what kubectl scale reads and patches)."""
        ident = {"kind": t.info.kind, "namespace": t.namespace, "name": t.name}
        _, obj = await self._call("get", ident, user, request)
        scale = _scale_of(obj)
        if request.method == "GET":
            return _json(scale)
        if request.method == "PUT":
            new = await self._body(request)
        elif request.method == "PATCH":
            patch_type = _patch_type(request)
            if patch_type == "apply":
                raise ApiError(415, "UnsupportedMediaType", "server-side apply of a scale subresource is not "
                               f"supported by kube-tui: apply the {t.info.kind} with its spec.replicas")
            new = apply_patch(scale, await self._body(request), patch_type)
        else:
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on a scale: {request.method}")
        replicas = ((new if isinstance(new, dict) else {}).get("spec") or {}).get("replicas")
        want_rv = ((new if isinstance(new, dict) else {}).get("metadata") or {}).get("resourceVersion")
        patch: dict[str, Any] = {"spec": {"replicas": replicas}}
        if want_rv:
            patch["metadata"] = {"resourceVersion": want_rv}
        _, out = await self._call("patch", dict(ident, patch=patch, type="merge", subresource="scale"), user, request)
        return _json(_scale_of(out), 200, WARNINGS.get())


def _int(value: Any, name: str) -> int:
    """A whole number from a query or an option, or a 400 naming the parameter."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    raise errors.bad_request(f'{name}: not a whole number: "{value}"')


def _names_of(host: str, kubernetes_ip: str) -> list[str]:
    """The names and addresses the serving certificate must carry for a listen host: the host itself, or
    for a wildcard this machine's name and addresses (clients elsewhere reach it by those); and, as
    kube-apiserver's, the `kubernetes` Service's ClusterIP and names (clients in pods reach it by those)."""
    in_cluster = [kubernetes_ip, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                  "kubernetes.default.svc.cluster.local"]
    if host not in ("0.0.0.0", "::", ""):
        return [host, *in_cluster]
    import socket

    names = [socket.gethostname()]
    with contextlib.suppress(OSError):
        names += sorted({str(a[4][0]) for a in socket.getaddrinfo(socket.gethostname(), None)})
    return [*names, "::1", *in_cluster]


def _patch_type(request: web.Request) -> str:
    """The patch type a PATCH's Content-Type names, or 415."""
    ctype = request.content_type
    if ctype not in PATCH_TYPES:
        raise ApiError(415, "UnsupportedMediaType", f'the patch type "{ctype}" is not supported by kube-tui '
                       f'(supported: {", ".join(PATCH_TYPES)})')
    return PATCH_TYPES[ctype]


def _change(ev: Event, matches: Callable[[dict], bool]) -> tuple[str, dict] | None:
    """One store event as a watch event of a selective watch: an object that starts or stops matching
    is ADDED or DELETED, as kube-apiserver's watch cache filters."""
    new = decode(ev.kv.value, ev.kv.mod_revision) if ev.type == "PUT" else None
    old = decode(ev.prev_kv.value, ev.prev_kv.mod_revision) if ev.prev_kv is not None else None
    was = old is not None and matches(old)
    if new is not None and matches(new):
        return ("MODIFIED" if was else "ADDED"), new
    if was:
        assert old is not None
        # the object as the watcher last saw it, at the event's revision (kube-apiserver's cacheWatcher)
        old["metadata"]["resourceVersion"] = str(ev.kv.mod_revision)
        return "DELETED", old
    return None


def _scale_of(obj: dict) -> dict:
    from control.api.labels import format_label_selector

    md = obj["metadata"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md},
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": status.get("replicas", 0),
                       "selector": format_label_selector(spec.get("selector") or {})}}


__all__ = ["DEFAULT_LISTEN", "RestApi", "resource_list", "to_table"]


def _query_bool(q: Any, name: str) -> bool:
    """A boolean query parameter as kube-apiserver converts it (Convert_Slice_string_To_bool): present and not
    "0" or "false" (any case) is true."""
    if name not in q:
        return False
    return q.get(name, "").lower() not in ("0", "false")
