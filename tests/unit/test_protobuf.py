"""control/api/protobuf.py: Kubernetes protobuf request bodies decoded to the dict a JSON client sends.

The oracle is the real kubectl: each KUBECTL vector is the request body kubectl 1.32 sent for a command
(its `-v=9` hex dump of "Request Body") next to what the same kubectl printed for that command with
`--dry-run=client -o json`. The decoder does not decode `status` (Kubernetes ignores it on create), so the
one normalisation is dropping "status" from kubectl's JSON; everything else must match exactly, including
"creationTimestamp": null, "resources": {}, "strategy": {} and "replicas": 0.

Captured against a kube-tui control plane on random ports with /usr/bin/kubectl v1.32.4 (the same bytes as
/usr/lib/google-cloud-sdk/bin/kubectl.1.32, v1.32.5, which recorded the set below), e.g.
    kubectl --kubeconfig KC -v=9 create deployment web --image=nginx:1.25 --port=80 --replicas=0
    kubectl --kubeconfig KC create deployment web --image=nginx:1.25 --port=80 --replicas=0 --dry-run=client -o json
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from control.api import protobuf
from control.api.protobuf import MAGIC, SCHEMA, decode, iter_fields
from control.errors import ApiError

# name -> (the command, the protobuf body kubectl sent as hex, kubectl's --dry-run=client -o json)
KUBECTL: dict[str, tuple[str, str, str]] = {
    "namespace": (
        "kubectl create namespace foo",
        ("6b3873000a0f0a02763112094e616d657370616365121b0a130a03666f6f12001a0022002a0032003800420012001a02"
         "0a001a002200"),
        ('{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"foo","creationTimestamp":null},"spec":'
         '{},"status":{}}'),
    ),
    "deployment_replicas_0": (
        "kubectl create deployment web --image=nginx:1.25 --port=80 --replicas=0",
        ("6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bd010a1f0a0377656212001a0022002a00320038"
         "0042005a0a0a036170701203776562128b010800120c0a0a0a0361707012037765621a710a1c0a0012001a0022002a00"
         "3200380042005a0a0a036170701203776562125112330a056e67696e78120a6e67696e783a312e32352a00320a0a0010"
         "00185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a"
         "0100c2010022020a00280038001a0c0800100018002000280038001a002200"),
        ('{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","creationTimestamp":null,"l'
         'abels":{"app":"web"}},"spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},"template":{'
         '"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"name":"ngin'
         'x","image":"nginx:1.25","ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status'
         '":{}}'),
    ),
    "deployment_replicas_3": (
        "kubectl create deployment web --image=nginx:1.25 --port=80 --replicas=3",
        ("6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bd010a1f0a0377656212001a0022002a00320038"
         "0042005a0a0a036170701203776562128b010803120c0a0a0a0361707012037765621a710a1c0a0012001a0022002a00"
         "3200380042005a0a0a036170701203776562125112330a056e67696e78120a6e67696e783a312e32352a00320a0a0010"
         "00185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a"
         "0100c2010022020a00280038001a0c0800100018002000280038001a002200"),
        ('{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","creationTimestamp":null,"l'
         'abels":{"app":"web"}},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{'
         '"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"spec":{"containers":[{"name":"ngin'
         'x","image":"nginx:1.25","ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status'
         '":{}}'),
    ),
    "deployment_command": (
        "kubectl create deployment sleeper --image=busybox -- sleep 3600",
        ("6b3873000a150a07617070732f7631120a4465706c6f796d656e7412cd010a270a07736c656570657212001a0022002a"
         "003200380042005a0e0a036170701207736c6565706572129301080112100a0e0a036170701207736c65657065721a75"
         "0a200a0012001a0022002a003200380042005a0e0a036170701207736c6565706572125112330a0762757379626f7812"
         "0762757379626f781a05736c6565701a04333630302a0042006a007200800100880100900100a201001a00320042004a"
         "0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200"),
        ('{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"sleeper","creationTimestamp":nul'
         'l,"labels":{"app":"sleeper"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"sleeper"}},'
         '"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"sleeper"}},"spec":{"containers'
         '":[{"name":"busybox","image":"busybox","command":["sleep","3600"],"resources":{}}]}},"strategy":'
         '{}},"status":{}}'),
    ),
    "service_nodeport": (
        "kubectl create service nodeport web --tcp=8080:80 --node-port=30080",
        ("6b3873000a0d0a027631120753657276696365126a0a1f0a0377656212001a0022002a003200380042005a0a0a036170"
         "70120377656212430a1d0a07383038302d3830120354435018903f2206080010501a002880eb01120a0a036170701203"
         "7765621a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200"),
        ('{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","creationTimestamp":null,"labels":{'
         '"app":"web"}},"spec":{"ports":[{"name":"8080-80","protocol":"TCP","port":8080,"targetPort":80,"n'
         'odePort":30080}],"selector":{"app":"web"},"type":"NodePort"},"status":{"loadBalancer":{}}}'),
    ),
    "service_clusterip": (
        "kubectl create service clusterip web --tcp=80:8080,443:8443",
        ("6b3873000a0d0a0276311207536572766963651288010a1f0a0377656212001a0022002a003200380042005a0a0a0361"
         "7070120377656212610a1b0a0738302d38303830120354435018502207080010903f1a0028000a1d0a083434332d3834"
         "3433120354435018bb032207080010fb411a002800120a0a0361707012037765621a002209436c757374657249503a00"
         "420052005a00600068001a020a001a002200"),
        ('{"kind":"Service","apiVersion":"v1","metadata":{"name":"web","creationTimestamp":null,"labels":{'
         '"app":"web"}},"spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080},{'
         '"name":"443-8443","protocol":"TCP","port":443,"targetPort":8443}],"selector":{"app":"web"},"type'
         '":"ClusterIP"},"status":{"loadBalancer":{}}}'),
    ),
    "job_pi": (
        "kubectl create job pi --image=perl -- perl -Mbignum=bpi -wle 'print bpi(20)'",
        ("6b3873000a0f0a0862617463682f763112034a6f6212a1010a120a02706912001a0022002a0032003800420012800132"
         "7e0a100a0012001a0022002a00320038004200126a12470a02706912047065726c1a047065726c1a0c2d4d6269676e75"
         "6d3d6270691a042d776c651a0d7072696e7420627069283230292a0042006a007200800100880100900100a201001a05"
         "4e65766572320042004a0052005800600068008201008a01009a0100c201001a082000280030003a001a002200"),
        ('{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"pi","creationTimestamp":null},"spec":{'
         '"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"pi","image":"pe'
         'rl","command":["perl","-Mbignum=bpi","-wle","print bpi(20)"],"resources":{}}],"restartPolicy":"N'
         'ever"}}},"status":{}}'),
    ),
}


def kubectl_body(name: str) -> bytes:
    return bytes.fromhex(KUBECTL[name][1])


def kubectl_json(name: str) -> dict[str, Any]:
    expected = json.loads(KUBECTL[name][2])
    expected.pop("status", None)  # the documented normalisation: status is not decoded
    return expected


# --- a tiny protobuf encoder, to build envelopes and fields the captured bodies do not have


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers: 64-bit two's complement, 10 bytes
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            return bytes(out)


def num(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def ln(field: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(field << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """runtime.Unknown behind the magic, as kubectl writes it (empty contentEncoding and contentType)."""
    return MAGIC + ln(1, ln(1, api_version) + ln(2, kind)) + ln(2, raw) + ln(3, "") + ln(4, "")


def sub(data: bytes, *numbers: int) -> bytes:
    """The bytes of the first length-delimited field along a path of field numbers."""
    for number in numbers:
        data = next(v for n, w, v in iter_fields(data) if n == number and isinstance(v, bytes))
    return data


def raw_of(body: bytes) -> bytes:
    return sub(body[len(MAGIC):], 2)


def meta(name: str) -> bytes:
    """ObjectMeta as gogo writes it for a new object: every non-pointer field, empty creationTimestamp."""
    return ln(1, name) + ln(2, "") + ln(3, "") + ln(4, "") + ln(5, "") + ln(6, "") + num(7, 0) + ln(8, b"")


def container(name: str, extra: bytes = b"") -> bytes:
    return ln(1, name) + ln(2, "busybox") + ln(5, "") + ln(8, b"") + num(16, 0) + num(17, 0) + num(18, 0) + extra


def pod_spec(*containers: bytes, extra: bytes = b"") -> bytes:
    return b"".join(ln(2, c) for c in containers) + ln(3, "") + ln(6, "") + num(11, 0) + extra


# --- the real kubectl bodies


@pytest.mark.parametrize("name", sorted(KUBECTL))
def test_decodes_what_kubectl_sent_to_what_kubectl_prints(name: str) -> None:
    assert decode(kubectl_body(name)) == kubectl_json(name)


def test_kubectl_replicas_zero_survives_as_a_set_pointer() -> None:
    # DeploymentSpec.Replicas is *int32: kubectl wrote it (08 00) and JSON shows "replicas": 0
    assert decode(kubectl_body("deployment_replicas_0"))["spec"]["replicas"] == 0
    assert decode(kubectl_body("deployment_replicas_3"))["spec"]["replicas"] == 3


def test_a_pod_made_of_kubectls_pod_template_bytes() -> None:
    template = sub(raw_of(kubectl_body("deployment_command")), 2, 3)  # Deployment.spec.template
    expected = {"kind": "Pod", "apiVersion": "v1", **kubectl_json("deployment_command")["spec"]["template"]}
    assert decode(envelope("v1", "Pod", template)) == expected
    assert expected["spec"]["containers"][0]["command"] == ["sleep", "3600"]


def test_a_replicaset_made_of_kubectls_selector_and_template_bytes() -> None:
    spec = sub(raw_of(kubectl_body("deployment_replicas_3")), 2)
    selector, template = sub(spec, 2), sub(spec, 3)
    raw = ln(1, meta("web-5d8")) + ln(2, num(1, 2) + num(4, 0) + ln(2, selector) + ln(3, template))
    want = kubectl_json("deployment_replicas_3")["spec"]
    assert decode(envelope("apps/v1", "ReplicaSet", raw)) == {
        "kind": "ReplicaSet", "apiVersion": "apps/v1",
        "metadata": {"name": "web-5d8", "creationTimestamp": None},
        "spec": {"replicas": 2, "selector": want["selector"], "template": want["template"]},
    }


# --- zero values and pointers


def test_set_pointer_fields_keep_zero_false_and_empty_while_non_pointer_zeros_are_dropped() -> None:
    job_spec = (num(1, 0) + num(8, 0) + num(5, 0) + num(10, 0) + ln(9, "") + num(7, 0)  # all Go pointers
                + ln(6, ln(1, meta("")) + ln(2, pod_spec(container("c")))))
    got = decode(envelope("batch/v1", "Job", ln(1, meta("j")) + ln(2, job_spec)))
    spec = got["spec"]
    assert spec["parallelism"] == 0 and spec["ttlSecondsAfterFinished"] == 0 and spec["backoffLimit"] == 0
    assert spec["manualSelector"] is False and spec["suspend"] is False and spec["completionMode"] == ""
    assert "completions" not in spec and "activeDeadlineSeconds" not in spec  # absent pointers stay absent
    # non-pointer zeros (image "" is not, stdin/tty false, hostNetwork false, restartPolicy "") are dropped
    assert spec["template"] == {"metadata": {"creationTimestamp": None},
                                "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {}}]}}
    assert got["metadata"] == {"name": "j", "creationTimestamp": None}


def test_negative_int64_and_int32_are_ten_byte_twos_complement() -> None:
    assert len(varint(-1)) == 10
    metadata = meta("n") + num(7, -5) + num(10, -1)  # generation, deletionGracePeriodSeconds
    spec = pod_spec(container("c"), extra=num(25, -10) + num(4, -(2**63)))  # priority int32, grace int64
    got = decode(envelope("v1", "Pod", ln(1, metadata) + ln(2, spec)))
    assert got["metadata"]["generation"] == -5
    assert got["metadata"]["deletionGracePeriodSeconds"] == -1
    assert got["spec"]["priority"] == -10
    assert got["spec"]["terminationGracePeriodSeconds"] == -(2**63)


def test_time_is_rfc3339_in_utc_and_the_zero_time_is_null() -> None:
    when = int(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp())
    before_1970 = ln(1, "n") + ln(8, num(1, -1))
    stamped = ln(1, "n") + ln(8, num(1, when) + num(2, 999_999_999)) + ln(9, num(1, when + 30))
    go_zero = ln(1, "n") + ln(8, num(1, -62135596800)) + ln(9, b"")
    epoch = ln(1, "n") + ln(8, num(1, 0) + num(2, 0))

    def timestamps(metadata: bytes) -> tuple[Any, Any]:
        m = decode(envelope("v1", "Namespace", ln(1, metadata)))["metadata"]
        return m.get("creationTimestamp", "absent"), m.get("deletionTimestamp", "absent")

    assert timestamps(stamped) == ("2024-01-02T03:04:05Z", "2024-01-02T03:04:35Z")  # nanos are not printed
    assert timestamps(before_1970) == ("1969-12-31T23:59:59Z", "absent")
    assert timestamps(go_zero) == (None, None)
    assert timestamps(epoch) == ("1970-01-01T00:00:00Z", "absent")
    assert timestamps(meta("n")) == (None, "absent")


def test_int_or_string_quantities_inline_structs_and_probes() -> None:
    port_http = ln(4, num(1, 1) + num(2, 0) + ln(3, "http"))  # IntOrString type 1: the name
    probe = ln(1, ln(2, ln(1, "/healthz") + ln(2, num(1, 0) + num(2, 8080) + ln(3, "")) + ln(4, "")))
    probe += num(2, 5) + num(3, 0) + num(4, 10) + num(5, 0) + num(6, 0)
    resources = (ln(1, ln(1, "cpu") + ln(2, ln(1, "500m"))) + ln(1, ln(1, "memory") + ln(2, ln(1, "128Mi")))
                 + ln(2, ln(1, "cpu") + ln(2, ln(1, "250m"))))
    env = ln(7, ln(1, "TOKEN") + ln(2, "") + ln(3, ln(4, ln(1, ln(1, "creds")) + ln(2, "token"))))
    env += ln(7, ln(1, "MODE") + ln(2, "fast"))
    mounts = ln(9, ln(1, "cfg") + num(2, 1) + ln(3, "/etc/cfg") + ln(4, "") + ln(6, ""))
    c = container("web", ln(6, ln(1, "http") + num(2, 0) + num(3, 80) + ln(4, "TCP") + ln(5, ""))
                  + ln(8, resources) + ln(10, probe) + ln(11, ln(1, ln(3, ln(1, num(1, 0) + num(2, 80)))))
                  + env + mounts)
    volumes = (ln(1, ln(1, "cfg") + ln(2, ln(19, ln(1, ln(1, "app-config")) + num(3, 0o644))))
               + ln(1, ln(1, "scratch") + ln(2, ln(2, ln(1, "Memory")))))
    strategy = ln(1, "RollingUpdate") + ln(2, ln(1, num(1, 0) + num(2, 1) + ln(3, ""))
                                          + ln(2, num(1, 1) + num(2, 0) + ln(3, "25%")))
    spec = (num(1, 2) + ln(2, ln(1, ln(1, "app") + ln(2, "web")))
            + ln(3, ln(1, meta("")) + ln(2, volumes + pod_spec(c)))
            + ln(4, strategy) + num(5, 0) + num(6, 10) + num(7, 0) + num(9, 600))
    got = decode(envelope("apps/v1", "Deployment", ln(1, meta("web")) + ln(2, spec)))
    s = got["spec"]
    assert s["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}}
    assert (s["replicas"], s["revisionHistoryLimit"], s["progressDeadlineSeconds"]) == (2, 10, 600)
    pod = s["template"]["spec"]
    assert pod["volumes"] == [{"name": "cfg", "configMap": {"name": "app-config", "defaultMode": 420}},
                              {"name": "scratch", "emptyDir": {"medium": "Memory"}}]
    (web,) = pod["containers"]
    assert web["ports"] == [{"name": "http", "containerPort": 80, "protocol": "TCP"}]
    assert web["resources"] == {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}}
    assert web["livenessProbe"] == {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5,
                                    "periodSeconds": 10}
    assert web["readinessProbe"] == {"tcpSocket": {"port": 80}}
    assert web["env"] == [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
                          {"name": "MODE", "value": "fast"}]
    assert web["volumeMounts"] == [{"name": "cfg", "readOnly": True, "mountPath": "/etc/cfg"}]
    named = ln(1, "x") + port_http + ln(2, "TCP") + num(3, 80)
    svc = decode(envelope("v1", "Service", ln(1, meta("s")) + ln(2, ln(1, named))))
    assert svc["spec"]["ports"] == [{"name": "x", "protocol": "TCP", "port": 80, "targetPort": "http"}]


def test_serviceaccount_of_kubectl_create_serviceaccount() -> None:
    """kubectl create serviceaccount sends its object in protobuf; secrets and pull secrets as references."""
    sa = decode(envelope("v1", "ServiceAccount", ln(1, meta("robot")) + ln(2, ln(1, "Secret") + ln(3, "tok"))
                         + ln(3, ln(1, "regcred")) + num(4, 0)))
    assert sa == {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "robot", "creationTimestamp": None},
                  "secrets": [{"kind": "Secret", "name": "tok"}], "imagePullSecrets": [{"name": "regcred"}],
                  "automountServiceAccountToken": False}


def test_ingress_of_kubectl_create_ingress() -> None:
    """kubectl create ingress sends its object in protobuf: a rule's http value is inlined, ports by number or name."""
    def backend(name: str, port: bytes) -> bytes:
        return ln(4, ln(1, name) + ln(2, port))

    path = ln(1, "/api") + ln(3, "Prefix") + ln(2, backend("web", num(2, 80)))
    spec = (ln(4, "kube-tui") + ln(1, backend("fallback", ln(1, "http"))) + ln(2, ln(1, "foo.com") + ln(2, "cert"))
            + ln(3, ln(1, "foo.com") + ln(2, ln(1, ln(1, path)))))
    ing = decode(envelope("networking.k8s.io/v1", "Ingress", ln(1, meta("web")) + ln(2, spec)))
    assert ing["spec"] == {
        "ingressClassName": "kube-tui",
        "defaultBackend": {"service": {"name": "fallback", "port": {"name": "http"}}},
        "tls": [{"hosts": ["foo.com"], "secretName": "cert"}],
        "rules": [{"host": "foo.com", "http": {"paths": [
            {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}],
    }


def test_configmap_and_secret_bytes_become_base64_text() -> None:
    """kubectl create configmap|secret send these; map<string, bytes> values arrive as JSON would carry them."""
    cm = decode(envelope("v1", "ConfigMap", ln(1, meta("game")) + ln(2, ln(1, "a") + ln(2, "b"))
                         + ln(3, ln(1, "bin") + ln(2, b"\x00\xff")) + num(4, 1)))
    assert cm == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "game", "creationTimestamp": None},
                  "data": {"a": "b"},
                  "binaryData": {"bin": "AP8="}, "immutable": True}
    secret = decode(envelope("v1", "Secret", ln(1, meta("db")) + ln(2, ln(1, "password") + ln(2, b"s3cr3t"))
                             + ln(2, ln(1, "empty")) + ln(4, ln(1, "user") + ln(2, "admin")) + ln(3, "Opaque")))
    assert secret["data"] == {"password": "czNjcjN0", "empty": ""}
    assert secret["stringData"] == {"user": "admin"} and secret["type"] == "Opaque"


def test_repeated_numbers_packed_or_not() -> None:
    packed = ln(4, varint(1000) + varint(2000))
    unpacked = num(4, 3000)
    spec = pod_spec(container("c"), extra=ln(14, packed + unpacked + num(2, 0)))  # runAsUser: pointer 0
    got = decode(envelope("v1", "Pod", ln(1, meta("p")) + ln(2, spec)))
    assert got["spec"]["securityContext"] == {"supplementalGroups": [1000, 2000, 3000], "runAsUser": 0}


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    unknown = num(99, 7) + varint(98 << 3 | 1) + bytes(8) + ln(97, b"\xff\xfe") + varint(96 << 3 | 5) + bytes(4)
    raw = raw_of(kubectl_body("namespace"))
    metadata = sub(raw, 1)
    rest = b"".join(ln(n, v) for n, w, v in iter_fields(raw) if n != 1 and isinstance(v, bytes))
    body = envelope("v1", "Namespace", unknown + ln(1, metadata + unknown) + rest + unknown)
    assert decode(body) == kubectl_json("namespace")


# --- errors


def error_of(body: bytes) -> ApiError:
    with pytest.raises(ApiError) as e:
        decode(body)
    return e.value


@pytest.mark.parametrize("body, detail", [
    (b"", "k8s\\x00"),
    (b"\x7b\"kind\":\"Namespace\"}", "k8s\\x00"),
    (MAGIC, "empty"),
    (bytes.fromhex(KUBECTL["deployment_replicas_0"][1])[:-1], "cut short"),  # the last length byte is gone
    (bytes.fromhex(KUBECTL["deployment_replicas_0"][1])[:120], "cut short"),  # raw announces more bytes
    (MAGIC + b"\x0a" + b"\xff" * 10 + b"\x01", "10 bytes"),
    (envelope("v1", "Namespace", ln(1, num(1, 5))), "metadata.name (ObjectMeta field 1) has wire type 0"),
    (envelope("v1", "Namespace", num(1, 5)), "metadata (Namespace field 1) has wire type 0"),
    (envelope("v1", "Namespace", varint(1 << 3 | 3)), "wire type 3"),
    (envelope("v1", "Namespace", ln(1, ln(1, b"\xc3\x28"))), "metadata.name is not valid UTF-8"),
    (envelope("v1", "Service", ln(2, ln(1, ln(4, num(1, 2))))), "IntOrString of unknown type 2"),
    (envelope("v1", "Namespace", ln(1, ln(8, num(1, 10**15)))), "outside years"),
    (envelope("v1", "", b""), "no kind"),
    (envelope("", "Namespace", b""), "no apiVersion"),
    (MAGIC + varint(0) + b"\x00", "field number 0"),
])
def test_malformed_bodies_are_400_bad_request_naming_the_problem(body: bytes, detail: str) -> None:
    error = error_of(body)
    assert (error.code, error.reason) == (400, "BadRequest")
    assert error.message.startswith("the protobuf body is malformed: ")
    assert detail in error.message


@pytest.mark.parametrize("api_version, kind", [("v1", "PersistentVolumeClaim"), ("apps/v1", "StatefulSet"),
                                               ("apps/v1beta1", "Deployment"), ("v1", "Deployment")])
def test_other_kinds_are_415_naming_the_kind_and_the_ones_decoded(api_version: str, kind: str) -> None:
    error = error_of(envelope(api_version, kind, ln(1, meta("x"))))
    assert (error.code, error.reason) == (415, "UnsupportedMediaType")
    assert f"{kind} ({api_version})" in error.message
    for supported in ("Namespace", "Pod", "Service", "Deployment", "ReplicaSet", "Job"):
        assert supported in error.message
    assert error.status()["code"] == 415


# --- the schema itself


def test_schema_names_only_messages_it_defines_and_every_kind_has_metadata_and_spec() -> None:
    for name, fields in SCHEMA.items():
        names = [f.json for f in fields.values() if f.kind != protobuf.INLINE]
        assert len(names) == len(set(names)), name
        for number, field in fields.items():
            assert number > 0
            if field.kind in (protobuf.MESSAGE, protobuf.INLINE):
                assert field.message in SCHEMA, f"{name}.{field.json} -> {field.message}"
            if field.kind == protobuf.MAP:
                assert field.message in (protobuf.STRING, protobuf.QUANTITY, protobuf.BYTES)
    for message in set(protobuf.KINDS.values()) - {"DeleteOptions"}:
        assert SCHEMA[message][1] == protobuf.Field("metadata", protobuf.MESSAGE, message="ObjectMeta")
        # no spec: a question, data, or a request (an Eviction carries deleteOptions)
        if message not in ("SelfSubjectReview", "ConfigMap", "Secret", "ServiceAccount", "PriorityClass", "Eviction",
                           "Role", "ClusterRole", "RoleBinding"):  # RBAC's: rules, or subjects and roleRef
            assert SCHEMA[message][2].json == "spec"


def test_delete_options_of_kubectl_drain() -> None:
    """kubectl 1.32's drain (no eviction API served) deletes each pod with protobuf DeleteOptions: captured
    with -v=9 (an empty body), and one with a grace period and a propagation policy built by hand."""
    captured = bytes.fromhex("6b3873000a130a027631120d44656c6574654f7074696f6e73" "12001a002200")
    assert protobuf.decode(captured) == {"apiVersion": "v1", "kind": "DeleteOptions"}
    raw = bytes([0x08, 0x07, 0x22, 0x0a]) + b"Background"
    typemeta = bytes([0x0a, 0x02]) + b"v1" + bytes([0x12, 0x0d]) + b"DeleteOptions"
    body = b"k8s\x00" + bytes([0x0a, len(typemeta)]) + typemeta + bytes([0x12, len(raw)]) + raw
    assert protobuf.decode(body) == {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 7,
                                     "propagationPolicy": "Background"}


# --- fuzz: whatever arrives, a Status (400/415), never a crash (the soak fuzzes the ZeroMQ frames the same way)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=200))
def test_any_bytes_decode_or_give_a_status(noise: bytes, cut: int) -> None:
    real = bytes.fromhex(KUBECTL["deployment_replicas_0"][1])
    for body in (noise, b"k8s\x00" + noise, real[:cut] + noise, real[:cut]):
        try:
            out = protobuf.decode(body)
        except ApiError as e:
            assert e.code in (400, 415)
        else:
            assert isinstance(out, dict) and out["kind"]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(KUBECTL)), st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4))
