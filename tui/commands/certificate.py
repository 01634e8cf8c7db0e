"""`kube-tui certificate approve|deny NAME... [--force]`: add the Approved (or Denied) condition to
CertificateSigningRequests through their approval subresource, as kubectl certificate does (a request
already approved, or denied, is left alone unless --force)."""

from __future__ import annotations

import argparse

from control.api import certificates as csrs
from control.api import meta
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, report, with_client

# action -> (the condition it adds, the one it may not meet, its reason, what it prints)
CONDITIONS = {"approve": (csrs.APPROVED, csrs.DENIED, "KubectlApprove", "approved"),
              "deny": (csrs.DENIED, csrs.APPROVED, "KubectlDeny", "denied")}
CONFLICT_RETRIES = 10


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("action", nargs="?", choices=sorted(CONDITIONS), help="approve or deny")
    p.add_argument("names", nargs="*", metavar="NAME", help="CertificateSigningRequest names")
    p.add_argument("--force", action="store_true", help="update the request even if it is already approved/denied")
    add_client_args(p)


async def modify(client: Client, action: str, names: list[str], force: bool) -> int:
    """kubectl's modifyCertificateCondition: each request in turn, stopping at the first error (a request
    already approved cannot be denied, nor a denied one approved: addConditionIfNeeded)."""
    kind, opposite, reason, done = CONDITIONS[action]
    for name in names:
        try:
            for attempt in range(CONFLICT_RETRIES + 1):
                csr = await client.get("CertificateSigningRequest", name, None)
                status = csr.setdefault("status", {})
                if any(c.get("type") == opposite for c in status.get("conditions") or []):
                    return report([f'certificate signing request "{name}" is already {opposite}'])
                already = any(c.get("type") == kind for c in status.get("conditions") or [])
                if not already:
                    status["conditions"] = [*(status.get("conditions") or []), {
                        "type": kind, "status": "True", "reason": reason,
                        "message": f"This CSR was {done} by kubectl certificate {action}.", "lastUpdateTime": meta.now()}]
                if already and not force:
                    break
                try:
                    await client.update(csr, "approval")
                    break
                except ApiError as e:
                    if e.code != 409 or attempt == CONFLICT_RETRIES:
                        raise
            print(f"certificatesigningrequest.{csrs.GROUP}/{name} {done}", flush=True)
        except ApiError as e:
            return report([e])
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action is None:
        return fail("error: specify an action: kube-tui certificate approve|deny NAME...")
    if not args.names:
        return fail("error: one or more CSRs must be specified as <name> or -f <filename>\n"
                    f"See 'kube-tui certificate {args.action} -h' for help and examples")
    result = with_client(args, lambda c: modify(c, args.action, args.names, args.force))
    return result
