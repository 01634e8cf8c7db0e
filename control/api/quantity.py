"""Kubernetes resource quantities ("100m", "64Mi", "1.5", "2e3"), parsed exactly."""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_RE = re.compile(r"^([+-]?[0-9]*\.?[0-9]+|[+-]?[0-9]+\.)((?:[eE][+-]?[0-9]+)|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")

QUANTITY_HELP = "must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


class QuantityError(ValueError):
    pass


def parse(value: str | int | float) -> Fraction:
    """Parse a quantity into an exact number of base units (cores, bytes)."""
    if isinstance(value, str):
        return _parse_str(value)
    return _parse(value)


@functools.lru_cache(maxsize=4096)
def _parse_str(value: str) -> Fraction:
    # manifests repeat the same few quantities ("100m", "64Mi"): parse each once
    return _parse(value)


def _parse(value: str | int | float) -> Fraction:
    if isinstance(value, bool):
        raise QuantityError(QUANTITY_HELP)
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    if not isinstance(value, str):
        raise QuantityError(QUANTITY_HELP)
    m = _RE.match(value.strip())
    if not m:
        raise QuantityError(QUANTITY_HELP)
    number, suffix = m.groups()
    try:
        base = Fraction(Decimal(number))
    except InvalidOperation as e:  # pragma: no cover - the regex already checked the shape
        raise QuantityError(QUANTITY_HELP) from e
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    if suffix and suffix[0] in "eE":
        return base * Fraction(10) ** int(suffix[1:])
    return base * _DECIMAL[suffix]


def is_valid(value: object) -> bool:
    try:
        parse(value)  # type: ignore[arg-type]
    except QuantityError:
        return False
    return True


def milli(value: str | int | float) -> int:
    """CPU in millicores, rounded up like Kubernetes' MilliValue()."""
    f = parse(value) * 1000
    return -((-f.numerator) // f.denominator)


def to_int(value: str | int | float) -> int:
    """Bytes (or a count), rounded up like Kubernetes' Value()."""
    f = parse(value)
    return -((-f.numerator) // f.denominator)


def format_cpu(millicores: int) -> str:
    return f"{millicores // 1000}" if millicores % 1000 == 0 else f"{millicores}m"


def format_bytes(n: int) -> str:
    for suffix, size in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


# --- formats and canonical strings (resource.Quantity's Format and String()) ---------------------------

BINARY_SI, DECIMAL_SI, DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"
_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BINARY_SUFFIXES = (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10))


def format_of(value: str | int | float) -> str:
    """The format a quantity was written in ("64Mi" BinarySI, "1e3" DecimalExponent, else DecimalSI):
    what its sums keep and its String() prints in."""
    m = _RE.match(value.strip()) if isinstance(value, str) else None
    suffix = m.group(2) if m else ""
    if suffix in _BINARY:
        return BINARY_SI
    if suffix[:1] in ("e", "E"):
        return DECIMAL_EXPONENT
    return DECIMAL_SI


def canonical(value: Fraction | int, fmt: str = DECIMAL_SI) -> str:
    """resource.Quantity.String(): the exact value in its format's canonical form ("1536Mi", "500m", "1k",
    "1e3"), rounded up to a nano unit as Kubernetes rounds; a BinarySI value under 1024 or not whole in bytes
    is printed as DecimalSI."""
    value = Fraction(value)
    if value == 0:
        return "0"
    if fmt == BINARY_SI and abs(value) >= 1024 and value.denominator == 1:
        n = value.numerator
        for suffix, shift in _BINARY_SUFFIXES:
            if n % (1 << shift) == 0:
                return f"{n >> shift}{suffix}"
        return str(n)
    nanos = value * 10**9
    n = -((-nanos.numerator) // nanos.denominator) if nanos >= 0 else nanos.numerator // nanos.denominator
    exp = -9
    while exp < 18 and n % 1000 == 0:
        n //= 1000
        exp += 3
    if fmt == DECIMAL_EXPONENT:
        return f"{n}e{exp}" if exp else str(n)
    return f"{n}{_DECIMAL_SUFFIXES[exp]}"


def canonical_of(value: str | int | float) -> str:
    """The canonical String() of a quantity as written ("1.5Gi" -> "1536Mi", "0.5" -> "500m")."""
    return canonical(parse(value), format_of(value))
