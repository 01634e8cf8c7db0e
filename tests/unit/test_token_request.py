"""ServiceAccount tokens (control/apiserver/serviceaccount.py): TokenRequest validation, the JWT's claims and
signature, the authenticator's refusals, ServiceAccount admission's kube-api-access volume, the kubelet's token
refresh, and `kube-tui create token`'s flags."""

from __future__ import annotations

import argparse
import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from control.apiserver import serviceaccount as sa_tokens
from control.apiserver.rest_auth import user_info
from control.apiserver.serviceaccount import TokenError, TokenIssuer, should_automount, token_request
from control.errors import ApiError
from nodes.token_manager import TokenCache
from tui.commands.create_token import request_for

NOW = 1_800_000_000.0


def _obj(kind: str, name: str, uid: str, ns: str = "default", **extra: Any) -> dict:
    return {"kind": kind, "metadata": {"name": name, "namespace": ns, "uid": uid}, **extra}


class Objects:
    """A stand-in for the store: (kind, namespace, name) -> object."""

    def __init__(self, *objs: dict) -> None:
        self.objs = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs}

    def __call__(self, kind: str, ns: str, name: str) -> dict | None:
        return self.objs.get((kind, ns, name))


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer.load(None)


def _claims_of(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _world() -> Objects:
    return Objects(_obj("ServiceAccount", "default", "sa-1"),
                   _obj("Pod", "web", "pod-1", spec={"serviceAccountName": "default", "nodeName": "n1"}),
                   _obj("Node", "n1", "node-1", ns=""), _obj("Secret", "s", "secret-1"))


# -- TokenRequest ----------------------------------------------------------------------------------------

def test_a_token_request_is_validated_as_kube_apiserver_validates_it(issuer: TokenIssuer) -> None:
    world = _world()
    for seconds, why in ((300, "may not specify a duration less than 10 minutes"),
                         ((1 << 32) + 1, "may not specify a duration larger than 2^32 seconds")):
        with pytest.raises(ApiError) as e:
            token_request(issuer, "default", "default", {"spec": {"expirationSeconds": seconds}}, world)
        assert e.value.code == 422
        assert e.value.message == (f'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: '
                                   f"Invalid value: {seconds}: {why}")
    with pytest.raises(ApiError) as e:
        token_request(issuer, "default", "nope", {}, world)
    assert (e.value.code, e.value.message) == (404, 'serviceaccounts "nope" not found')
    with pytest.raises(ApiError) as e:
        token_request(issuer, "default", "default", {"spec": {"boundObjectRef": {"kind": "Node", "apiVersion": "v1",
                                                                                  "name": "n1"}}}, world)
    assert (e.value.code, e.value.message) == (400, "cannot bind token to object of type /v1, Kind=Node")
    with pytest.raises(ApiError) as e:
        token_request(issuer, "default", "default", {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                                                  "name": "web", "uid": "old"}}}, world)
    assert e.value.code == 409 and "the UID in the bound object reference (old) does not match" in e.value.message
    other = Objects(*world.objs.values(), _obj("ServiceAccount", "robot", "sa-2"))
    with pytest.raises(ApiError) as e:
        token_request(issuer, "default", "robot", {"spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                                                "name": "web"}}}, other)
    assert e.value.message == ('cannot bind token for serviceaccount "robot" to pod running with different '
                               "serviceaccount name.")


def test_a_token_carries_kubernetes_claims_and_defaults_to_an_hour_for_the_api(issuer: TokenIssuer) -> None:
    answer = token_request(issuer, "default", "default", None, _world(), now=NOW)
    assert answer["spec"] == {"audiences": [sa_tokens.ISSUER], "expirationSeconds": 3600, "boundObjectRef": None}
    assert answer["status"]["expirationTimestamp"] == "2027-01-15T09:00:00Z"
    claims = _claims_of(answer["status"]["token"])
    assert {k: claims[k] for k in ("aud", "exp", "iat", "nbf", "iss", "sub")} == {
        "aud": [sa_tokens.ISSUER], "exp": int(NOW) + 3600, "iat": int(NOW), "nbf": int(NOW), "iss": sa_tokens.ISSUER,
        "sub": "system:serviceaccount:default:default"}
    assert claims["kubernetes.io"] == {"namespace": "default", "serviceaccount": {"name": "default", "uid": "sa-1"}}
    bound = token_request(issuer, "default", "default", {"spec": {
        "audiences": ["vault"], "expirationSeconds": 600,
        "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web"}}}, _world(), now=NOW)
    claims = _claims_of(bound["status"]["token"])
    assert claims["aud"] == ["vault"] and claims["exp"] == int(NOW) + 600
    assert claims["kubernetes.io"]["pod"] == {"name": "web", "uid": "pod-1"}
    assert claims["kubernetes.io"]["node"] == {"name": "n1", "uid": "node-1"}
    assert sa_tokens.user_details(claims) == {"uid": "sa-1", "extra": {
        "authentication.kubernetes.io/credential-id": [f"JTI={claims['jti']}"],
        "authentication.kubernetes.io/node-name": ["n1"], "authentication.kubernetes.io/node-uid": ["node-1"],
        "authentication.kubernetes.io/pod-name": ["web"], "authentication.kubernetes.io/pod-uid": ["pod-1"]}}


# -- authentication --------------------------------------------------------------------------------------

def _token(issuer: TokenIssuer, **spec: Any) -> str:
    return token_request(issuer, "default", "default", {"spec": spec}, _world(), now=NOW)["status"]["token"]


def test_a_valid_token_is_the_serviceaccount_with_its_groups(issuer: TokenIssuer) -> None:
    token = _token(issuer)
    assert issuer.is_ours(token) and not issuer.is_ours("admin.0123") and not issuer.is_ours("abcdef.0123456789abcdef")
    user = issuer.authenticate(token, _world(), now=NOW + 10)
    assert user == "system:serviceaccount:default:default"
    assert user_info(user)["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default",
                                         "system:authenticated"]


def test_a_token_is_refused_with_the_authenticators_reason(issuer: TokenIssuer) -> None:
    world = _world()
    token = _token(issuer)

    def refused(tok: str, objs: Objects = world, now: float = NOW + 10, by: TokenIssuer = issuer) -> str:
        with pytest.raises(TokenError) as e:
            by.authenticate(tok, objs, now=now)
        return str(e.value)

    head, body, sig = token.split(".")
    forged = json.dumps({**_claims_of(token), "sub": "system:serviceaccount:kube-system:admin"}).encode()
    forged_body = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
    assert refused(f"{head}.{forged_body}.{sig}") == "go-jose/go-jose: error in cryptographic primitive"
    assert refused(token, by=TokenIssuer.load(None)) == "go-jose/go-jose: error in cryptographic primitive"
    assert refused(token, now=NOW + 3600 + 61) == "service account token has expired"
    assert refused(_token(issuer, audiences=["vault"])) == (
        f'token audiences ["vault"] is invalid for the target audiences ["{sa_tokens.ISSUER}"]')
    gone = Objects(*(o for o in world.objs.values() if o["kind"] != "ServiceAccount"))
    assert refused(token, gone) == 'serviceaccounts "default" not found'
    again = Objects(*world.objs.values(), _obj("ServiceAccount", "default", "sa-new"))
    assert refused(token, again) == "service account UID (sa-new) does not match claim (sa-1)"
    bound = _token(issuer, boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "web"})
    assert issuer.authenticate(bound, world, now=NOW + 10) == "system:serviceaccount:default:default"
    no_pod = Objects(*(o for o in world.objs.values() if o["kind"] != "Pod"))
    assert refused(bound, no_pod) == 'pods "web" not found'
    new_pod = Objects(*world.objs.values(), _obj("Pod", "web", "pod-2"))
    assert refused(bound, new_pod) == "pod UID (pod-2) does not match service account pod ref claim (pod-1)"


