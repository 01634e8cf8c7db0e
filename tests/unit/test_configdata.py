"""ConfigMap and Secret data: base64 as Go decodes it, normalize (kube-apiserver's decoding), config keys,
what a pod references, and the validation messages."""

from __future__ import annotations

import base64
import os
import random

import pytest

from control.api import configdata
from control.api.configdata import Base64Error, decode_base64, normalize, pod_references
from control.api.validation import validate
from control.api.validation.config import is_config_map_key
from control.errors import ApiError


def test_decode_base64_round_trips_and_ignores_line_breaks() -> None:
    rng = random.Random(7)
    for _ in range(500):
        raw = os.urandom(rng.randint(0, 40))
        text = base64.b64encode(raw).decode()
        assert decode_base64(text) == raw
        assert decode_base64("\n".join(text[i:i + 7] for i in range(0, len(text), 7)) + "\r\n") == raw


@pytest.mark.parametrize("text, offset", [("s3cr3t", 4), ("abc", 0), ("ab=c", 2), ("YWJj=", 4), ("YQ==YQ==", 4),
                                          ("YQ=", 3), ("Y===", 1), ("a$cd", 1)])
def test_decode_base64_errors_name_go_s_offset(text: str, offset: int) -> None:
    with pytest.raises(Base64Error) as e:
        decode_base64(text)
    assert str(e.value) == f"illegal base64 data at input byte {offset}"


def test_normalize_secret_merges_string_data_and_canonicalizes() -> None:
    s = {"kind": "Secret", "data": {"a": "YW\nJj", "b": "eA=="}, "stringData": {"b": "over", "c": "new"}}
    normalize(s)
    assert s == {"kind": "Secret", "data": {"a": "YWJj", "b": base64.b64encode(b"over").decode(),
                                            "c": base64.b64encode(b"new").decode()}}
    assert configdata.secret_bytes(s) == {"a": b"abc", "b": b"over", "c": b"new"}


@pytest.mark.parametrize("obj, detail", [
    ({"kind": "Secret", "data": {"p": "s3cr3t"}}, "illegal base64 data at input byte 4"),
    ({"kind": "Secret", "data": {"p": 1}}, "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"),
    ({"kind": "Secret", "data": ["x"]}, "json: cannot unmarshal array into Go struct field Secret.data of type map[string][]uint8"),
    ({"kind": "ConfigMap", "data": {"n": True}}, "json: cannot unmarshal bool into Go struct field ConfigMap.data of type string"),
    ({"kind": "ConfigMap", "binaryData": {"b": "%%"}}, "illegal base64 data at input byte 0"),
    ({"kind": "ConfigMap", "immutable": "yes"}, "json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool"),
])
def test_normalize_refuses_what_the_decoder_refuses(obj: dict, detail: str) -> None:
    with pytest.raises(ApiError) as e:
        normalize(obj)
    kind = obj["kind"]
    assert e.value.code == 400
    assert e.value.message == f'{kind} in version "v1" cannot be handled as a {kind}: {detail}'


def test_msgpack_bytes_are_refused_with_the_representation_to_use() -> None:
    with pytest.raises(ApiError) as e:
        normalize({"kind": "Secret", "data": {"p": b"raw"}})
    assert "base64" in e.value.message


def test_config_map_keys() -> None:
    assert is_config_map_key("game.properties") == [] and is_config_map_key("KEY_NAME-1") == []
    assert is_config_map_key(".") == ["must not be '.'"]
    assert is_config_map_key("..") == ["must not be '..'"]
    assert is_config_map_key("..data") == ["must not start with '..'"]
    assert is_config_map_key("a/b")[0].startswith("a valid config key must consist of alphanumeric characters")
    assert is_config_map_key("k" * 254)[0] == "must be no more than 253 characters"


def _messages(obj: dict, old: dict | None = None) -> list[str]:
    obj = {"apiVersion": "v1", "metadata": {"name": "x", "namespace": "default"}, **obj}
    if old is not None:
        old = {"apiVersion": "v1", "metadata": {"name": "x", "namespace": "default"}, **old}
    return [str(e) for e in validate(obj, old)[0]]


def test_secret_validation() -> None:
    assert _messages({"kind": "Secret", "type": "Opaque", "data": {"a": "eA=="}}) == []
    big = base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()
    assert _messages({"kind": "Secret", "type": "Opaque", "data": {"a": big}}) == [
        "data: Too long: must have at most 1048576 bytes"]
    assert _messages({"kind": "Secret", "type": "kubernetes.io/basic-auth"}) == [
        "data[username]: Required value", "data[password]: Required value"]
    assert _messages({"kind": "Secret", "type": "kubernetes.io/service-account-token"}) == [
        "metadata.annotations[kubernetes.io/service-account.name]: Required value"]
    assert _messages({"kind": "Secret", "type": "Opaque"}, {"kind": "Secret", "type": "my-type"}) == [
        'type: Invalid value: "Opaque": field is immutable']
    # what may not change first, then the object itself, as ValidateSecretUpdate orders them
    assert _messages({"kind": "Secret", "type": "kubernetes.io/tls"}, {"kind": "Secret", "type": "Opaque"}) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable', "data[tls.crt]: Required value",
        "data[tls.key]: Required value"]
    assert _messages({"kind": "Secret", "type": "Opaque", "data": {"a": "eQ=="}},
                     {"kind": "Secret", "type": "Opaque", "data": {"a": "eA=="}, "immutable": True}) == [
        "immutable: Forbidden: field is immutable when `immutable` is set",
        "data: Forbidden: field is immutable when `immutable` is set"]


def test_env_sources_are_validated() -> None:
    pod = {"kind": "Pod", "spec": {"containers": [{
        "name": "c", "image": "busybox",
        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "game", "key": "bad/key"}}}],
        "envFrom": [{"prefix": "1X", "configMapRef": {"name": "game"}, "secretRef": {"name": "db"}}]}]}}
    msgs = _messages(pod)
    assert any(m.startswith('spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Invalid value: "bad/key"')
               for m in msgs)
    assert any(m.startswith('spec.containers[0].envFrom[0].prefix: Invalid value: "1X"') for m in msgs)
    assert ('spec.containers[0].envFrom: Invalid value: "": may not have more than one field specified at a time'
            in msgs)


def test_pod_references() -> None:
    pod = {"spec": {
        "containers": [{"name": "c", "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "db", "key": "p"}}}],
                        "envFrom": [{"configMapRef": {"name": "game"}}]}],
        "initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "init"}}]}],
        "volumes": [{"name": "v", "configMap": {"name": "files"}}, {"name": "s", "secret": {"secretName": "certs"}},
                    {"name": "p", "projected": {"sources": [{"configMap": {"name": "proj"}}]}}],
        "imagePullSecrets": [{"name": "pull"}]}}
    assert pod_references(pod) == {("Secret", "db"), ("ConfigMap", "game"), ("Secret", "init"), ("ConfigMap", "files"),
                                   ("Secret", "certs"), ("ConfigMap", "proj"), ("Secret", "pull")}
