"""`tandai check`: a city's data files read as the service reads them, and what they leave out.

A city adopts tandai by writing its own `data/` files (areas, offices, officials, routing,
topics, labeled posts). What would stop the service (an unknown office, a kelurahan in the wrong
kecamatan, a labeled post with an unknown topic) is an error here as it is at start-up, one line
naming the file and row. What would not stop it but would leave posts untagged is a note: a
complaint topic routed to no office, a kecamatan without a camat, a kelurahan without a lurah,
officials without an account to tag, a topic with few labeled posts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from model.datafiles import DataFileError, read_rows
from model.routing import NOT_A_COMPLAINT, PLATFORMS, Directory
from training.labels import default_label_files, read_labeled

# Fewer labeled posts than this for a topic and the model reads that topic poorly.
FEW_POSTS = 80


@dataclass
class DataCheck:
    """What `check_data` found: summary lines, and notes on what the files leave out."""

    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _named(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def check_data(data_dir: Path) -> DataCheck:
    """Read every file of `data_dir` as the service and training do; `DataFileError` for what
    they would refuse."""
    found = DataCheck()
    directory = Directory.from_dir(data_dir)
    gazetteer = directory.gazetteer
    kecamatan = list(gazetteer.kecamatan_names)
    kelurahan = list(gazetteer.kelurahan_of)
    found.lines.append(
        f"areas: {len(kecamatan)} kecamatan, {len(kelurahan)} kelurahan; "
        f"topics: {len(directory.topics)}; offices: {len(directory.offices)}; "
        f"officials: {len(directory.officials)}"
    )

    complaints = [c for c in directory.topic_codes if c != NOT_A_COMPLAINT]
    unrouted = [c for c in complaints if not directory.office_accounts(c)]
    routed = len(complaints) - len(unrouted)
    found.lines.append(f"routing: {routed} of {len(complaints)} complaint topics go to an office")
    if unrouted:
        found.notes.append(
            f"no office is tagged for {_named(unrouted)}: those complaints tag only the area's "
            "camat and lurah (routing.csv)"
        )

    no_camat = [k for k in kecamatan if directory.camat(k) is None]
    no_lurah = [
        kel for kel, kec in gazetteer.kelurahan_of.items() if directory.lurah(kec, kel) is None
    ]
    found.lines.append(
        f"camat: {len(kecamatan) - len(no_camat)} of {len(kecamatan)} kecamatan; "
        f"lurah: {len(kelurahan) - len(no_lurah)} of {len(kelurahan)} kelurahan"
    )
    if no_camat:
        found.notes.append(f"no camat in officials.csv for {_named(no_camat)}")
    if no_lurah:
        found.notes.append(f"no lurah in officials.csv for {_named(no_lurah)}")

    with_handles = [o for o in directory.officials if o.handles]
    found.lines.append(
        f"accounts: {len(with_handles)} of {len(directory.officials)} officials have one on "
        f"{', '.join(PLATFORMS)}"
    )
    if len(with_handles) < len(directory.officials):
        found.notes.append(
            f"{len(directory.officials) - len(with_handles)} officials have no account in "
            "officials.csv: their tags name them but cannot mention them"
        )

    _check_labels(data_dir, directory, found)
    return found


def _check_labels(data_dir: Path, directory: Directory, found: DataCheck) -> None:
    files = default_label_files(data_dir)
    if not files:
        found.notes.append(
            f"no labeled posts in {data_dir / 'labels'}: write them before `tandai train`"
        )
        return
    data = read_labeled(files, allowed_labels=set(directory.topic_codes), min_labels=1)
    gazetteer = directory.gazetteer
    for path in files:
        for number, row in read_rows(path, ("text", "topic")):
            kec = (row.get("kecamatan") or "").strip()
            kel = (row.get("kelurahan") or "").strip()
            problem = gazetteer.area_problem(kec, kel)
            if problem is not None:
                raise DataFileError(path, number, f"{problem} (areas.csv)")
    counts = Counter(data.labels)
    places = sum(1 for k in data.kecamatan if k)
    found.lines.append(
        f"labels: {len(data.texts):,} posts in {len(files)} files, {places:,} naming a place; "
        f"fewest for one topic: {min(counts.values()):,} ({min(counts, key=counts.__getitem__)})"
    )
    missing = [c for c in directory.topic_codes if counts[c] == 0]
    few = [f"{c} ({counts[c]})" for c in directory.topic_codes if 0 < counts[c] < FEW_POSTS]
    if missing:
        found.notes.append(f"no labeled posts for {_named(missing)}: the model never predicts them")
    if few:
        found.notes.append(f"fewer than {FEW_POSTS} labeled posts for {_named(few)}")
    repeated = len(data.texts) - len({" ".join(t.lower().split()) for t in data.texts})
    if repeated:
        found.notes.append(f"{repeated} labeled posts repeat another's text")
