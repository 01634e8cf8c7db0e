"""fieldValidation (kubectl's --validate): a field Kubernetes' schema does not have is refused (Strict, kubectl's
default), a warning (Warn, the server's default) or dropped from the warnings (Ignore); and apply --watch."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from control.apiserver.handlers import field_validation_of
from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from tests.helpers import kube_tui_env, wait_for
from tests.integration.test_imperative import cli

TYPO = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "typo"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "imagePullPolcy": "Always",
                                 "ports": [{"containerPort": 80, "protocl": "TCP"}]}]}}
STRICT_MESSAGE = ('Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
                  'unknown field "spec.containers[0].imagePullPolcy", '
                  'unknown field "spec.containers[0].ports[0].protocl"')


async def test_strict_refuses_unknown_fields_warn_drops_them_with_a_warning_ignore_silently(
        plane: ControlPlane, client: Client) -> None:
    assert plane.store is not None
    rev = plane.store.revision
    with pytest.raises(ApiError) as e:
        await client.create(TYPO, field_validation="Strict")
    assert (e.value.code, e.value.reason, e.value.message) == (400, "BadRequest", STRICT_MESSAGE)
    assert plane.store.revision == rev  # nothing stored
    with pytest.raises(ApiError, match='Invalid fieldValidation value "Loose"'):
        await client.create(TYPO, field_validation="Loose")

    stored = await client.create(TYPO)  # the server's default: Warn
    assert 'unknown field "spec.containers[0].imagePullPolcy"' in client.last_warnings
    # dropped, as kube-apiserver's decoder drops it: not stored, not copied into what is made from it
    assert "imagePullPolcy" not in stored["spec"]["containers"][0]
    assert "protocl" not in stored["spec"]["containers"][0]["ports"][0]
    assert "imagePullPolcy" not in (await client.get("Pod", "typo"))["spec"]["containers"][0]
    # A strict change of something else is fine: the unknown fields were there before it.
    await client.patch("Pod", "typo", {"metadata": {"labels": {"a": "b"}}}, field_validation="Strict")
    with pytest.raises(ApiError, match=r'strict decoding error: unknown field "metadata.labelz"'):
        await client.patch("Pod", "typo", {"metadata": {"labelz": {"a": "b"}}}, field_validation="Strict")
    await client.create({**TYPO, "metadata": {"name": "typo2"}}, field_validation="Ignore")
    assert not [w for w in client.last_warnings if w.startswith("unknown field")]


async def test_kube_tui_apply_is_strict_by_default_like_kubectl(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    f = tmp_path / "typo.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: typo\nspec:\n  containers:\n  - name: c\n    image: nginx\n"
                 "    imagePullPolcy: Always\n    ports:\n    - containerPort: 80\n      protocl: TCP\n")
    code, out, err = await cli(plane, tmp_path, "apply", "-f", str(f))
    assert code == 1 and out == ""
    assert f'Error from server (BadRequest): error when creating "{f}": {STRICT_MESSAGE}' in err  # kubectl: it was not there
    code, out, err = await cli(plane, tmp_path, "apply", "-f", str(f), "--validate=warn")
    assert (code, out) == (0, "pod/typo created\n")
    assert 'Warning: unknown field "spec.containers[0].imagePullPolcy"' in err


async def test_apply_watch_applies_again_on_every_save(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    assert plane.server is not None and plane.credentials is not None
    d = tmp_path / "m"
    d.mkdir()
    f = d / "cm.yaml"
    f.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: watched\n  labels: {round: '1'}\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", "apply", "--server", plane.server.address, "--token", plane.credentials.admin,
        "-f", str(d), "--watch", env=kube_tui_env(tmp_path), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
    try:
        async def label() -> str | None:
            try:
                return (await client.get("Namespace", "watched", None))["metadata"]["labels"].get("round")
            except ApiError:
                return None

        assert await wait_for(label, timeout=20, what="the first apply") == "1"
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 20)
        assert b"watching" in line and b"for changes" in line
        f.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: watched\n  labels: {round: '2'}\n")
        await wait_for(lambda: _is(label, "2"), timeout=20, what="the apply after the save")
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 20)


async def _is(fn: object, want: str) -> bool:
    return await fn() == want  # type: ignore[operator]


async def test_kubectl_field_validation_strict_over_https(tmp_path: Path) -> None:
    import ssl

    import aiohttp

    from tests.conftest import running_plane

    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0") as plane:
        assert plane.rest is not None and plane.credentials is not None
        tls = ssl.create_default_context(cadata=plane.rest.ca_pem.decode())
        async with aiohttp.ClientSession(base_url=plane.rest.address, connector=aiohttp.TCPConnector(ssl=tls),
                                         headers={"Authorization": f"Bearer {plane.credentials.admin}"}) as http:
            # What kubectl apply sends by default.
            async with http.post("/api/v1/namespaces/default/pods?fieldManager=kubectl-client-side-apply"
                                 "&fieldValidation=Strict", json=TYPO) as r:
                status = await r.json()
                assert r.status == 400
                assert (status["reason"], status["message"]) == ("BadRequest", STRICT_MESSAGE)
            async with http.post("/api/v1/namespaces/default/pods?fieldValidation=Warn", json=TYPO) as r:
                assert r.status == 201
                assert '299 - "unknown field \\"spec.containers[0].imagePullPolcy\\""' in r.headers.get("Warning", "")


def test_a_status_cause_names_the_field_apart_as_kube_apiserver_does() -> None:
    from control.errors import FieldError, invalid

    err = invalid("Pod", "nginx", [FieldError("spec", "Forbidden", "pod updates may not change fields")])
    assert err.message == 'Pod "nginx" is invalid: spec: Forbidden: pod updates may not change fields'
    # kubectl prints "<field>: <message>" for each cause: the message must not carry the field again.
    assert err.details["causes"] == [{"field": "spec", "reason": "FieldValueForbidden",
                                      "message": "Forbidden: pod updates may not change fields"}]


async def test_the_kubernetes_service_leads_to_the_rest_api(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import running_plane

    async with running_plane(tmp_path / "other", rest_listen="localhost:0") as plane:  # a name: an address is stored
        assert plane.rest is not None and plane.rest.endpoint is not None
        assert plane.rest.endpoint[0] in ("127.0.0.1", "::1")
    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0") as plane:
        assert plane.rest is not None and plane.rest.endpoint is not None
        c = plane.client("t")
        await c.connect()
        try:
            ep = await c.get("Endpoints", "kubernetes", "default")
            assert ep["subsets"] == [{"addresses": [{"ip": "127.0.0.1"}],
                                      "ports": [{"name": "https", "port": plane.rest.endpoint[1], "protocol": "TCP"}]}]
        finally:
            await c.close()
    # Served no more: the endpoints go, so the ClusterIP refuses at once instead of leading to a closed port.
    async with running_plane(tmp_path / "data") as plane:
        c = plane.client("t")
        await c.connect()
        try:
            with pytest.raises(ApiError, match="not found"):
                await c.get("Endpoints", "kubernetes", "default")
        finally:
            await c.close()
    assert "could not record the kubernetes Service's endpoints" not in caplog.text


def test_a_key_given_twice_in_a_manifest_is_refused_with_both_lines() -> None:
    from tui import manifests

    text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n  - name: c\n    image: nginx\n    image: busybox\n"
    with pytest.raises(manifests.ManifestError) as e:
        manifests.parse(text, "dup.yaml")
    assert str(e.value) == ('error: error parsing dup.yaml: line 9, column 5: key "image" already set in map '
                            "(first at line 8): remove one of them")
    assert len(manifests.parse(text.replace("    image: busybox\n", ""), "ok.yaml")) == 1


def test_strict_ignores_an_empty_value_and_fields_a_list_insert_moved() -> None:
    import copy

    from control.api.warnings import collect
    from control.apiserver.handlers import FIELD_VALIDATION, checked_fields

    assert field_validation_of("create", {"fieldValidation": ""}) == "Warn"
    old = copy.deepcopy(TYPO)  # stored with its unknown fields before kube-tui dropped them (an older store)
    new = copy.deepcopy(TYPO)
    new["spec"]["containers"].insert(0, {"name": "first", "image": "busybox"})  # moves the typo to containers[1]
    token = FIELD_VALIDATION.set("Strict")
    try:
        assert checked_fields("Pod", "v1", new, old, collect(new))  # warned about, not refused: not the request's
        new["spec"]["containers"][0]["nmae"] = "x"  # one the request does add
        with pytest.raises(ApiError, match=r'strict decoding error: unknown field "spec.containers\[0\].nmae"'):
            checked_fields("Pod", "v1", new, old, collect(new))
    finally:
        FIELD_VALIDATION.reset(token)


def test_validate_takes_kubectls_spellings() -> None:
    from tui.cli import parse_args

    assert parse_args(["apply", "-f", "x.yaml", "--validate"]).validate == "strict"
    assert parse_args(["apply", "-f", "x.yaml", "--validate=Warn"]).validate == "warn"
    assert parse_args(["create", "-f", "x.yaml", "--validate=false"]).validate == "false"
