"""The area resolver on another city, from its data files alone: Surabaya.

    python bench/surabaya_areas.py [--data-dir ../shared/data]

Builds an areas CSV in a temporary folder from `surabaya_kecamatan.csv` and
`surabaya_kelurahan.csv` (no aliases, no context flags: nothing tuned for that city), resolves
the area of each of the real complaints in `surabaya_keluhan_dev.csv`, and compares with the
kecamatan/kelurahan the city recorded for the complaint. Only about a quarter of the texts name
their place, so the figures that matter are precision (when the resolver names an area, is it
the recorded one?) and how often it names one.

Then the same complaints read with this city's own areas file (`data/areas.csv`, Kota
Bengkulu): every area found there is a wrong one (a camat tagged for a complaint from another
city), so it prints how many distinct texts get one and the evidence most often read.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections import Counter
from pathlib import Path

from model.areas import Gazetteer
from model.text import normalise_clauses

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA = PROJECT_DIR.parent / "shared" / "data"


def _read_semicolon(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [
            {k: (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(fh, delimiter=";")
        ]


def build_areas_csv(data_dir: Path, out: Path) -> None:
    kecamatan = {r["id"]: r["name"] for r in _read_semicolon(data_dir / "surabaya_kecamatan.csv")}
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["level", "name", "kecamatan", "aliases", "needs_context"])
        for name in kecamatan.values():
            writer.writerow(["kecamatan", name, "", "", ""])
        for row in _read_semicolon(data_dir / "surabaya_kelurahan.csv"):
            if row["kecamatan_id"] in kecamatan and row["name"]:
                writer.writerow(["kelurahan", row["name"], kecamatan[row["kecamatan_id"]], "", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threshold", type=float, default=0.7, help="area tagging threshold")
    args = parser.parse_args()
    complaints = args.data_dir / "surabaya_keluhan_dev.csv"
    if not complaints.is_file():
        print(f"skipped: {complaints} not found (the shared data is not beside this checkout)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        areas = Path(tmp) / "areas.csv"
        build_areas_csv(args.data_dir, areas)
        gazetteer = Gazetteer.from_csv(areas)
    with complaints.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    matches = [gazetteer.resolve(normalise_clauses(row["text"])) for row in rows]
    n = len(rows)
    print(
        f"complaints {n}; kecamatan {len(gazetteer.kecamatan_names)}, "
        f"kelurahan {len(gazetteer.kelurahan_of)}"
    )
    print(f"{'areas':<28} {'named':>14} {'kecamatan prec.':>22} {'kelurahan prec.':>22}")
    for label, floor in (
        ("any confidence", 0.0),
        (f"confidence >= {args.threshold}", args.threshold),
    ):
        found = kec_ok = kel_found = kel_ok = 0
        for row, match in zip(rows, matches, strict=True):
            if not match.kecamatan or match.confidence < floor:
                continue
            found += 1
            kec_ok += match.kecamatan.lower() == row["kecamatan"].lower()
            if match.kelurahan:
                kel_found += 1
                kel_ok += match.kelurahan.lower() == row["kelurahan"].lower()
        print(
            f"{label:<28} {found / n:6.3f} ({found:5d}) "
            f"{kec_ok / max(found, 1):8.3f} ({kec_ok:5d}/{found:5d}) "
            f"{kel_ok / max(kel_found, 1):8.3f} ({kel_ok:5d}/{kel_found:5d})"
        )
    own_areas(rows, args.threshold)


def own_areas(rows: list[dict[str, str]], threshold: float) -> None:
    """The distinct texts given an area of `data/areas.csv`, and the evidence read."""
    own = Gazetteer.from_csv(PROJECT_DIR / "data" / "areas.csv")
    texts = list(dict.fromkeys(row["text"].replace("\\n", "\n").strip() for row in rows))
    found = [m for m in (own.resolve(normalise_clauses(t)) for t in texts) if m.kecamatan]
    sure = sum(m.confidence >= threshold for m in found)
    print(
        f"\nthe same {len(texts)} distinct texts with this city's data/areas.csv: "
        f"{len(found)} given an area ({len(found) / len(texts):.2%}), "
        f"{sure} at confidence >= {threshold}"
    )
    for (evidence, kelurahan), count in Counter(
        (m.evidence, m.kelurahan or m.kecamatan) for m in found
    ).most_common(5):
        print(f"  {count:4d}  {evidence!r} read as {kelurahan}")


if __name__ == "__main__":
    main()
