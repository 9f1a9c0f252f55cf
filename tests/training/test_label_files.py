"""The hand-written corpus in data/labels/ is well-formed and covers what the model needs."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from model.areas import Gazetteer
from model.routing import Directory
from tests.conftest import DATA_DIR

LABEL_FILES = sorted((DATA_DIR / "labels").glob("*.csv"))
COLUMNS = ["text", "topic", "kecamatan", "kelurahan", "source"]
SOURCES = {"instagram", "facebook", "tiktok", "x", "other"}


# Hand-written posts kept out of the corpus, which `tandai evaluate --data` reads (README).
PROBE_FILES = sorted((DATA_DIR.parent / "bench" / "data").glob("*_probe.csv"))


def _read(paths: list[Path]) -> list[dict[str, str]]:
    out = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == COLUMNS, path
            for number, row in enumerate(reader, start=2):
                row["where"] = f"{path.name}:{number}"
                out.append(row)
    return out


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return _read(LABEL_FILES)


def test_labels_and_areas_are_known(rows: list[dict[str, str]]) -> None:
    _check_labels_and_areas(rows)


def _check_labels_and_areas(rows: list[dict[str, str]]) -> None:
    directory = Directory.from_dir(DATA_DIR)
    topics = set(directory.topic_codes)
    gazetteer: Gazetteer = directory.gazetteer
    kecamatan = set(gazetteer.kecamatan_names)
    for row in rows:
        assert row["text"].strip(), row["where"]
        assert row["topic"] in topics, row["where"]
        assert row["source"] in SOURCES, row["where"]
        if row["kelurahan"]:
            assert gazetteer.kelurahan_of.get(row["kelurahan"]) == row["kecamatan"], row["where"]
        if row["kecamatan"]:
            assert row["kecamatan"] in kecamatan, row["where"]


def test_no_duplicates(rows: list[dict[str, str]]) -> None:
    counts = Counter(_key(r["text"]) for r in rows)
    repeated = [t for t, n in counts.items() if n > 1]
    assert repeated == []


def test_probes_are_well_formed_and_kept_out_of_the_corpus(rows: list[dict[str, str]]) -> None:
    """A probe measures posts the model never saw: none of its texts is in the corpus (up to
    case and punctuation), none repeats, and its labels and areas are the corpus's own."""
    assert len(PROBE_FILES) >= 4
    probes = _read(PROBE_FILES)
    _check_labels_and_areas(probes)
    corpus = {_key(r["text"]) for r in rows}
    assert [r["where"] for r in probes if _key(r["text"]) in corpus] == []
    counts = Counter(_key(r["text"]) for r in probes)
    assert [t for t, n in counts.items() if n > 1] == []


def test_minimum_counts(rows: list[dict[str, str]]) -> None:
    assert len(rows) >= 1600
    per_topic = Counter(r["topic"] for r in rows)
    for code in Directory.from_dir(DATA_DIR).topic_codes:
        assert per_topic[code] >= 80, code


def test_places_are_covered(rows: list[dict[str, str]]) -> None:
    with_place = [r for r in rows if r["kecamatan"]]
    assert len(with_place) / len(rows) >= 0.6
    gazetteer = Gazetteer.from_csv(DATA_DIR / "areas.csv")
    kec = Counter(r["kecamatan"] for r in rows)
    kel = Counter(r["kelurahan"] for r in rows)
    for area in gazetteer.areas:
        counts = kec if area.level == "kecamatan" else kel
        assert counts[area.name] >= 2, area.name


def test_trap_words_appear_without_a_place(rows: list[dict[str, str]]) -> None:
    """Posts where place words are ordinary words: the model must see them unlabeled."""
    for pattern in (r"\bberkas\b", r"\bpenurunan\b", r"\bkandang ayam\b", r"\bsurabaya\b"):
        unlabeled = [
            r for r in rows if re.search(pattern, r["text"].lower()) and not r["kecamatan"]
        ]
        assert len(unlabeled) >= 3, pattern


def test_files_are_per_topic() -> None:
    for path in LABEL_FILES:
        with path.open(encoding="utf-8", newline="") as fh:
            topics = {row["topic"] for row in csv.DictReader(fh)}
        assert topics == {Path(path).stem}, path
