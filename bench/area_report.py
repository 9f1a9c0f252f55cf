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
from training.tag_eval import AreaTally


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
    tally = AreaTally()
    errors = []
    for text, kec, kel in zip(data.texts, data.kecamatan, data.kelurahan, strict=True):
        match = gazetteer.resolve(normalise_clauses(text))
        got = (match.kecamatan or "", match.kelurahan or "")
        tally.count((kec, kel), got)
        if got != (kec, kel):
            errors.append((text, (kec, kel), got, match.evidence))
    print(f"posts                         {len(data.texts)}")
    print(f"kelurahan exact match         {_share(tally.kelurahan_right, tally.kelurahan_named)}")
    print(f"kecamatan match               {_share(tally.kecamatan_right, tally.kecamatan_named)}")
    print(f"area found where none named   {_share(tally.area_where_none, tally.none_named)}")
    if args.show_errors:
        for text, want, got, evidence in errors:
            print(f"\nwant {want} got {got} evidence {evidence!r}\n  {text}")


if __name__ == "__main__":
    main()
