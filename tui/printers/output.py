"""`kubectl get -o yaml` and `-o json`."""

from __future__ import annotations

import datetime
import json
import math
import re
from typing import Any

import yaml


class _KubeDumper(yaml.SafeDumper):
    """Block style, keys in the object's order, double quotes where a plain scalar would change type."""

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        """go-yaml's (libyaml's) double-quoted scalar, which kubectl prints: past column 80 it breaks only at a
        space, the space becoming the line break (a backslash keeps a second space); PyYAML's breaks anywhere,
        a backslash ending each line."""
        self.write_indicator('"', True)
        spaces = False
        for i, ch in enumerate(text):
            if ch in '"\\\x85\u2028\u2029\uFEFF' or not ("\x20" <= ch <= "\x7E" or self.allow_unicode and (
                    "\xA0" <= ch <= "\uD7FF" or "\uE000" <= ch <= "\uFFFD")):
                if ch in self.ESCAPE_REPLACEMENTS:
                    data = "\\" + self.ESCAPE_REPLACEMENTS[ch]
                elif ch <= "\xFF":
                    data = f"\\x{ord(ch):02X}"
                elif ch <= "\uFFFF":
                    data = f"\\u{ord(ch):04X}"
                else:
                    data = f"\\U{ord(ch):08X}"
                spaces = False
            elif ch == " ":
                if split and not spaces and self.column > self.best_width and 0 < i < len(text) - 1:
                    self.write_indent()
                    self.whitespace = self.indention = False
                    data = "\\" if text[i + 1] == " " else ""
                else:
                    data = " "
                spaces = True
            else:
                data, spaces = ch, False
            self.column += len(data)
            self.stream.write(data)
        self.write_indicator('"', False)


# go-yaml v2's resolve() (what kubectl's printer and its -f reader use) for a plain scalar, where it reads more
# than PyYAML's resolver does: strconv.ParseInt/ParseUint(s, 0, 64) and its yamlStyleFloat after taking out every
# "_", strconv.ParseFloat for one that begins with ".", its timestamp formats, and its encoder's base-60 check.
# Checked against kubectl v1.32's quoting of several thousand such strings.
_GO_INT = re.compile(r"([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)|([1-9][0-9]*))")
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_GO_DOT_FLOAT = re.compile(r"\.(?:[0-9]+(?:[eE][-+]?[0-9]+)?)")
_GO_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")  # its encoder's isBase60Float
_GO_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"  # 2006-1-2, then T15:4:5Z07:00 or " 15:4:5"
                           r"(?:(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2}))"
                           r"|(?: ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?))?")


def _go_yaml_not_a_string(value: str) -> bool:
    """Whether go-yaml v2 reads `value`, plain, as something other than a string (a number, a timestamp, a
    boolean): kubectl quotes such a value, and reads it back unquoted as that other thing."""
    if value in ("y", "Y", "n", "N") or _GO_BASE60.fullmatch(value):  # y/n: booleans PyYAML's resolver does not know
        return True
    first = value[:1]
    if first == ".":
        return _GO_DOT_FLOAT.fullmatch(value) is not None and math.isfinite(float(value))
    if first == "" or first not in "+-0123456789":
        return False
    ts = _GO_TIMESTAMP.fullmatch(value)
    if ts is not None:
        year, month, day = (int(g) for g in ts.group(1, 2, 3))
        clock = [int(g) for g in ts.group(4, 5, 6, 7, 8, 9) if g is not None]
        try:
            datetime.datetime(year or 2000, month, day, *clock)  # time.Parse's range checks (its year 0 is a leap year)
            return True
        except ValueError:
            pass  # not a date; a number, maybe
    plain = value.replace("_", "")
    m = _GO_INT.fullmatch(plain)
    if m is not None:
        sign, hexa, octal, binary, zero_octal, decimal = m.groups()
        n = (int(hexa, 16) if hexa else int(octal, 8) if octal else int(binary, 2) if binary
             else int(zero_octal, 8) if zero_octal else int(decimal))
        if (not sign and n < 1 << 64) or n <= (1 << 63) - (sign != "-"):  # ParseUint, else ParseInt
            return True
    return _GO_FLOAT.fullmatch(plain) is not None and math.isfinite(float(plain))


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    node = dumper.represent_scalar("tag:yaml.org,2002:str", value)
    # Quoted where either reader would take it for something else: PyYAML's (kube-tui's own -f) and go-yaml's
    # (kubectl's), which also reads y/n, 1e3, 08, 0o17, 1.5e3 and 2024-1-2 as booleans, numbers and timestamps
    tag = dumper.resolve(yaml.ScalarNode, value, (True, False))
    if _go_yaml_not_a_string(value) or tag not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:yaml"):
        node.style = '"'  # (a lone "*", "&" or "!" is left to the emitter: single quotes, as go-yaml's '*')
    return node


