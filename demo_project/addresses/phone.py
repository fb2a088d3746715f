"""Phone number checks for the demo: format only, no network lookup.

A number is national (``0412 345 678``, ``(03) 5550 1234``, ``1800 123 456``) in the country
named by ``country_code``, or international (``+61 412 345 678``, ``0011 64 21 123 4567``,
``00 61 ...``) in the country its calling code names. Spaces, dots, hyphens and brackets are
ignored, and so is the ``(0)`` some write after the calling code. Line types follow the
numbering plans: in AU 04 is mobile, 02/03/07/08 landline, 1800 toll-free, 13 and 1300 local
rate; in NZ 02x is mobile, 03/04/06/07/09 landline, 0800/0508 toll-free.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

CALLING_CODES = {"AU": "61", "NZ": "64"}
COUNTRY_NAMES = {"AU": "Australian", "NZ": "New Zealand"}
_ALLOWED = re.compile(r"\+?[0-9 .()\-]+")
_SEPARATORS = re.compile(r"[ .()\-]")
_INTERNATIONAL_PREFIXES = ("+", "0011", "00")


@dataclass(frozen=True)
class PhoneResult:
    """What the verification endpoint answers (without ``success``)."""

    is_verified: bool
    country_code: str | None = None
    line_type: str | None = None
    national_format: str | None = None
    international_format: str | None = None
    not_verified_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _groups(digits: str, *sizes: int) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(digits[at:at + size])
        at += size
    if at < len(digits):
        out.append(digits[at:])
    return " ".join(part for part in out if part)


# Each plan: (pattern of the national significant number, line type, national format,
# international format or None when it cannot be dialled from abroad).
Plan = tuple[str, str, Callable[[str], str], Callable[[str], str] | None]

PLANS: dict[str, tuple[Plan, ...]] = {
    "AU": (
        (r"4\d{8}", "mobile", lambda n: "0" + _groups(n, 3, 3, 3),
         lambda n: "+61 " + _groups(n, 3, 3, 3)),
        (r"[2378]\d{8}", "landline", lambda n: f"(0{n[0]}) " + _groups(n[1:], 4, 4),
         lambda n: f"+61 {n[0]} " + _groups(n[1:], 4, 4)),
        (r"1800\d{6}", "toll_free", lambda n: _groups(n, 4, 3, 3), None),
        (r"1300\d{6}", "local_rate", lambda n: _groups(n, 4, 3, 3), None),
        (r"13\d{4}", "local_rate", lambda n: _groups(n, 2, 2, 2), None),
    ),
    "NZ": (
        (r"2\d{7,9}", "mobile", lambda n: "0" + _groups(n, 2, 3),
         lambda n: "+64 " + _groups(n, 2, 3)),
        (r"[34679]\d{7}", "landline", lambda n: f"(0{n[0]}) " + _groups(n[1:], 3, 4),
         lambda n: f"+64 {n[0]} " + _groups(n[1:], 3, 4)),
        (r"(?:800|508)\d{6}", "toll_free", lambda n: "0" + _groups(n, 3, 3, 3), None),
    ),
}


def _split(digits: str, country: str) -> tuple[str, str] | str:
    """``(country, national significant number)``, or the reason there is none."""
    for prefix in _INTERNATIONAL_PREFIXES:
        if digits.startswith(prefix):  # "0011" (AU) is tried before "00" (NZ)
            rest = digits[len(prefix):]
            for code, calling in CALLING_CODES.items():
                if rest.startswith(calling):
                    national = rest[len(calling):]
                    # "+61 (0)4..." : the trunk 0 is not dialled from abroad.
                    return code, national[1:] if national.startswith("0") else national
            return "The calling code is not AU (+61) or NZ (+64)."
    if digits.startswith("0"):
        return country, digits[1:]
    if country == "AU" and digits.startswith("1"):
        return country, digits  # 13, 1300 and 1800 numbers have no trunk prefix
    return "A national number starts with 0; an international one with + and its calling code."


def verify_phone(number: str, country_code: str) -> PhoneResult:
    """Check ``number`` against the numbering plan of its country.

    ``country_code`` ("AU" or "NZ", already validated) is the country of a national number.
    """
    raw = number.strip()
    if not _ALLOWED.fullmatch(raw) or "+" in raw[1:]:
        return PhoneResult(False, not_verified_reason="The number contains characters that "
                                                      "are not part of a phone number.")
    split = _split(_SEPARATORS.sub("", raw), country_code)
    if isinstance(split, str):
        return PhoneResult(False, not_verified_reason=split)
    country, national = split
    for pattern, line_type, national_format, international_format in PLANS[country]:
        if re.fullmatch(pattern, national):
            return PhoneResult(
                True, country, line_type, national_format(national),
                international_format(national) if international_format else None)
    return PhoneResult(False, country, not_verified_reason=(
        f"Not a valid {COUNTRY_NAMES[country]} phone number."))