def test_the_signing_key_is_kept_owner_only_and_reused(tmp_path: Path) -> None:
    first = TokenIssuer.load(tmp_path)
    key = tmp_path / "pki" / "sa.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    token = first.sign({"iss": sa_tokens.ISSUER})
    assert TokenIssuer.load(tmp_path).verify(token) == {"iss": sa_tokens.ISSUER}
    assert first.jwks()["keys"][0]["kid"] == first.key_id


# -- admission -------------------------------------------------------------------------------------------

def _pod_spec(**spec: Any) -> dict:
    return {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}, {"name": "b", "volumeMounts": [
        {"name": "mine", "mountPath": sa_tokens.TOKEN_MOUNT_PATH}]}], **spec}


def test_admission_mounts_the_token_volume_in_every_container_without_one() -> None:
    spec = _pod_spec()
    sa_tokens.mount_token(spec, "abcde")
    mount = {"name": "kube-api-access-abcde", "readOnly": True, "mountPath": sa_tokens.TOKEN_MOUNT_PATH}
    assert spec["initContainers"][0]["volumeMounts"] == [mount]
    assert spec["containers"][0]["volumeMounts"] == [mount]
    assert spec["containers"][1]["volumeMounts"] == [{"name": "mine", "mountPath": sa_tokens.TOKEN_MOUNT_PATH}]
    assert spec["volumes"] == [{"name": "kube-api-access-abcde", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]


def test_the_pods_automount_choice_comes_before_the_serviceaccounts() -> None:
    opted_out = {"automountServiceAccountToken": False}
    assert should_automount(None, {})
    assert not should_automount(opted_out, {})
    assert should_automount(opted_out, {"automountServiceAccountToken": True})
    assert not should_automount({}, opted_out)


# -- the kubelet's token manager -------------------------------------------------------------------------

def test_the_kubelet_asks_again_at_80_percent_of_a_tokens_life() -> None:
    cache = TokenCache()
    key = ("default", "default", "web", "uid", "", 3607)
    cache.put(key, "t1", NOW, NOW + 3600)
    assert cache.get(key, now=NOW + 2879) == "t1"
    assert cache.get(key, now=NOW + 2881) is None
    assert cache.refresh_at(key) == NOW + 2880
    cache.put(key, "t2", NOW, NOW + 365 * 86400)  # a long one is refreshed after a day all the same
    assert cache.get(key, now=NOW + 86401) is None


# -- kube-tui create token --------------------------------------------------------------------------------

def _args(name: str = "robot", **kw: Any) -> argparse.Namespace:
    base = {"name": name, "duration": "", "audience": [], "bound_object_kind": "", "bound_object_name": "",
            "bound_object_uid": ""}
    return argparse.Namespace(**{**base, **kw})


def test_create_token_flags_are_checked_as_kubectl_checks_them() -> None:
    assert request_for(_args(duration="10m", audience=["a"], bound_object_kind="Pod", bound_object_name="web"))[
        "spec"] == {"audiences": ["a"], "expirationSeconds": 600,
                    "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": ""}}
    for kw, message in (({"duration": "1.5s"}, "error: --duration cannot be expressed in units less than seconds"),
                        ({"duration": "-1m"}, "error: --duration must be greater than or equal to 0"),
                        ({"audience": [""]}, "error: --audience must not be an empty string"),
                        ({"bound_object_name": "web"},
                         "error: --bound-object-name can only be set if --bound-object-kind is provided"),
                        ({"bound_object_kind": "Node"}, "error: supported --bound-object-kind values are Pod, Secret"),
                        ({"bound_object_kind": "Pod"},
                         "error: --bound-object-name is required if --bound-object-kind is provided")):
        with pytest.raises(ValueError) as e:
            request_for(_args(**kw))
        assert str(e.value) == message


def test_a_projected_token_source_is_validated_as_kubernetes_validates_it() -> None:
    from control.api.validation import validate

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}], "volumes": [
               {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"expirationSeconds": 60}}]}}]}}
    errs, _ = validate(pod, None)
    assert [str(e) for e in errs] == [
        "spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 60: may not "
        "specify a duration less than 10 minutes", "spec.volumes[0].projected.path: Required value"]
