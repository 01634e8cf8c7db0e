"""API errors in Kubernetes' shape: an exception that becomes a `Status` object on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FieldError:
    """One bad field, worded like k8s.io/apimachinery's field.Error."""

    field: str
    type: str  # "Required value", "Invalid value", "Unsupported value", "Duplicate value", ...
    detail: str = ""
    value: Any = None

    def __str__(self) -> str:
        if self.type == "Required value":
            msg = f"{self.field}: Required value"
        elif self.value is not None and self.type in ("Invalid value", "Unsupported value", "Duplicate value"):
            if isinstance(self.value, bool):  # Go prints true/false
                shown = "true" if self.value else "false"
            else:
                shown = f'"{self.value}"' if isinstance(self.value, str) else repr(self.value)
            msg = f"{self.field}: {self.type}: {shown}"
        else:
            msg = f"{self.field}: {self.type}"
        return f"{msg}: {self.detail}" if self.detail else msg

    def cause(self) -> dict:
        """A StatusCause: the field apart, the message without it (ErrorBody), as kubectl joins them again."""
        body = str(self)[len(self.field) + 2:] if str(self).startswith(f"{self.field}: ") else str(self)
        return {"field": self.field, "reason": _REASON_OF_TYPE.get(self.type, "FieldValueInvalid"), "message": body}


_REASON_OF_TYPE = {
    "Required value": "FieldValueRequired",
    "Invalid value": "FieldValueInvalid",
    "Unsupported value": "FieldValueNotSupported",
    "Duplicate value": "FieldValueDuplicate",
    "Forbidden": "FieldValueForbidden",
    "Too long": "FieldValueTooLong",
    "Too many": "FieldValueTooMany",
    "Not found": "FieldValueNotFound",
}


class ApiError(Exception):
    """An error the API server answers with; `status()` is the Kubernetes Status object."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        st: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:
            del st["reason"]  # a Status a REST handler returned as its result has none (the eviction's 500)
        if self.details is not None:  # {} too: kube-apiserver sends "details": {} with a bare 404 (kubectl debug reads it)
            st["details"] = self.details
        return st

    @classmethod
    def from_status(cls, status: dict) -> ApiError:
        return cls(
            int(status.get("code", 500)),
            str(status.get("reason", "InternalError")),
            str(status.get("message", "unknown error")),
            status.get("details"),
        )

    def __str__(self) -> str:
        return f"Error from server ({self.reason}): {self.message}"


class CreateRefused(ApiError):
    """The create of an apply (the object was not there) refused: kubectl says it of "creating", not "applying"."""

    def __init__(self, e: ApiError) -> None:
        super().__init__(e.code, e.reason, e.message, e.details)


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    res = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{res} "{name}" not found', {"name": name, "kind": resource})


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    res = f"{resource}.{group}" if group else resource
    return ApiError(409, "AlreadyExists", f'{res} "{name}" already exists', {"name": name, "kind": resource})


def conflict(resource: str, name: str, why: str = "") -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": {why}', {"name": name, "kind": resource}
    )


def invalid(kind: str, name: str, causes: list[FieldError]) -> ApiError:
    if len(causes) == 1:
        what = str(causes[0])
    else:
        what = "[" + ", ".join(str(c) for c in causes) + "]"
    from control.api.kinds import KINDS  # kinds imports this module

    info = KINDS.get(kind)
    group = info.group if info is not None else ""
    details: dict[str, Any] = {"name": name, "kind": kind, "causes": [c.cause() for c in causes]}
    if group:
        details["group"] = group
    # NewInvalid names the kind with its group: Deployment.apps "web" is invalid
    return ApiError(422, "Invalid", f'{kind}.{group} "{name}" is invalid: {what}' if group
                    else f'{kind} "{name}" is invalid: {what}', details)


def forbidden(user: str, verb: str, resource: str, name: str = "", namespace: str = "", why: str = "") -> ApiError:
    obj = f'{resource} "{name}"' if name else resource
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    msg = f'{obj} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group ""{scope}'
    if why:
        msg += f": {why}"
    return ApiError(403, "Forbidden", msg, {"name": name, "kind": resource})


def unauthorized(why: str = "") -> ApiError:
    msg = "Unauthorized"
    if why:
        msg += f": {why}"
    return ApiError(401, "Unauthorized", msg)


def gone(why: str) -> ApiError:
    return ApiError(410, "Expired", why)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", message)


def unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)


def timeout(message: str) -> ApiError:
    return ApiError(504, "Timeout", message)


_GO_ESCAPES = {"\\": "\\\\", '"': '\\"', "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v"}


def go_quote(text: str) -> str:
    """Go's strconv.Quote (%q), as Kubernetes' and kubectl's messages show a value: printable characters as
    they are, the others escaped."""
    out = []
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'
