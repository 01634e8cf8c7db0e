"""ConfigMap and Secret data as every kube-tui API carries it: bytes are base64 text, as in Kubernetes' JSON.

One representation everywhere (the store, the ZeroMQ API, watch events, the REST API, `-o yaml`): a Secret's
`data` and a ConfigMap's `binaryData` hold standard base64 (padded) strings, exactly what `kubectl get -o
json` prints and what a manifest holds; a ConfigMap's `data` holds plain strings. A msgpack bytes value is
refused rather than guessed at. `normalize` is the decoding step kube-apiserver runs before admission:
base64 checked (worded like Go's encoding/base64) and re-encoded canonically (line breaks go), a Secret's
write-only `stringData` merged into `data` and dropped, wrong JSON types refused as its decoder refuses them.
"""

from __future__ import annotations

import base64
from typing import Any

from control import errors

MAX_SIZE = 1024 * 1024  # corev1.MaxSecretSize: the limit of a Secret's data and of a ConfigMap's, in bytes
KINDS = ("ConfigMap", "Secret")

_ALPHABET = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


class Base64Error(ValueError):
    """Go's base64.CorruptInputError: the offset of the first byte that cannot be decoded."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


def decode_base64(text: str) -> bytes:
    """base64.StdEncoding.DecodeString, as Go's JSON decoder reads []byte: padding required, CR and LF ignored,
    and the same error offsets (so a message names the byte Kubernetes would name)."""
    src = text.encode("utf-8", "surrogatepass")
    out = bytearray()
    si, n = 0, len(src)
    while si < n:
        quantum: list[int] = []
        while len(quantum) < 4:
            if si == n:
                if not quantum:
                    return bytes(out)
                raise Base64Error(si - len(quantum))  # padding is required
            ch = chr(src[si])
            si += 1
            if ch in _ALPHABET:
                quantum.append(_ALPHABET[ch])
                continue
            if ch in "\r\n":
                continue
            if ch != "=":
                raise Base64Error(si - 1)
            j = len(quantum)
            if j in (0, 1):
                raise Base64Error(si - 1)  # incorrect padding
            if j == 2:  # "==" expected, the first "=" is read
                while si < n and chr(src[si]) in "\r\n":
                    si += 1
                if si == n:
                    raise Base64Error(n)  # not enough padding
                if chr(src[si]) != "=":
                    raise Base64Error(si - 1)
                si += 1
            while si < n and chr(src[si]) in "\r\n":
                si += 1
            if si < n:
                raise Base64Error(si)  # trailing garbage
            value = 0
            for q in quantum:
                value = value << 6 | q
            value <<= 6 * (4 - j)
            out += value.to_bytes(3, "big")[: j - 1]
            return bytes(out)
        value = 0
        for q in quantum:
            value = value << 6 | q
        out += value.to_bytes(3, "big")
    return bytes(out)


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json_type(v: Any) -> str:
    """The JSON type Go's decoder names in "cannot unmarshal X into ..."."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, list | tuple):
        return "array"
    if isinstance(v, bytes | bytearray):
        return "bytes"
    return "string"


def _cannot_handle(kind: str, detail: str) -> errors.ApiError:
    return errors.bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: {detail}')


def _string_map(kind: str, obj: dict[str, Any], field: str, go_type: str) -> dict[str, Any] | None:
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _cannot_handle(kind, f"json: cannot unmarshal {_json_type(value)} into Go struct field "
                                   f"{kind}.{field} of type map[string]{go_type}")
    for k, v in value.items():
        if v is None:
            value[k] = ""  # JSON null decodes to the zero value
        elif isinstance(v, bytes | bytearray):
            raise _cannot_handle(kind, f"{field}[{k}]: a bytes value: kube-tui carries "
                                       + ("bytes as base64 text (as the JSON API does): send base64.b64encode(value)"
                                          if go_type == "[]uint8" else "text here: send a string"))
        elif not isinstance(v, str):
            raise _cannot_handle(kind, f"json: cannot unmarshal {_json_type(v)} into Go struct field "
                                       f"{kind}.{field} of type {'string' if go_type == 'string' else go_type}")
    return value


