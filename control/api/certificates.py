"""CertificateSigningRequest (certificates.k8s.io/v1): a PEM CSR, who asked for it, its approval and the issued
certificate, as kube-apiserver's registry (pkg/registry/certificates/certificates/strategy.go) and its
admission plugins (plugin/pkg/admission/certificates) treat them.

A request is created with the requester's username, uid and groups (never the client's); an update changes
metadata alone; /approval changes only the Approved and Denied conditions, /status the rest of the status.
The signer (control/controllers/certificates.py) signs an approved request with the cluster CA.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography import x509

from control import errors
from control.api import meta

GROUP = "certificates.k8s.io"
KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"
LEGACY_UNKNOWN = "kubernetes.io/legacy-unknown"

APPROVED, DENIED, FAILED = "Approved", "Denied", "Failed"
APPROVAL_CONDITIONS = (APPROVED, DENIED)

# allValidUsages (pkg/apis/certificates/types.go): key usages, then extended key usages
KEY_USAGES = ("signing", "digital signature", "content commitment", "key encipherment", "key agreement",
              "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only")
EXT_KEY_USAGES = ("any", "server auth", "client auth", "code signing", "email protection", "s/mime",
                  "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc",
                  "netscape sgc")
USAGES = KEY_USAGES + EXT_KEY_USAGES


def request_bytes(csr: dict) -> bytes | None:
    """spec.request decoded from base64 (as JSON carries []byte); None when it is not base64."""
    raw = (csr.get("spec") or {}).get("request") if isinstance(csr.get("spec"), dict) else None
    if not isinstance(raw, str):
        return b""
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_request(pem: bytes) -> x509.CertificateSigningRequest:
    """certificates.ParseCSR, then CheckSignature: ValueError in Go's words when the PEM is not a signed CSR."""
    start = pem.find(b"-----BEGIN ")
    if start < 0 or not pem[start:].startswith(b"-----BEGIN CERTIFICATE REQUEST-----"):
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    try:
        req = x509.load_pem_x509_csr(pem[start:])
    except ValueError as e:
        raise ValueError(f"x509: malformed certificate request: {e}") from None
    if not req.is_signature_valid:
        raise ValueError("x509: ECDSA verification failure")
    return req


def go_bytes(data: bytes) -> Any:
    """A []byte as a Go field error prints it (%#v): []byte{0x2d, 0x2d, ...}."""
    class GoBytes:
        def __repr__(self) -> str:
            return "[]byte{" + ", ".join(f"0x{b:x}" for b in data) + "}"
    return GoBytes()


def admit(csr: dict, user: str) -> None:
    """PrepareForCreate: the status cleared; spec.username, uid, groups (and extra) are the requester's."""
    from control.apiserver.identity import groups_of

    spec = csr.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    for key in ("username", "uid", "groups", "extra"):
        spec.pop(key, None)
    spec["username"] = str(user)
    groups = list(groups_of(user))
    if groups:
        spec["groups"] = groups
    csr["status"] = {}


def has_condition(csr: dict, kind: str) -> bool:
    return any(isinstance(c, dict) and c.get("type") == kind and c.get("status") == "True"
               for c in (csr.get("status") or {}).get("conditions") or [])


def _conditions(obj: dict) -> list[dict]:
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    return [c for c in status.get("conditions") or [] if isinstance(c, dict)]


def _timestamps(new: dict, old: dict) -> None:
    """populateConditionTimestamps: lastUpdateTime now if unset; lastTransitionTime kept from the old condition
    of the same type and status, else now."""
    now = meta.now()
    olds = {c.get("type"): c for c in _conditions(old)}
    for c in _conditions(new):
        if not c.get("lastUpdateTime"):
            c["lastUpdateTime"] = now
        if not c.get("lastTransitionTime"):
            before = olds.get(c.get("type"))
            same = before is not None and before.get("status") == c.get("status") and before.get("lastTransitionTime")
            c["lastTransitionTime"] = before["lastTransitionTime"] if same and before else now


def prepare_update(new: dict, cur: dict, sub: str | None) -> None:
    """The strategies' PrepareForUpdate: an update keeps spec and status; /status keeps spec and the approval
    conditions; /approval keeps spec, the certificate and the other conditions."""
    new["spec"] = cur.get("spec") or {}
    if sub is None:
        new["status"] = cur.get("status") or {}
        return
    status = new.get("status") if isinstance(new.get("status"), dict) else {}
    new["status"] = status
    old = _conditions(cur)
    mine = APPROVAL_CONDITIONS if sub == "approval" else ()
    kept = [c for c in old if (c.get("type") in APPROVAL_CONDITIONS) != bool(mine)]
    wanted = [c for c in _conditions(new) if (c.get("type") in APPROVAL_CONDITIONS) == bool(mine)]
    conditions = wanted + kept if sub == "approval" else kept + wanted
    if sub == "approval":
        if (cur.get("status") or {}).get("certificate"):
            status["certificate"] = cur["status"]["certificate"]
        else:
            status.pop("certificate", None)
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    _timestamps(new, cur)


def state(csr: dict) -> str:
    """extractCSRStatus: Denied, Approved or Pending, then Failed and Issued (kubectl get csr's CONDITION)."""
    types = {c.get("type") for c in _conditions(csr)}
    out = DENIED if DENIED in types else APPROVED if APPROVED in types else "Pending"
    if FAILED in types:
        out += ",Failed"
    if (csr.get("status") or {}).get("certificate"):
        out += ",Issued"
    return out


def forbidden(name: str, why: str) -> errors.ApiError:
    """admission.NewForbidden for a CertificateSigningRequest."""
    return errors.ApiError(403, "Forbidden", f'certificatesigningrequests.{GROUP} "{name}" is forbidden: {why}',
                           {"name": name, "group": GROUP, "kind": "certificatesigningrequests"})


def signer_allowed(may: Any, verb: str, signer: str) -> bool:
    """The certificates admission plugins' IsAuthorizedForSignerName: `verb` on signers/SIGNER, or on the
    signer's domain wildcard signers/DOMAIN/*."""
    domain = signer.split("/", 1)[0]
    return bool(may(verb, signer) or may(verb, f"{domain}/*"))


def restricted_subject(csr: dict) -> str:
    """CertificateSubjectRestriction: the kube-apiserver-client signer may not issue for system:masters
    (a certificate in that group would pass every authorization). The refusal, or ""."""
    spec = csr.get("spec") or {}
    if spec.get("signerName") != KUBE_APISERVER_CLIENT:
        return ""
    pem = request_bytes(csr)
    try:
        req = parse_request(pem or b"")
    except ValueError:
        return ""
    orgs = [a.value for a in req.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)]
    if "system:masters" in orgs:
        return f"use of {KUBE_APISERVER_CLIENT} signer with system:masters group is not allowed"
    return ""
