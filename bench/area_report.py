"""Area resolver against the kecamatan/kelurahan columns of the labeled corpus.

    python bench/area_report.py [--show-errors] [--labels FILE ...]

Prints kelurahan exact match on posts that name one, kecamatan match on posts that name one,
and the share of posts with empty columns where the resolver still finds an area. `--labels`
reads those files instead of the corpus (a new round of posts, before it joins).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from api.settings import PROJECT_DIR
from model.areas import Gazetteer
from model.text import normalise_clauses
from training.labels import default_label_files, read_labeled


@dataclass(kw_only=True)
class AreaTally:
    """The areas read for labeled posts against their kecamatan/kelurahan columns: kelurahan
    right where the columns name one, kecamatan right where they name one, and an area given
    where they name none (`bench/probes.py` keeps one per probe)."""

    kelurahan_named: int = 0
    kelurahan_right: int = 0
    kecamatan_named: int = 0
    kecamatan_right: int = 0
    none_named: int = 0
    area_where_none: int = 0

    def count(self, want: tuple[str, str], got: tuple[str, str]) -> None:
        """One post: `want` and `got` are (kecamatan, kelurahan), "" where there is none."""
        kecamatan, kelurahan = want
        if kelurahan:
            self.kelurahan_named += 1
            self.kelurahan_right += got[1] == kelurahan
        if kecamatan:
            self.kecamatan_named += 1
            self.kecamatan_right += got[0] == kecamatan
        else:
            self.none_named += 1
            self.area_where_none += bool(got[0])


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
