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


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    out = []
    for path in LABEL_FILES:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == COLUMNS, path
            for number, row in enumerate(reader, start=2):
                row["where"] = f"{path.name}:{number}"
                out.append(row)
    return out


def test_labels_and_areas_are_known(rows: list[dict[str, str]]) -> None:
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
    def key(text: str) -> str:
        return re.sub(r"\W+", " ", text.lower()).strip()

    counts = Counter(key(r["text"]) for r in rows)
    repeated = [t for t, n in counts.items() if n > 1]
    assert repeated == []


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
