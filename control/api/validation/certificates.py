"""CertificateSigningRequest (certificates.k8s.io/v1), as pkg/apis/certificates/validation checks it."""

from __future__ import annotations

from typing import Any

from cryptography import x509

from control.api import certificates as csrs
from control.api.labels import is_dns1123_label, is_dns1123_subdomain
from control.api.validation.field import (
    Errors,
    as_dict,
    duplicate,
    forbidden,
    invalid,
    is_int,
    not_supported,
    required,
)

# ValidateSignerName: a DNS subdomain, '/', then a resource-name-like path
_MAX_DOMAIN = 253
_MAX_SIGNER = _MAX_DOMAIN + 253 + 63 + 1 + 1


def validate_signer_name(errs: Errors, path: str, signer: Any) -> None:
    """apivalidation.ValidateSignerName: example.com/signer-name, each part of the domain a DNS label."""
    if not isinstance(signer, str) or not signer:
        required(errs, path, "")
        return
    parts = signer.split("/")
    if len(parts) != 2:
        invalid(errs, path, signer, "must be a fully qualified domain and path of the form 'example.com/signer-name'")
        return
    domain, name = parts
    if len(domain) > _MAX_DOMAIN:
        errs.append(csrs_too_long(path, domain, _MAX_DOMAIN))
    labels = domain.split(".")
    for label in labels:
        problems = is_dns1123_label(label)
        if problems:
            for p in problems:
                invalid(errs, path, domain, f'validating label "{label}": {p}')
            break
    if len(labels) < 2:
        invalid(errs, path, domain, "should be a domain with at least two segments separated by dots")
    for label in name.split("."):
        problems = is_dns1123_subdomain(label)
        if problems:
            for p in problems:
                invalid(errs, path, name, f'validating label "{label}": {p}')
            break
    if len(signer) > _MAX_SIGNER:
        errs.append(csrs_too_long(path, signer, _MAX_SIGNER))


def csrs_too_long(path: str, value: str, limit: int) -> Any:
    from control.errors import FieldError

    return FieldError(path, "Too long", f"may not be more than {limit} bytes")


def validate_csr(obj: dict[str, Any], old: dict[str, Any] | None, errs: Errors) -> None:
    """validateCertificateSigningRequest, and on an update validateCertificateSigningRequestUpdate: approval
    conditions are never removed, an issued certificate never changed."""
    spec = as_dict(errs, obj.get("spec"), "spec") or {}
    status = as_dict(errs, obj.get("status"), "status") or {}
    pem = csrs.request_bytes(obj)
    if pem is None:
        invalid(errs, "spec.request", spec.get("request"), "must be base64-encoded PEM (kubectl's manifests: "
                "`base64 < user.csr | tr -d '\\n'`)")
    else:
        try:
            csrs.parse_request(pem)
        except ValueError as e:
            invalid(errs, "spec.request", csrs.go_bytes(pem), str(e))
    usages = spec.get("usages")
    if not isinstance(usages, list) or not usages:
        required(errs, "spec.usages", "")
        usages = []
    for i, usage in enumerate(usages):
        if usage not in csrs.USAGES:
            not_supported(errs, f"spec.usages[{i}]", usage if isinstance(usage, str) else None, sorted(csrs.USAGES))
    for i, usage in enumerate(usages):
        if usage in usages[:i]:
            duplicate(errs, f"spec.usages[{i}]", usage)
    signer = spec.get("signerName")
    if signer == csrs.LEGACY_UNKNOWN:
        invalid(errs, "spec.signerName", signer, "the legacy signerName is not allowed via this API version")
    else:
        validate_signer_name(errs, "spec.signerName", signer)
    seconds = spec.get("expirationSeconds")
    if seconds is not None and (not is_int(seconds) or seconds < 600):
        invalid(errs, "spec.expirationSeconds", seconds if is_int(seconds) else None,
                "may not specify a duration less than 600 seconds (10 minutes)")
    _validate_conditions(errs, status)
    cert = status.get("certificate")
    if cert:
        problem = _certificate_problem(cert)
        if problem:
            invalid(errs, "status.certificate", "<certificate data>", problem)
    if old is not None:
        old_conditions = [c.get("type") for c in ((old.get("status") or {}).get("conditions") or []) if isinstance(c, dict)]
        new_conditions = [c.get("type") for c in (status.get("conditions") or []) if isinstance(c, dict)]
        for kind in (csrs.APPROVED, csrs.DENIED, csrs.FAILED):
            if new_conditions.count(kind) < old_conditions.count(kind):
                forbidden(errs, "status.conditions", f'updates may not remove a condition of type "{kind}"')
        old_cert = (old.get("status") or {}).get("certificate")
        if old_cert and cert != old_cert:
            forbidden(errs, "status.certificate", "updates may not modify existing certificate content")


def _validate_conditions(errs: Errors, status: dict[str, Any]) -> None:
    seen: set[str] = set()
    approved = denied = False
    conditions = status.get("conditions") or []
    for i, c in enumerate(conditions if isinstance(conditions, list) else []):
        c = c if isinstance(c, dict) else {}
        kind, value = c.get("type"), c.get("status")
        if not kind:
            required(errs, f"status.conditions[{i}].type", "")
        if kind in (csrs.APPROVED, csrs.DENIED):
            approved, denied = approved or kind == csrs.APPROVED, denied or kind == csrs.DENIED
            if value != "True":
                not_supported(errs, f"status.conditions[{i}].status", value, ["True"])
        elif value not in ("True", "False", "Unknown"):
            not_supported(errs, f"status.conditions[{i}].status", value, ["False", "True", "Unknown"])
        if kind in seen:
            duplicate(errs, f"status.conditions[{i}].type", kind)
        seen.add(str(kind))
    if approved and denied:
        invalid(errs, "status.conditions", None, "Approved and Denied conditions are mutually exclusive")


def _certificate_problem(cert: Any) -> str:
    """validateCertificate: PEM CERTIFICATE blocks only, at least one, each a certificate."""
    import base64
    import binascii

    try:
        pem = base64.b64decode(str(cert), validate=True)
    except (binascii.Error, ValueError):
        return "must be base64-encoded PEM"
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        return "must contain at least one CERTIFICATE PEM block"
    try:
        x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        return f"x509: {e}"
    return ""
