"""Area resolver against the kecamatan/kelurahan columns of the labeled corpus.

    python bench/area_report.py [--show-errors] [--labels FILE ...]

Prints kelurahan exact match on posts that name one, kecamatan match on posts that name one,
and the share of posts with empty columns where the resolver still finds an area. `--labels`
reads those files instead of the corpus (a new round of posts, before it joins).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from api.settings import PROJECT_DIR
from model.areas import Gazetteer
from model.text import normalise_clauses
from training.labels import default_label_files, read_labeled


def _share(hits: int, total: int) -> str:
    return f"{hits / total:.4f}  ({hits}/{total})" if total else "-       (no such posts)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", default=str(PROJECT_DIR / "data"))
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument(
        "--labels", nargs="+", type=Path, help="labeled CSV files (default: data/labels/*.csv)"
    )
    args = parser.parse_args()
    data_dir = Path(args.data_dir)
    gazetteer = Gazetteer.from_data_dir(data_dir)
    data = read_labeled(args.labels or default_label_files(data_dir), min_labels=1)
    kel_total = kel_ok = kec_total = kec_ok = empty_total = empty_found = 0
    errors = []
    for text, kec, kel in zip(data.texts, data.kecamatan, data.kelurahan, strict=True):
        match = gazetteer.resolve(normalise_clauses(text))
        got = (match.kecamatan or "", match.kelurahan or "")
        if kel:
            kel_total += 1
            kel_ok += got[1] == kel
        if kec:
            kec_total += 1
            kec_ok += got[0] == kec
        else:
            empty_total += 1
            empty_found += bool(match.kecamatan)
        if got != (kec, kel):
            errors.append((text, (kec, kel), got, match.evidence))
    print(f"posts                         {len(data.texts)}")
    print(f"kelurahan exact match         {_share(kel_ok, kel_total)}")
    print(f"kecamatan match               {_share(kec_ok, kec_total)}")
    print(f"area found where none named   {_share(empty_found, empty_total)}")
    if args.show_errors:
        for text, want, got, evidence in errors:
            print(f"\nwant {want} got {got} evidence {evidence!r}\n  {text}")


if __name__ == "__main__":
    main()
