"""ServiceAccounts: every namespace's `default` (made at bootstrap and by the serviceaccounts controller, again
if deleted), and the ServiceAccount admission of pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.errors import ApiError
from tests.conftest import running_plane
from tests.helpers import wait_for
from tui.printers.describers import describe
from tui.printers.table import rows


def _pod(name: str, **spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}}


async def test_pods_run_as_a_serviceaccount_that_exists(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data") as plane:  # no controllers: bootstrap's own accounts
        client = plane.client("test")
        await client.connect()
        try:
            for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
                assert (await client.get("ServiceAccount", "default", ns))["metadata"]["name"] == "default"
            pod = await client.create(_pod("web"))
            assert (pod["spec"]["serviceAccountName"], pod["spec"]["serviceAccount"]) == ("default", "default")
            with pytest.raises(ApiError) as e:
                await client.create(_pod("builder", serviceAccountName="build-robot"))
            assert e.value.code == 403
            assert e.value.message == ('pods "builder" is forbidden: error looking up service account '
                                       'default/build-robot: serviceaccount "build-robot" not found')
            await client.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "build-robot"},
                                 "imagePullSecrets": [{"name": "regcred"}]})
            pod = await client.create(_pod("builder", serviceAccount="build-robot"))  # the deprecated field too
            assert (pod["spec"]["serviceAccountName"], pod["spec"]["serviceAccount"]) == ("build-robot", "build-robot")
            sa = await client.get("ServiceAccount", "build-robot", "default")
            header, cells = rows("ServiceAccount", [sa], now=None)
            assert header == ["NAME", "SECRETS", "AGE"] and cells[0][:2] == ["build-robot", "0"]
            text = describe(sa, [])
            assert text.splitlines()[4:] == ["Image pull secrets:  regcred", "Mountable secrets:   <none>",
                                            "Tokens:              <none>", "Events:              <none>"]
        finally:
            await client.close()


async def test_every_namespace_gets_its_default_serviceaccount_back(tmp_path: Path) -> None:
    async with running_plane(tmp_path / "data", controllers=True) as plane:
        client = plane.client("test")
        await client.connect()

        async def default_of(ns: str) -> dict | None:
            try:
                return await client.get("ServiceAccount", "default", ns)
            except ApiError as e:
                if e.code == 404:
                    return None
                raise

        try:
            await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
            first = await wait_for(lambda: default_of("team-a"), what="team-a's default ServiceAccount")
            await client.delete("ServiceAccount", "default", "team-a")
            again = await wait_for(lambda: default_of("team-a"), what="the default ServiceAccount made again")
            assert again["metadata"]["uid"] != first["metadata"]["uid"]
        finally:
            await client.close()


def test_the_dashboard_lists_serviceaccounts_as_kubectl_does() -> None:
    from tui.app import MORE_VIEWS
    from tui.model import WATCHED_KINDS, ClusterModel
    from tui.views.rows import spec_for

    assert "ServiceAccount" in WATCHED_KINDS and ("sa", "ServiceAccount") in [v[:2] for v in MORE_VIEWS]
    sa = {"metadata": {"name": "robot", "namespace": "default", "creationTimestamp": "2026-11-28T00:00:00Z"},
          "secrets": [{"name": "tok"}]}
    spec = spec_for("ServiceAccount")
    assert [c.label for c in spec.columns] == ["NAMESPACE", "NAME", "SECRETS", "AGE"]
    assert spec.row(sa, ClusterModel(None, watch=False))[:3] == ("default", "robot", "1")
