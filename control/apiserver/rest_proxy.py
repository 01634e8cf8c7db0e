"""The pods/proxy and services/proxy subresources: `kubectl proxy`, then
http://localhost:8001/api/v1/namespaces/NS/pods/NAME[:PORT]/proxy/PATH (or services/NAME[:PORT]/proxy/PATH),
as the Kubernetes Basics tutorial reaches an app. The API server forwards the HTTP request to the pod's IP
(a Service's: to one of its ready endpoints) and gives back the answer; pod IPs are loopback addresses on
this machine, so it reaches them itself where kube-apiserver goes through the node.

NAME may be `NAME`, `NAME:PORT` or `SCHEME:NAME:PORT`; PORT a number or a port's name (a container port's
for a pod, the Service port's for a Service), as kube-apiserver's ResourceLocation reads it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from control.apiserver.ranges import ClusterNetwork
from control.errors import ApiError

Call = Callable[[str, dict], Awaitable[tuple[int, Any]]]

# Headers that belong to one connection, not to the request (RFC 9110 7.6.1), and the caller's credential.
_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                  "transfer-encoding", "upgrade", "host", "authorization", "content-length"))
TIMEOUT = 30.0


def _split(name: str) -> tuple[str, str, str]:
    """`[scheme:]name[:port]` -> (scheme, name, port)."""
    parts = name.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return "", name, ""


def _proxyable(ip: str, network: ClusterNetwork) -> bool:
    """Only pod addresses (kube-apiserver's IsProxyableIP): a pod's status is written by its node, which must
    not be able to point an admin's request at any other service on this machine."""
    return network.is_pod_ip(ip)


def _unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)


async def _pod_address(call: Call, namespace: str, name: str, port: str, network: ClusterNetwork) -> tuple[str, int]:
    _, pod = await call("get", {"kind": "Pod", "namespace": namespace, "name": name})
    ip = (pod.get("status") or {}).get("podIP")
    if not ip:
        raise _unavailable(f'error trying to reach service: pod "{name}" has no IP yet')
    if not _proxyable(ip, network):
        raise ApiError(400, "BadRequest", f"address not allowed: pod {namespace}/{name} reports IP {ip}, "
                       "outside the cluster's pod range")
    if not port:  # as ResourceLocation: the first declared container port, else 80
        declared = [p.get("containerPort") for c in (pod.get("spec") or {}).get("containers") or []
                    for p in c.get("ports") or [] if isinstance(p.get("containerPort"), int)]
        return ip, declared[0] if declared else 80
    if port.isdigit():
        return ip, int(port)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == port:
                return ip, int(p["containerPort"])
    raise ApiError(400, "BadRequest", f'no such port "{port}" in pod {namespace}/{name}')


async def _service_address(call: Call, namespace: str, name: str, port: str, network: ClusterNetwork) -> tuple[str, int]:
    _, svc = await call("get", {"kind": "Service", "namespace": namespace, "name": name})
    ports = (svc.get("spec") or {}).get("ports") or []
    chosen = next((p for p in ports if port and (p.get("name") == port or str(p.get("port")) == port)), None) \
        if port else (ports[0] if len(ports) == 1 else next((p for p in ports if not p.get("name")), None))
    if chosen is None:
        raise _unavailable(f'no service port "{port}" found for service "{name}"')
    try:
        _, ep = await call("get", {"kind": "Endpoints", "namespace": namespace, "name": name})
    except ApiError:
        ep = {}
    want = chosen.get("name") or ""
    choices: list[tuple[str, int]] = []
    for subset in ep.get("subsets") or []:
        target = next((p.get("port") for p in subset.get("ports") or [] if (p.get("name") or "") == want), None)
        if target is None:
            continue
        choices += [(a["ip"], int(target)) for a in subset.get("addresses") or [] if a.get("ip") and _proxyable(a["ip"], network)]
    if not choices:
        raise _unavailable(f'no endpoints available for service "{name}"')
    return random.choice(choices)


async def serve(request: web.Request, call: Call, kind: str, namespace: str, name: str, rest: str,
                network: ClusterNetwork) -> web.Response:
    """Forward one request to the pod or Service `name` names; `rest` is the path after /proxy."""
    scheme, target, port = _split(name)
    if scheme not in ("", "http"):
        raise ApiError(400, "BadRequest", f'kube-tui proxies plain HTTP only, not "{scheme}"')
    if kind == "Pod":
        ip, number = await _pod_address(call, namespace, target, port, network)
    else:
        ip, number = await _service_address(call, namespace, target, port, network)
    url = f"http://{ip}:{number}/{rest}"
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
    body = await request.read()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT), auto_decompress=False) as s, \
                s.request(request.method, url, params=request.query, headers=headers, data=body or None,
                          allow_redirects=False) as r:
            data = await r.read()
            out_headers = CIMultiDict((k, v) for k, v in r.headers.items() if k.lower() not in _HOP)  # Set-Cookie x2
            return web.Response(status=r.status, body=data, headers=out_headers)
    except (aiohttp.ClientError, TimeoutError, OSError) as e:
        raise _unavailable(f"error trying to reach service: {e or type(e).__name__}") from None
