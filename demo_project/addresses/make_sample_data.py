"""Generate the demo's bundled sample addresses, ``data/addresses.json``.

    python -m demo_project.addresses.make_sample_data          # rewrite the file
    python -m demo_project.addresses.make_sample_data --check  # exit 1 if it is stale

Deterministic: one ``random.Random(SEED)`` draws everything, so the same code always writes the
same bytes (a test holds the committed file to that). No real person's address is in it: the
street names are made up from generic words, the street numbers are random, and only the
localities (with their state or region and postcode) are real places. The one fixed address is
the product document's example, "274 Harbour Drive, COFFS HARBOUR NSW 2450", so its curl
examples find something.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

SEED = 20_240_404
AU_COUNT = 300
NZ_COUNT = 200
DATA_PATH = Path(__file__).resolve().parent / "data" / "addresses.json"

SEED_EXAMPLE = ("274", "Harbour", "Drive", ("COFFS HARBOUR", "NSW", "2450"))

STREET_TYPES = ("Street", "Road", "Drive", "Avenue", "Crescent", "Place", "Court", "Lane",
                "Parade", "Terrace", "Close", "Way", "Grove", "Boulevard", "Esplanade")

AU_STREET_NAMES = (
    "Bellbird", "Kestrel", "Tallowwood", "Quandong", "Ironbark", "Saltbush", "Lyrebird",
    "Silverleaf", "Marram", "Paperbark", "Banksia", "Wattlebird", "Currawong", "Riverstone",
    "Greenhill", "Fernleigh", "Stonybrook", "Bluegum", "Sandpiper", "Harbour", "Lagoon",
    "Headland", "Seabreeze", "Coral", "Tidewater", "Meadowbank", "Orchard", "Millstream",
    "Windmill", "Redgum", "Brolga", "Mallee", "Spinifex", "Jacaranda", "Boronia", "Waratah",
)
NZ_STREET_NAMES = (
    "Kowhai", "Totara", "Rimu", "Pohutukawa", "Kereru", "Tui", "Matai", "Harakeke", "Manuka",
    "Karaka", "Puriri", "Kahikatea", "Titoki", "Ngaio", "Korimako", "Pukeko", "Takahe", "Weka",
    "Fantail", "Bellbird", "Riverbank", "Ridgeway", "Seaview", "Hillcrest", "Tussock",
    "Flaxmere", "Brookfield", "Stonefield", "Glenview", "Clearwater",
)

# (locality, state or territory, postcode)
AU_LOCALITIES = (
    ("COFFS HARBOUR", "NSW", "2450"), ("PARRAMATTA", "NSW", "2150"), ("NEWCASTLE", "NSW", "2300"),
    ("WOLLONGONG", "NSW", "2500"), ("DUBBO", "NSW", "2830"), ("ORANGE", "NSW", "2800"),
    ("TAMWORTH", "NSW", "2340"), ("PORT MACQUARIE", "NSW", "2444"), ("LISMORE", "NSW", "2480"),
    ("WAGGA WAGGA", "NSW", "2650"), ("BALLARAT CENTRAL", "VIC", "3350"),
    ("BENDIGO", "VIC", "3550"), ("GEELONG", "VIC", "3220"), ("SHEPPARTON", "VIC", "3630"),
    ("MILDURA", "VIC", "3500"), ("WARRNAMBOOL", "VIC", "3280"), ("TOWNSVILLE CITY", "QLD", "4810"),
    ("CAIRNS CITY", "QLD", "4870"), ("TOOWOOMBA CITY", "QLD", "4350"), ("MACKAY", "QLD", "4740"),
    ("BUNDABERG CENTRAL", "QLD", "4670"), ("SOUTHPORT", "QLD", "4215"),
    ("MOUNT GAMBIER", "SA", "5290"), ("WHYALLA", "SA", "5600"), ("PORT LINCOLN", "SA", "5606"),
    ("MURRAY BRIDGE", "SA", "5253"), ("BUNBURY", "WA", "6230"), ("GERALDTON", "WA", "6530"),
    ("ALBANY", "WA", "6330"), ("BROOME", "WA", "6725"), ("LAUNCESTON", "TAS", "7250"),
    ("DEVONPORT", "TAS", "7310"), ("BURNIE", "TAS", "7320"), ("DARWIN CITY", "NT", "0800"),
    ("ALICE SPRINGS", "NT", "0870"), ("KATHERINE", "NT", "0850"), ("BRADDON", "ACT", "2612"),
    ("KINGSTON", "ACT", "2604"),
)

# (suburb, city, region, postcode)
NZ_LOCALITIES = (
    ("Ponsonby", "Auckland", "Auckland", "1011"),
    ("Remuera", "Auckland", "Auckland", "1050"),
    ("Takapuna", "Auckland", "Auckland", "0622"),
    ("Te Aro", "Wellington", "Wellington", "6011"),
    ("Karori", "Wellington", "Wellington", "6012"),
    ("Petone", "Lower Hutt", "Wellington", "5012"),
    ("Riccarton", "Christchurch", "Canterbury", "8011"),
    ("Sydenham", "Christchurch", "Canterbury", "8023"),
    ("Kaiapoi", "Kaiapoi", "Canterbury", "7630"),
    ("Hamilton Central", "Hamilton", "Waikato", "3204"),
    ("Mount Maunganui", "Tauranga", "Bay of Plenty", "3116"),
    ("Rotorua", "Rotorua", "Bay of Plenty", "3010"),
    ("Dunedin Central", "Dunedin", "Otago", "9016"),
    ("Queenstown", "Queenstown", "Otago", "9300"),
    ("Napier South", "Napier", "Hawke's Bay", "4110"),
    ("Nelson", "Nelson", "Nelson", "7010"),
    ("Palmerston North Central", "Palmerston North", "Manawatu-Whanganui", "4410"),
    ("New Plymouth Central", "New Plymouth", "Taranaki", "4310"),
    ("Invercargill", "Invercargill", "Southland", "9810"),
    ("Whangarei", "Whangarei", "Northland", "0110"),
    ("Gisborne", "Gisborne", "Gisborne", "4010"),
    ("Blenheim", "Blenheim", "Marlborough", "7201"),
    ("Greymouth", "Greymouth", "West Coast", "7805"),
)


def _street_number(rng: random.Random) -> str:
    number = str(rng.randint(1, 420))
    return number + rng.choice("ABC") if rng.random() < 0.06 else number


def _address_id(country: str, full_address: str) -> str:
    # From the text, not the draw order: an address keeps its id if others are added.
    return f"{country}-{hashlib.sha256(full_address.encode()).hexdigest()[:12]}"


def au_address(number: str, name: str, street_type: str,
               place: tuple[str, str, str]) -> dict[str, str]:
    """One AU record; ``full_address`` as the seed writes it: ``274 Harbour Drive, COFFS
    HARBOUR NSW 2450``."""
    locality, state, postcode = place
    full = f"{number} {name} {street_type}, {locality} {state} {postcode}"
    return {"id": _address_id("au", full), "full_address": full, "street_number": number,
            "street_name": name, "street_type": street_type, "locality_name": locality,
            "state_territory": state, "postcode": postcode}


def nz_address(number: str, name: str, street_type: str,
               place: tuple[str, str, str, str]) -> dict[str, str]:
    """One NZ record: ``12 Totara Street, Ponsonby, Auckland 1011`` (suburb left out when it
    is the city)."""
    suburb, city, region, postcode = place
    area = city if suburb == city else f"{suburb}, {city}"
    full = f"{number} {name} {street_type}, {area} {postcode}"
    return {"id": _address_id("nz", full), "full_address": full, "street_number": number,
            "street_name": name, "street_type": street_type, "suburb": suburb, "city": city,
            "region": region, "postcode": postcode}


def _sort_key(record: dict[str, str]) -> tuple[Any, ...]:
    number = record["street_number"]
    digits = number.rstrip("ABC")
    return (record["street_name"], record["street_type"], record["postcode"], int(digits),
            number, record["full_address"])


def generate(seed: int = SEED, au_count: int = AU_COUNT,
             nz_count: int = NZ_COUNT) -> dict[str, list[dict[str, str]]]:
    """The sample data: ``{"au": [...], "nz": [...]}``, distinct addresses, sorted by street."""
    rng = random.Random(seed)
    number, name, street_type, place = SEED_EXAMPLE
    au = {(a := au_address(number, name, street_type, place))["full_address"]: a}
    while len(au) < au_count:
        a = au_address(_street_number(rng), rng.choice(AU_STREET_NAMES),
                       rng.choice(STREET_TYPES), rng.choice(AU_LOCALITIES))
        au.setdefault(a["full_address"], a)
    nz: dict[str, dict[str, str]] = {}
    while len(nz) < nz_count:
        a = nz_address(_street_number(rng), rng.choice(NZ_STREET_NAMES),
                       rng.choice(STREET_TYPES), rng.choice(NZ_LOCALITIES))
        nz.setdefault(a["full_address"], a)
    return {"au": sorted(au.values(), key=_sort_key), "nz": sorted(nz.values(), key=_sort_key)}


def render(data: dict[str, list[dict[str, str]]]) -> str:
    """The JSON text: one address per line, so a change shows as a readable diff."""
    parts = []
    for country, records in data.items():
        rows = ",\n".join("  " + json.dumps(r, sort_keys=True, ensure_ascii=False)
                          for r in records)
        parts.append(f"{json.dumps(country)}: [\n{rows}\n]")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the demo's sample addresses.")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the committed file differs")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        current = DATA_PATH.read_text(encoding="utf-8") if DATA_PATH.exists() else ""
        if current != text:
            print(f"{DATA_PATH} is stale: run python -m demo_project.addresses.make_sample_data")
            return 1
        return 0
    DATA_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {len(text)} bytes to {DATA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
