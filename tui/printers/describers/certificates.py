"""kubectl's CertificateSigningRequest describer: who asked, for which signer and how long, its state, and the
subject and alternative names of the request itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from control.api import certificates as csrs
from control.api.labels import format_labels
from tui.printers.describers.writer import PrefixWriter, describe_events
from tui.printers.status import human_duration, meta_of, rfc1123z

_SUBJECT_LISTS = (("Organization", NameOID.ORGANIZATION_NAME), ("Organizational Unit", NameOID.ORGANIZATIONAL_UNIT_NAME),
                  ("Country", NameOID.COUNTRY_NAME), ("Locality", NameOID.LOCALITY_NAME),
                  ("Province", NameOID.STATE_OR_PROVINCE_NAME), ("StreetAddress", NameOID.STREET_ADDRESS),
                  ("PostalCode", NameOID.POSTAL_CODE))


def _list(w: PrefixWriter, name: str, values: list[str]) -> None:
    """printListHelper: NAME: first value, the others each on a line of their own in the same column."""
    if values:
        w.write(0, f"\t{name}:\t" + "\n\t\t".join(values) + "\n")


def describe_csr(csr: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """describeCertificateSigningRequest. Raises ValueError ("Error parsing CSR: ...") when spec.request is not a
    CSR, as kubectl fails then."""
    meta, spec = meta_of(csr), csr.get("spec") or {}
    try:
        req = csrs.parse_request(csrs.request_bytes(dict(csr)) or b"")
    except ValueError as e:
        raise ValueError(f"Error parsing CSR: {e}") from None
    w = PrefixWriter()
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Labels:\t{format_labels(meta.get('labels'))}\n")
    w.write(0, f"Annotations:\t{format_labels(meta.get('annotations'))}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    w.write(0, f"Requesting User:\t{spec.get('username', '')}\n")
    if spec.get("signerName"):
        w.write(0, f"Signer:\t{spec['signerName']}\n")
    if spec.get("expirationSeconds") is not None:
        w.write(0, f"Requested Duration:\t{human_duration(int(spec['expirationSeconds']))}\n")
    w.write(0, f"Status:\t{csrs.state(dict(csr))}\n")

    def attrs(oid: x509.ObjectIdentifier) -> list[str]:
        return [str(a.value) for a in req.subject.get_attributes_for_oid(oid)]

    w.write(0, "Subject:\n")
    w.write(0, f"\tCommon Name:\t{(attrs(NameOID.COMMON_NAME) or [''])[0]}\n")
    w.write(0, f"\tSerial Number:\t{(attrs(NameOID.SERIAL_NUMBER) or [''])[0]}\n")
    for label, oid in _SUBJECT_LISTS:
        _list(w, label, attrs(oid))
    try:
        san = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None and len(san):
        w.write(0, "Subject Alternative Names:\n")
        _list(w, "DNS Names", [str(v) for v in san.get_values_for_type(x509.DNSName)])
        _list(w, "Email Addresses", [str(v) for v in san.get_values_for_type(x509.RFC822Name)])
        _list(w, "URIs", [str(v) for v in san.get_values_for_type(x509.UniformResourceIdentifier)])
        _list(w, "IP Addresses", [str(v) for v in san.get_values_for_type(x509.IPAddress)])
    describe_events(w, events, now)
    return w.text()