_KubeDumper.add_representer(str, _represent_str)


def sorted_keys(obj: Any) -> Any:
    """kubectl's key order in -o yaml and diff: its printer goes through JSON to a map, so every level is sorted."""
    if isinstance(obj, dict):
        return {k: sorted_keys(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [sorted_keys(v) for v in obj]
    return obj


def to_yaml(obj: Any) -> str:
    """kubectl -o yaml: block style, every level's keys sorted (kubectl's printer goes through JSON to a map),
    sequences not indented under their key, a long string folded past column 80 as go-yaml's emitter folds it
    (PyYAML's emitter is the same libyaml algorithm)."""
    text = yaml.dump(sorted_keys(obj), Dumper=_KubeDumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True, width=80)
    return text.rstrip("\n")


def to_json(obj: Any) -> str:
    """kubectl -o json: four-space indent."""
    return json.dumps(obj, indent=4, ensure_ascii=False)


# The field order of the Go structs kubectl's typed objects encode to JSON with (-o json of what create, run,
# expose and autoscale print); a field not named keeps its place after the named ones.
_OBJECT_META = ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
                "ownerReferences", "finalizers", "managedFields")
_TOP = ("kind", "apiVersion", "metadata", "immutable", "data", "binaryData", "stringData", "type", "value",
        "globalDefault", "description", "preemptionPolicy", "spec", "subjects", "roleRef", "rules", "aggregationRule")
_SERVICE_PORT = ("name", "protocol", "appProtocol", "port", "targetPort", "nodePort")
_PDB_SPEC = ("minAvailable", "selector", "maxUnavailable", "unhealthyPodEvictionPolicy")
_PDB_STATUS = ("observedGeneration", "disruptedPods", "disruptionsAllowed", "currentHealthy", "desiredHealthy",
               "expectedPods", "conditions")
_TARGET_REF = ("kind", "name", "apiVersion")
_TEMPLATE = ("metadata", "spec")
_POLICY_RULE = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")
_SUBJECT = ("kind", "apiGroup", "name", "namespace")
_ROLE_REF = ("apiGroup", "kind", "name")
_HPA_SPEC = ("scaleTargetRef", "minReplicas", "maxReplicas", "targetCPUUtilizationPercentage", "metrics", "behavior")
_POD_SPEC = ("volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy",
             "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector",
             "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork",
             "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
             "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority",
             "dnsConfig", "readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead",
             "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims",
             "resources")
_CONTAINER = ("name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
              "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe",
              "startupProbe", "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
              "securityContext", "stdin", "stdinOnce", "tty")


def _ordered(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    return {**{k: d[k] for k in order if k in d}, **{k: v for k, v in d.items() if k not in order}}


def go_order(obj: dict[str, Any]) -> dict[str, Any]:
    """A typed object's fields in its Go struct's order, as kubectl's -o json prints one (-o yaml sorts them)."""
    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if not isinstance(value, dict):
            return value
        value = {k: walk(v, k) for k, v in value.items()}
        if key == "metadata":
            return _ordered(value, _OBJECT_META)
        if key == "ports" and "port" in value:
            return _ordered(value, _SERVICE_PORT)
        if key == "scaleTargetRef":
            return _ordered(value, _TARGET_REF)
        if key in ("template", "jobTemplate"):
            return _ordered(value, _TEMPLATE)
        if key in ("containers", "initContainers") and "name" in value:
            return _ordered(value, _CONTAINER)
        if key == "spec" and "containers" in value:
            return _ordered(value, _POD_SPEC)
        if key == "spec" and "scaleTargetRef" in value:
            return _ordered(value, _HPA_SPEC)
        if key == "rules" and "verbs" in value:
            return _ordered(value, _POLICY_RULE)
        if key == "subjects":
            return _ordered(value, _SUBJECT)
        if key == "roleRef":
            return _ordered(value, _ROLE_REF)
        return value

    out = walk(obj)
    if out.get("kind") == "PodDisruptionBudget":
        out = dict(out, spec=_ordered(out.get("spec") or {}, _PDB_SPEC), status=_ordered(out.get("status") or {}, _PDB_STATUS))
    elif out.get("kind") == "Ingress" and isinstance(out.get("spec"), dict):
        out = dict(out, spec=_ordered(out["spec"], ("ingressClassName", "defaultBackend", "tls", "rules")))
    top = _ordered(out, _TOP)
    if "status" in top:  # status is each kind's last field
        top["status"] = top.pop("status")
    return top
