"""Autocomplete and verification over the bundled sample addresses (``data/addresses.json``).

Both compare normalised text: lower case, punctuation as spaces, whitespace collapsed, street
types and state names written one way ("Dr" and "Drive" are both "drive", "New South Wales"
is "nsw"). The data is read once per process.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from demo_project.addresses.make_sample_data import DATA_PATH

COUNTRIES = ("au", "nz")

STREET_TYPE_ABBREVIATIONS = {
    "st": "street", "str": "street", "rd": "road", "dr": "drive", "drv": "drive",
    "ave": "avenue", "av": "avenue", "cres": "crescent", "cr": "crescent", "pl": "place",
    "ct": "court", "crt": "court", "ln": "lane", "la": "lane", "pde": "parade",
    "tce": "terrace", "terr": "terrace", "cl": "close", "wy": "way", "gr": "grove",
    "gve": "grove", "bvd": "boulevard", "blvd": "boulevard", "esp": "esplanade",
    "hwy": "highway",
}
STATE_NAMES = {
    "new south wales": "nsw", "victoria": "vic", "queensland": "qld",
    "south australia": "sa", "western australia": "wa", "tasmania": "tas",
    "northern territory": "nt", "australian capital territory": "act",
}
_STATE_NAME = re.compile(r"\b(" + "|".join(map(re.escape, STATE_NAMES)) + r")\b")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def normalise(text: str, *, last_is_partial: bool = False) -> str:
    """``text`` in the form addresses are compared in.

    With ``last_is_partial`` (text still being typed) the last word is kept as typed: "St"
    may be the start of "Stanley", not "Street".
    """
    words = _NOT_WORD.sub(" ", text.lower().replace("'", "")).split()
    keep = words.pop() if last_is_partial and words else None
    words = [STREET_TYPE_ABBREVIATIONS.get(w, w) for w in words]
    if keep is not None:
        words.append(keep)
    return _STATE_NAME.sub(lambda m: STATE_NAMES[m.group(1)], " ".join(words))


@dataclass(frozen=True)
class CountryIndex:
    records: tuple[dict[str, str], ...]
    keys: tuple[str, ...]  # normalise(full_address) of each record, in the same order
    by_key: dict[str, dict[str, str]]


@cache
def index(country: str) -> CountryIndex:
    """The addresses of ``country`` ("au" or "nz"), read on first use."""
    records = tuple(json.loads(DATA_PATH.read_text(encoding="utf-8"))[country])
    keys = tuple(normalise(r["full_address"]) for r in records)
    return CountryIndex(records, keys, dict(zip(keys, records, strict=True)))


def autocomplete(country: str, query: str, limit: int) -> list[dict[str, str]]:
    """Up to ``limit`` addresses in which ``query`` starts a word, those it begins first.

    Each is ``{"full_address": ..., "id": ...}``; a query with no words matches nothing.
    """
    wanted = normalise(query, last_is_partial=True)
    if not wanted:
        return []
    data = index(country)
    starts, contains = [], []
    for key, record in zip(data.keys, data.records, strict=True):
        if key.startswith(wanted):
            starts.append(record)
        elif f" {wanted}" in key:
            contains.append(record)
        if len(starts) >= limit:
            break
    return [{"full_address": r["full_address"], "id": r["id"]}
            for r in (starts + contains)[:limit]]


def verify(country: str, query: str) -> dict[str, str] | None:
    """The address ``query`` names, compared whole after normalising; None if none."""
    return index(country).by_key.get(normalise(query))