def test_real_bodies_with_bytes_changed_decode_or_give_a_status(name: str, changes: list[tuple[int, int]]) -> None:
    body = bytearray.fromhex(KUBECTL[name][1])
    for at, value in changes:
        body[at % len(body)] = value
    try:
        protobuf.decode(bytes(body))
    except ApiError as e:
        assert e.code in (400, 415)


def test_self_subject_access_review_of_kubectl_auth_can_i() -> None:
    """`kubectl auth can-i create pods/exec -n foo --subresource=x`, captured from kubectl 1.30 with -v=9."""
    body = bytes.fromhex(
        "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f763112175365"
        "6c665375626a6563744163636573735265766965771240"
        "0a100a0012001a0022002a00320038004200"
        "12220a200a03666f6f120663726561746" "51a0022002a04706f6473320178"
        "3a0465786563" "1a0808001200" "1a0020001a002200")
    out = protobuf.decode(body)
    assert out["spec"] == {"resourceAttributes": {"namespace": "foo", "verb": "create", "resource": "pods",
                                                  "subresource": "x", "name": "exec"}}


def test_cronjob_as_kubectl_create_cronjob_sends_it() -> None:
    """kubectl create cronjob NAME --image --schedule: a batch/v1 CronJob whose job template carries the name."""
    job_spec = ln(6, ln(1, meta("")) + ln(2, pod_spec(container("tick"), extra=ln(3, "OnFailure"))))
    cj_spec = ln(1, "*/2 * * * *") + ln(3, "") + ln(5, ln(1, meta("tick")) + ln(2, job_spec)) + num(6, 0)
    got = decode(envelope("batch/v1", "CronJob", ln(1, meta("tick")) + ln(2, cj_spec)))
    spec = got["spec"]
    assert got["kind"] == "CronJob" and spec["schedule"] == "*/2 * * * *"
    assert "concurrencyPolicy" not in spec and "suspend" not in spec  # unset: the server defaults them
    assert spec["successfulJobsHistoryLimit"] == 0  # a set pointer keeps its zero
    assert spec["jobTemplate"]["metadata"]["name"] == "tick"
    tmpl = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert tmpl["restartPolicy"] == "OnFailure" and tmpl["containers"][0]["image"] == "busybox"


