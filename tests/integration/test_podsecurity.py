"""Pod Security admission against a real API server: the Kubernetes docs' "Enforce Pod Security Standards with
Namespace Labels" tasks (a namespace labelled restricted refuses the docs' pod in PSA's words, warn labels
warn, invalid labels are refused, a dry-run label warns about the existing pods), the same over the REST API
kubectl uses, and a Deployment whose ReplicaSet cannot create its pods (FailedCreate, as in Kubernetes)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from tests.conftest import running_plane
from tests.helpers import wait_for
from tests.integration import test_rest as base
from tui.commands.label import relabel

pytestmark = pytest.mark.timeout(60)
rest_plane, http = base.rest_plane, base.http

ENFORCE, WARN = "pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/warn"
DOCS_VIOLATIONS = (
    'allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false), '
    'unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"]), '
    'runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
    '"Localhost")')


def ns(name: str, **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def nginx(name: str = "nginx") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}


def deployment(name: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    async with running_plane(tmp_path / "data") as plane:
        c = plane.client("test")
        await c.connect()
        yield c


async def test_the_docs_namespace_labels_task(api: Client) -> None:
    await api.create(ns("example"))
    await api.patch("Namespace", "example", {"metadata": {"labels": {ENFORCE: "restricted"}}}, None)
    with pytest.raises(ApiError) as e:
        await api.create(nginx(), "example")
    assert (e.value.code, e.value.reason) == (403, "Forbidden")
    assert e.value.message == f'pods "nginx" is forbidden: violates PodSecurity "restricted:latest": {DOCS_VIOLATIONS}'

    # an invalid level is refused when the namespace is labelled, and when it is created
    with pytest.raises(ApiError) as e:
        await api.patch("Namespace", "example", {"metadata": {"labels": {ENFORCE: "bogus"}}}, None)
    assert e.value.code == 422 and e.value.message == (
        'Namespace "example" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "bogus": '
        "must be one of privileged, baseline, restricted")
    with pytest.raises(ApiError) as e:
        await api.create(ns("other", **{"pod-security.kubernetes.io/warn-version": "1.30"}))
    assert e.value.code == 422 and 'Invalid value: "1.30": must be "latest" or "v1.x"' in e.value.message

    # baseline enforced, restricted warned: the pod is made, with the warning
    await api.patch("Namespace", "example", {"metadata": {"labels": {ENFORCE: "baseline", WARN: "restricted"}}}, None)
    await api.create(nginx(), "example")
    assert api.last_warnings == [f'would violate PodSecurity "restricted:latest": {DOCS_VIOLATIONS}']
    await api.create(nginx("nginx2"), "example")

    # the docs' dry run: what enforcing restricted would say about the pods there, nothing stored
    await api.patch("Namespace", "example", {"metadata": {"labels": {ENFORCE: "restricted"}}}, None, dry_run=True)
    assert api.last_warnings == [
        'existing pods in namespace "example" violate the new PodSecurity enforce level "restricted:latest"',
        "nginx (and 1 other pod): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile"]
    assert (await api.get("Namespace", "example"))["metadata"]["labels"][ENFORCE] == "baseline"

    # a workload's pod template is warned about, never refused
    await api.create(deployment("web"), "example")
    assert api.last_warnings == [
        f'would violate PodSecurity "restricted:latest": {DOCS_VIOLATIONS}']

    # an update that changes what PSA looks at is checked again; a label change on the pod is not
    await api.patch("Namespace", "example", {"metadata": {"labels": {ENFORCE: "restricted"}}}, None)
    await api.patch("Pod", "nginx", {"metadata": {"labels": {"a": "b"}}}, "example")
    pod = await api.get("Pod", "nginx", "example")
    pod["spec"]["containers"][0]["image"] = "busybox"
    with pytest.raises(ApiError) as e:
        await api.update(pod)
    assert e.value.code == 403 and "violates PodSecurity" in e.value.message


async def test_privileged_namespaces_and_baseline_refusals(api: Client) -> None:
    await api.create(ns("kube-tui-psa", **{ENFORCE: "baseline"}))
    host = nginx("host")
    host["spec"]["hostNetwork"] = True
    host["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    with pytest.raises(ApiError) as e:
        await api.create(host, "kube-tui-psa")
    assert e.value.message == ('pods "host" is forbidden: violates PodSecurity "baseline:latest": host namespaces '
                               '(hostNetwork), privileged (container "nginx" must not set securityContext.privileged=true)')
    await api.create(host, "default")  # no labels: privileged, as a default cluster's
    assert not any("PodSecurity" in w for w in api.last_warnings)


async def test_kube_tui_label_dry_run_prints_the_warnings(api: Client, capsys: pytest.CaptureFixture[str]) -> None:
    await api.create(ns("example"))
    await api.create(nginx(), "example")
    line = await relabel(api, kinds.lookup("ns"), "example", None, "labels", {ENFORCE: "restricted"}, [], True,
                         dry_run=True)
    assert line == "namespace/example labeled (server dry run)"
    assert capsys.readouterr().err.splitlines() == [
        'Warning: existing pods in namespace "example" violate the new PodSecurity enforce level "restricted:latest"',
        "Warning: nginx: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile"]
    assert not (await api.get("Namespace", "example"))["metadata"].get("labels")


async def test_audit_is_logged_as_there_is_no_audit_log(api: Client, caplog: pytest.LogCaptureFixture) -> None:
    await api.create(ns("audited", **{"pod-security.kubernetes.io/audit": "restricted"}))
    with caplog.at_level(logging.WARNING, logger="kube_tui.apiserver"):
        await api.create(nginx(), "audited")
    assert not api.last_warnings  # audit alone neither refuses nor warns
    assert [r.getMessage() for r in caplog.records if "PodSecurity" in r.getMessage()] == [
        f'PodSecurity audit: pods audited/nginx: would violate PodSecurity "restricted:latest": {DOCS_VIOLATIONS}']


async def test_rest_api_answers_as_kube_apiserver(rest_plane: object, http: aiohttp.ClientSession) -> None:
    code, _ = await base.call(http, "POST", "/api/v1/namespaces", ns("example", **{ENFORCE: "restricted"}))
    assert code == 201
    code, status = await base.call(http, "POST", "/api/v1/namespaces/example/pods", nginx())
    assert code == 403 and status["reason"] == "Forbidden" and status["details"] == {"name": "nginx", "kind": "pods"}
    assert status["message"] == f'pods "nginx" is forbidden: violates PodSecurity "restricted:latest": {DOCS_VIOLATIONS}'
    body = json.dumps({"metadata": {"labels": {WARN: "baseline", ENFORCE: "privileged"}}}).encode()
    async with http.patch("/api/v1/namespaces/example", data=body,
                          headers={"Content-Type": "application/merge-patch+json"}) as r:
        assert r.status == 200
    host = nginx()
    host["spec"]["hostPID"] = True
    async with http.post("/api/v1/namespaces/example/pods", data=json.dumps(host).encode(),
                         headers={"Content-Type": "application/json"}) as r:
        assert r.status == 201
        assert '299 - "would violate PodSecurity \\"baseline:latest\\": host namespaces (hostPID)"' in r.headers["Warning"]


@pytest.mark.slow
async def test_a_deployments_pods_are_refused_with_failed_create_events(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", controllers=True) as plane:
        api = plane.client("test")
        await api.connect()
        await api.create(ns("locked", **{ENFORCE: "restricted"}))
        await api.create(deployment("web"), "locked")

        async def failed() -> list[dict]:
            events = (await api.list("Event", "locked"))["items"]
            return [e for e in events if e.get("reason") == "FailedCreate"
                    and (e.get("involvedObject") or {}).get("kind") == "ReplicaSet"]

        event = (await wait_for(failed, 20, what="FailedCreate on the ReplicaSet"))[0]
        rs = event["involvedObject"]["name"]
        assert event["type"] == "Warning"
        assert event["message"].startswith(f'Error creating: pods "{rs}-')
        assert event["message"].endswith(f'is forbidden: violates PodSecurity "restricted:latest": {DOCS_VIOLATIONS}')
        assert (await api.list("Pod", "locked"))["items"] == []

        async def replica_failure() -> dict | None:
            conds = ((await api.get("ReplicaSet", rs, "locked")).get("status") or {}).get("conditions") or []
            return next((c for c in conds if c.get("type") == "ReplicaFailure"), None)

        cond = await wait_for(replica_failure, 20, what="the ReplicaSet's ReplicaFailure condition")
        assert cond["reason"] == "FailedCreate" and "violates PodSecurity" in cond["message"]
