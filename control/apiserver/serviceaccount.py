"""ServiceAccount tokens, as kube-apiserver issues and checks them (pkg/serviceaccount): JWTs signed with the
control plane's own key, asked for with the TokenRequest subresource and accepted as bearer tokens.

The key (ES256, P-256) is made on the first start and kept owner-only in DATA_DIR/pki/sa.key, beside the CA
(pki.py), as kubeadm keeps sa.key. A token's claims are Kubernetes' own: iss, sub
"system:serviceaccount:NS:NAME", aud, exp, iat, nbf, jti and the private "kubernetes.io" claim naming the
namespace, the ServiceAccount and the Pod or Secret the token is bound to. A token is accepted while its
signature, time and audience check out and what it names still exists with the same uid (validate()); the
401's words are the authenticator's own ("service account token has expired", ...).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from control import errors
from control.api import meta
from control.api.rbac import service_account_user
from control.errors import ApiError, FieldError

ISSUER = "https://kubernetes.default.svc.cluster.local"  # kubeadm's --service-account-issuer
API_AUDIENCES = (ISSUER,)  # --api-audiences defaults to the issuer
DEFAULT_EXPIRATION = 3600  # TokenRequestSpec.expirationSeconds' default
MIN_EXPIRATION = 600  # ValidateTokenRequest: 10 minutes
MAX_EXPIRATION = 1 << 32
LEEWAY = 60  # go-jose's jwt.DefaultLeeway: clocks may differ this much
VERIFIED_CACHE = 4096  # signatures checked once per token, as kube-apiserver caches authenticated tokens

# The getter validate() reads the store with: (kind, namespace, name) -> the object, or None.
Getter = Callable[[str, str, str], dict | None]


class TokenError(Exception):
    """A bearer token that is not (or no longer) valid: the authenticator's reason, for the 401."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class TokenIssuer:
    """Signs and verifies the cluster's ServiceAccount tokens with one ES256 key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, issuer: str = ISSUER,
                 audiences: tuple[str, ...] = API_AUDIENCES) -> None:
        self.key = key
        self.public = key.public_key()
        self.issuer = issuer
        self.audiences = audiences
        der = self.public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.key_id = _b64(hashlib.sha256(der).digest())  # keyIDFromPublicKey: the key's SHA-256, base64url
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    @classmethod
    def load(cls, data_dir: Path | str | None) -> TokenIssuer:
        """The issuer with DATA_DIR/pki/sa.key (made owner-only on the first start); a key for this run only
        without a data dir (a test's in-memory store)."""
        if data_dir is None:
            return cls(ec.generate_private_key(ec.SECP256R1()))
        pki = Path(data_dir) / "pki"
        pki.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = pki / "sa.key"
        if not path.exists():
            key = ec.generate_private_key(ec.SECP256R1())
            _write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        loaded = serialization.load_pem_private_key(path.read_bytes(), None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: not an EC private key: remove it and a new one is made on the next start")
        return cls(loaded)

    # -- signing ---------------------------------------------------------------------------------------
    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "ES256", "kid": self.key_id}
        signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + _b64(json.dumps(claims, separators=(",", ":")).encode()))
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def claims(self, sa: dict, expiration: int, audiences: list[str], *, pod: dict | None = None,
               secret: dict | None = None, node: dict | None = None, now: float | None = None) -> dict[str, Any]:
        """serviceaccount.Claims: the public claims and the kubernetes.io one for a ServiceAccount, and the
        Pod (with its Node) or Secret the token is bound to."""
        issued = int(now if now is not None else time.time())
        md = sa.get("metadata") or {}
        ns = str(md.get("namespace") or "default")
        private: dict[str, Any] = {"namespace": ns, "serviceaccount": _ref(sa)}
        if pod is not None:
            private["pod"] = _ref(pod)
            if node is not None:
                private["node"] = _ref(node)
        elif secret is not None:
            private["secret"] = _ref(secret)
        return {"aud": list(audiences), "exp": issued + int(expiration), "iat": issued, "iss": self.issuer,
                "jti": str(uuid.uuid4()), "kubernetes.io": private, "nbf": issued,
                "sub": service_account_user(ns, str(md.get("name") or ""))}

    # -- verifying -------------------------------------------------------------------------------------
    def is_ours(self, token: str) -> bool:
        """Whether a bearer token is a JWT this issuer made (by its iss, read before the signature is checked,
        as the JWT authenticator's hasCorrectIssuer): any other token is left to the other authenticators."""
        parts = token.split(".")
        if len(parts) != 3 or not token.startswith("eyJ"):
            return False
        try:
            return json.loads(_unb64(parts[1])).get("iss") == self.issuer
        except (ValueError, binascii.Error, AttributeError):
            return False

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature is this issuer's (TokenError otherwise); time, audience and
        the objects it names are checked by validate()."""
        known = self._verified.get(token)
        if known is not None:
            self._verified.move_to_end(token)
            return known
        try:
            head64, body64, sig64 = token.split(".")
            header = json.loads(_unb64(head64))
            claims = json.loads(_unb64(body64))
            sig = _unb64(sig64)
        except (ValueError, binascii.Error) as e:
            raise TokenError(f"malformed token: {e}") from None
        if not isinstance(header, dict) or header.get("alg") != "ES256" or not isinstance(claims, dict):
            raise TokenError('go-jose/go-jose: unexpected signature algorithm in JWT header; expected ["ES256"]')
        if len(sig) != 64:
            raise TokenError("go-jose/go-jose: error in cryptographic primitive")
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            self.public.verify(der, f"{head64}.{body64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise TokenError("go-jose/go-jose: error in cryptographic primitive") from None
        self._verified[token] = claims
        if len(self._verified) > VERIFIED_CACHE:
            self._verified.popitem(last=False)
        return claims

    def authenticate(self, token: str, get: Getter, *, now: float | None = None) -> str:
        """The ServiceAccount's username a token of ours stands for, or TokenError with the reason."""
        return validate(self.verify(token), get, self.audiences, now=now)

    # -- discovery ---------------------------------------------------------------------------------------
    def openid_configuration(self) -> dict[str, Any]:
        """/.well-known/openid-configuration, as kube-apiserver's serviceaccount issuer discovery serves it."""
        return {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/openid/v1/jwks", "response_types_supported":
                ["id_token"], "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["ES256"]}

    def jwks(self) -> dict[str, Any]:
        """/openid/v1/jwks: the public key tokens are verified with."""
        numbers = self.public.public_numbers()
        return {"keys": [{"use": "sig", "kty": "EC", "kid": self.key_id, "crv": "P-256", "alg": "ES256",
                          "x": _b64(numbers.x.to_bytes(32, "big")), "y": _b64(numbers.y.to_bytes(32, "big"))}]}


def _ref(obj: dict) -> dict[str, str]:
    md = obj.get("metadata") or {}
    return {"name": str(md.get("name") or ""), "uid": str(md.get("uid") or "")}


def validate(claims: dict[str, Any], get: Getter, audiences: tuple[str, ...], *, now: float | None = None) -> str:
    """The JWT authenticator's and serviceaccount validator's checks on verified claims: audience, expiry and
    not-before, then the ServiceAccount (and the Pod or Secret the token is bound to) still there with the
    uid the token names. The username, or TokenError worded as kube-apiserver words it."""
    aud = claims.get("aud")
    token_auds = [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]
    if not set(token_auds or audiences) & set(audiences):  # a token with no audience is a legacy one: the API's
        raise TokenError(f"token audiences {_go_list(token_auds)} is invalid for the target audiences "
                         f"{_go_list(list(audiences))}")
    t = time.time() if now is None else now
    try:
        exp, nbf, iat = (claims.get(k) for k in ("exp", "nbf", "iat"))
        if exp is not None and t - LEEWAY > float(exp):
            raise TokenError("service account token has expired")
        if nbf is not None and t + LEEWAY < float(nbf):
            raise TokenError("service account token is not valid yet")
        if iat is not None and t + LEEWAY < float(iat):
            raise TokenError("service account token is issued in the future")
    except (TypeError, ValueError):
        raise TokenError("service account token claims could not be validated: malformed time claim") from None
    private = claims.get("kubernetes.io")
    if not isinstance(private, dict) or not isinstance(private.get("serviceaccount"), dict):
        raise TokenError("service account token claims could not be validated: no kubernetes.io claim")
    ns = str(private.get("namespace") or "")
    sa_ref = private["serviceaccount"]
    _check_ref(get, "ServiceAccount", ns, sa_ref, t, "service account UID ({uid}) does not match claim ({claim})")
    for kind, key, wording in (("Pod", "pod", "pod UID ({uid}) does not match service account pod ref claim ({claim})"),
                               ("Secret", "secret", "secret UID ({uid}) does not match service account secret ref "
                                                    "claim ({claim})")):
        if isinstance(private.get(key), dict):
            _check_ref(get, kind, ns, private[key], t, wording)
    return service_account_user(ns, str(sa_ref.get("name") or ""))


def user_details(claims: dict[str, Any]) -> dict[str, Any]:
    """ServiceAccountInfo.UserInfo's uid and extra for a token's verified claims: the ServiceAccount's uid, the
    token's id (credential-id JTI=...) and the pod and node it is bound to."""
    private = claims.get("kubernetes.io") if isinstance(claims.get("kubernetes.io"), dict) else {}
    extra: dict[str, list[str]] = {}
    if claims.get("jti"):
        extra["authentication.kubernetes.io/credential-id"] = [f"JTI={claims['jti']}"]
    for key in ("node", "pod"):
        ref = private.get(key)
        if isinstance(ref, dict):
            extra[f"authentication.kubernetes.io/{key}-name"] = [str(ref.get("name") or "")]
            extra[f"authentication.kubernetes.io/{key}-uid"] = [str(ref.get("uid") or "")]
    sa = private.get("serviceaccount") if isinstance(private.get("serviceaccount"), dict) else {}
    out: dict[str, Any] = {"uid": str(sa.get("uid") or "")}
    if extra:
        out["extra"] = extra
    return out


def _check_ref(get: Getter, kind: str, ns: str, ref: dict, now: float, wording: str) -> None:
    name, claim = str(ref.get("name") or ""), str(ref.get("uid") or "")
    obj = get(kind, ns, name)
    if obj is None:
        raise TokenError(f'{kind.lower()}s "{name}" not found')
    md = obj.get("metadata") or {}
    deleted = md.get("deletionTimestamp")
    when = meta.parse_time(deleted) if deleted else None
    if when is not None and when < now - LEEWAY:
        what = {"ServiceAccount": "service account", "Pod": "pod", "Secret": "secret"}[kind]
        raise TokenError(f"{what} {ns}/{name} has been deleted")
    if str(md.get("uid") or "") != claim:
        raise TokenError(wording.format(uid=md.get("uid") or "", claim=claim))


def _go_list(values: list[str]) -> str:
    """A []string as Go's %q prints it: ["a" "b"]."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


# -- the serviceaccounts/token subresource ---------------------------------------------------------------

AUTHN = "authentication.k8s.io/v1"
BOUND_KINDS = ("Pod", "Secret")


def token_request(issuer: TokenIssuer, namespace: str, name: str, request: Any, get: Getter,
                  *, now: float | None = None) -> dict[str, Any]:
    """TokenREST.Create: a TokenRequest for ServiceAccount NAMESPACE/NAME, validated (ValidateTokenRequest),
    its bound object looked up, answered with the signed token and when it expires."""
    request = {} if request is None else request
    if not isinstance(request, dict):
        raise errors.bad_request(f"a TokenRequest must be an object, got {type(request).__name__}")
    if request.get("kind") not in (None, "", "TokenRequest") or request.get("apiVersion") not in (None, "", AUTHN):
        raise errors.bad_request(f"the body of serviceaccounts/token must be a TokenRequest ({AUTHN}), not a "
                                 f"{request.get('apiVersion')} {request.get('kind')}")
    spec = request.get("spec") if isinstance(request.get("spec"), dict) else {}
    expiration = spec.get("expirationSeconds")
    expiration = DEFAULT_EXPIRATION if expiration is None else expiration
    audiences = spec.get("audiences") or []
    errs: list[FieldError] = []
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        errs.append(FieldError("spec.expirationSeconds", "Invalid value", "must be a whole number of seconds",
                               expiration))
    elif expiration < MIN_EXPIRATION:
        errs.append(FieldError("spec.expirationSeconds", "Invalid value",
                               "may not specify a duration less than 10 minutes", expiration))
    elif expiration > MAX_EXPIRATION:
        errs.append(FieldError("spec.expirationSeconds", "Invalid value",
                               "may not specify a duration larger than 2^32 seconds", expiration))
    if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
        errs.append(FieldError("spec.audiences", "Invalid value", "must be a list of non-empty strings", None))
    if errs:
        what = str(errs[0]) if len(errs) == 1 else "[" + ", ".join(map(str, errs)) + "]"
        raise ApiError(422, "Invalid", f'TokenRequest.authentication.k8s.io "" is invalid: {what}',
                       {"name": "", "group": "authentication.k8s.io", "kind": "TokenRequest",
                        "causes": [e.cause() for e in errs]})
    sa = get("ServiceAccount", namespace, name)
    if sa is None:
        raise errors.not_found("serviceaccounts", name)
    pod = secret = node = None
    ref = spec.get("boundObjectRef")
    if ref is not None:
        if not isinstance(ref, dict):
            raise errors.bad_request("spec.boundObjectRef must be an object (kind, apiVersion, name, uid)")
        kind, api_version = str(ref.get("kind") or ""), str(ref.get("apiVersion") or "")
        group, _, version = api_version.rpartition("/")
        ref_name = str(ref.get("name") or "")
        if group or kind not in BOUND_KINDS:
            raise errors.bad_request(f"cannot bind token to object of type {group}/{version}, Kind={kind}")
        bound = get(kind, namespace, ref_name)
        if bound is None:
            raise errors.not_found(f"{kind.lower()}s", ref_name)
        if kind == "Pod":
            pod = bound
            pod_spec = pod.get("spec") or {}
            if pod_spec.get("serviceAccountName") != name:
                raise errors.bad_request(f'cannot bind token for serviceaccount "{name}" to pod running with '
                                         "different serviceaccount name.")
            node = get("Node", "", str(pod_spec["nodeName"])) if pod_spec.get("nodeName") else None
        else:
            secret = bound
        uid = str((bound.get("metadata") or {}).get("uid") or "")
        if ref.get("uid") and ref["uid"] != uid:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {kind} "{ref_name}": the UID in the '
                           f"bound object reference ({ref['uid']}) does not match the UID in record. The object "
                           "might have been deleted and then recreated", {"name": ref_name, "kind": kind})
        ref = {k: v for k, v in ref.items() if v not in (None, "")}  # answered as asked, as TokenREST does
    audiences = audiences or list(issuer.audiences)
    claims = issuer.claims(sa, expiration, audiences, pod=pod, secret=secret, node=node, now=now)
    md = {"creationTimestamp": None, "namespace": namespace}
    if isinstance(request.get("metadata"), dict) and request["metadata"].get("name"):
        md["name"] = request["metadata"]["name"]
    return {"kind": "TokenRequest", "apiVersion": AUTHN, "metadata": md,
            "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": ref},
            "status": {"token": issuer.sign(claims), "expirationTimestamp": meta.to_rfc3339(claims["exp"])}}


# -- the ServiceAccount admission plugin's token volume -----------------------------------------------------

TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"  # DefaultAPITokenMountPath
TOKEN_VOLUME_PREFIX = "kube-api-access-"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
                       "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
                       "guaranteed across distributions of Kubernetes clusters.")
KUBELET_TOKEN_EXPIRATION = 3607  # WarnOnlyBoundTokenExpirationSeconds: what admission asks the kubelet for


def should_automount(sa: dict | None, pod_spec: dict) -> bool:
    """shouldAutomount: the pod's automountServiceAccountToken if it says, else the ServiceAccount's, else yes."""
    if pod_spec.get("automountServiceAccountToken") is not None:
        return pod_spec["automountServiceAccountToken"] is not False
    if sa is not None and sa.get("automountServiceAccountToken") is not None:
        return sa["automountServiceAccountToken"] is not False
    return True


def token_volume_source() -> dict[str, Any]:
    """TokenVolumeSource: the token, the cluster's CA and the pod's namespace, in one projected volume."""
    return {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": KUBELET_TOKEN_EXPIRATION}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}


def mount_token(spec: dict, suffix: str) -> None:
    """mountServiceAccountToken: every init container and container that has nothing at TOKEN_MOUNT_PATH yet
    mounts the kube-api-access-XXXXX volume there, read-only; the volume is added if one of them does and
    the pod does not have it already."""
    volumes = spec.get("volumes") if isinstance(spec.get("volumes"), list) else []
    existing = next((v.get("name") for v in volumes if isinstance(v, dict)
                     and str(v.get("name") or "").startswith(TOKEN_VOLUME_PREFIX)), None)
    name = existing or f"{TOKEN_VOLUME_PREFIX}{suffix}"
    needed = False
    for group in ("initContainers", "containers"):
        for c in spec.get(group) or []:
            if not isinstance(c, dict):
                continue
            mounts = c.get("volumeMounts") if isinstance(c.get("volumeMounts"), list) else []
            if any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH for m in mounts):
                continue
            c["volumeMounts"] = [*mounts, {"name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
            needed = True
    if needed and existing is None:
        spec["volumes"] = [*volumes, {"name": name, "projected": token_volume_source()}]