def test_kubectl_create_quota_body() -> None:
    """kubectl create quota NAME --hard=cpu=1,pods=2 --scopes=BestEffort sends a typed core/v1 ResourceQuota."""
    hard = ln(1, ln(1, "cpu") + ln(2, ln(1, "1"))) + ln(1, ln(1, "pods") + ln(2, ln(1, "2")))
    body = envelope("v1", "ResourceQuota", ln(1, meta("q")) + ln(2, hard + ln(2, "BestEffort")))
    assert decode(body) == {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "creationTimestamp": None},
                            "spec": {"hard": {"cpu": "1", "pods": "2"}, "scopes": ["BestEffort"]}}


def test_rbac_objects_of_kubectl_create() -> None:
    """kubectl create role|rolebinding send their objects as protobuf: rules, subjects and roleRef decoded."""
    def s(n: int, v: bytes) -> bytes:
        return bytes([n << 3 | 2, len(v)]) + v

    role = s(1, s(1, b"r")) + s(2, s(1, b"get") + s(2, b"") + s(3, b"pods") + s(3, b"pods/log"))
    body = b"k8s\x00" + s(1, s(1, b"rbac.authorization.k8s.io/v1") + s(2, b"Role")) + s(2, role)
    assert protobuf.decode(body) == {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r"},
                                     "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods", "pods/log"]}]}
    binding = s(1, s(1, b"b")) + s(2, s(1, b"User") + s(2, b"rbac.authorization.k8s.io") + s(3, b"jane")) + \
        s(3, s(1, b"rbac.authorization.k8s.io") + s(2, b"ClusterRole") + s(3, b"view"))
    body = b"k8s\x00" + s(1, s(1, b"rbac.authorization.k8s.io/v1") + s(2, b"ClusterRoleBinding")) + s(2, binding)
    out = protobuf.decode(body)
    assert out["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "jane"}]
    assert out["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