def _canonical(kind: str, values: dict[str, Any]) -> None:
    """Check and re-encode each base64 value as the apiserver would print it after decoding."""
    for k, v in values.items():
        try:
            values[k] = encode_base64(decode_base64(v))
        except Base64Error as e:
            raise _cannot_handle(kind, str(e)) from None


def normalize(obj: dict[str, Any]) -> None:
    """kube-apiserver's decoding of a ConfigMap or Secret, in place; ApiError 400 for what it cannot decode."""
    kind = obj.get("kind")
    if kind == "ConfigMap":
        _string_map(kind, obj, "data", "string")
        binary = _string_map(kind, obj, "binaryData", "[]uint8")
        if binary:
            _canonical(kind, binary)
    elif kind == "Secret":
        data = _string_map(kind, obj, "data", "[]uint8")
        if data:
            _canonical(kind, data)
        plain = _string_map(kind, obj, "stringData", "string")
        if "stringData" in obj:
            # write-only: every key merged into data (over what data had), and never stored
            del obj["stringData"]
        if plain:
            merged = obj.get("data") if isinstance(obj.get("data"), dict) else {}
            for k, v in plain.items():
                merged[k] = encode_base64(v.encode())
            obj["data"] = merged
        t = obj.get("type")
        if t is not None and not isinstance(t, str):
            raise _cannot_handle(kind, f"json: cannot unmarshal {_json_type(t)} into Go struct field "
                                       "Secret.type of type v1.SecretType")
    if kind in KINDS:
        imm = obj.get("immutable")
        if imm is not None and not isinstance(imm, bool):
            raise _cannot_handle(kind, f"json: cannot unmarshal {_json_type(imm)} into Go struct field "
                                       f"{kind}.immutable of type bool")


def secret_bytes(secret: dict[str, Any]) -> dict[str, bytes]:
    """A stored Secret's data, decoded (what a kubelet hands its containers)."""
    out: dict[str, bytes] = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[str(k)] = decode_base64(str(v))
        except Base64Error:
            continue  # never stored: normalize refuses it
    return out


def binary_size(values: dict[str, Any] | None) -> dict[str, int]:
    """The decoded size of each base64 value (what `describe` prints as "N bytes")."""
    out: dict[str, int] = {}
    for k, v in (values or {}).items():
        try:
            out[str(k)] = len(decode_base64(str(v)))
        except Base64Error:
            out[str(k)] = 0
    return out


def pod_references(pod: dict[str, Any]) -> set[tuple[str, str]]:
    """The (kind, name) of every ConfigMap and Secret a pod uses: env, envFrom, volumes (projected too) and
    imagePullSecrets, as the node authorizer's graph links them to the pod."""
    spec = pod.get("spec") or {}
    refs: set[tuple[str, str]] = set()

    def add(kind: str, ref: Any, key: str = "name") -> None:
        if isinstance(ref, dict) and ref.get(key):
            refs.add((kind, str(ref[key])))

    for group in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(group) or []:
            if not isinstance(c, dict):
                continue
            for e in c.get("env") or []:
                src = e.get("valueFrom") if isinstance(e, dict) else None
                if isinstance(src, dict):
                    add("ConfigMap", src.get("configMapKeyRef"))
                    add("Secret", src.get("secretKeyRef"))
            for e in c.get("envFrom") or []:
                if isinstance(e, dict):
                    add("ConfigMap", e.get("configMapRef"))
                    add("Secret", e.get("secretRef"))
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict):
            continue
        add("ConfigMap", v.get("configMap"))
        add("Secret", v.get("secret"), "secretName")
        for source in (v.get("projected") or {}).get("sources") or []:
            if isinstance(source, dict):
                add("ConfigMap", source.get("configMap"))
                add("Secret", source.get("secret"))
    for ref in spec.get("imagePullSecrets") or []:
        add("Secret", ref)
    return refs


__all__ = ["KINDS", "MAX_SIZE", "Base64Error", "binary_size", "decode_base64", "encode_base64", "normalize",
           "pod_references", "secret_bytes"]
