"""The hand-written corpus in data/labels/ is well-formed and covers what the model needs."""

from __future__ import annotations

import csv
import difflib
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


@pytest.fixture(scope="module")
def probes() -> list[dict[str, str]]:
    return _read(PROBE_FILES)


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


def test_probes_are_well_formed_and_kept_out_of_the_corpus(
    rows: list[dict[str, str]], probes: list[dict[str, str]]
) -> None:
    """A probe measures posts the model never saw: none of its texts is in the corpus (up to
    case and punctuation), none repeats, and its labels and areas are the corpus's own."""
    assert len(PROBE_FILES) >= 4
    _check_labels_and_areas(probes)
    corpus = {_key(r["text"]) for r in rows}
    assert [r["where"] for r in probes if _key(r["text"]) in corpus] == []
    counts = Counter(_key(r["text"]) for r in probes)
    assert [t for t, n in counts.items() if n > 1] == []


# A corpus post paraphrases a probe post when they share a run of this many words and at
# least this share of their words (difflib's ratio over word sequences)...
_PARAPHRASE_RUN = 8
_PARAPHRASE_RATIO = 0.4
# ...unless the run is a formula every writer uses: a condolence, a letter's set phrase.
_FORMULAS = ("innalillahi", "bahwa lampu penerangan jalan umum")


def _words(text: str) -> list[str]:
    return _key(text).split()


def paraphrases(corpus: list[str], probes: list[str]) -> list[tuple[str, str]]:
    """(corpus post, probe post) pairs where the first paraphrases the second."""
    runs: dict[tuple[str, ...], list[str]] = {}
    for probe in probes:
        words = _words(probe)
        for i in range(len(words) - _PARAPHRASE_RUN + 1):
            runs.setdefault(tuple(words[i : i + _PARAPHRASE_RUN]), []).append(probe)
    found = []
    for text in corpus:
        words = _words(text)
        shared = {
            probe
            for i in range(len(words) - _PARAPHRASE_RUN + 1)
            for probe in runs.get(tuple(words[i : i + _PARAPHRASE_RUN]), [])
        }
        for probe in shared:
            other = _words(probe)
            match = difflib.SequenceMatcher(None, words, other, autojunk=False)
            longest = match.find_longest_match(0, len(words), 0, len(other))
            run = " ".join(words[longest.a : longest.a + longest.size])
            if match.ratio() >= _PARAPHRASE_RATIO and not run.startswith(_FORMULAS):
                found.append((text, probe))
    return found


def test_paraphrase_check_finds_a_reworded_post() -> None:
    probe = "SD di kebun beler kekurangan guru, satu guru pegang 2 kelas sekaligus. anak2 main"
    assert paraphrases(
        ["SD di Teluk Sepang kekurangan guru, satu guru pegang 2 kelas sekaligus"], [probe]
    )
    assert not paraphrases(["sekolah kami kekurangan guru, kelas digabung"], [probe])
    condolence = "Innalillahi wa innailaihi rojiun turut berduka cita atas wafatnya pak RT kami"
    assert not paraphrases([condolence.replace("pak RT kami", "bidan desa")], [condolence])


def test_no_corpus_post_paraphrases_a_probe_post(
    rows: list[dict[str, str]], probes: list[dict[str, str]]
) -> None:
    """A probe measures posts of a kind the model has not seen in any wording: no corpus post
    says the same as a probe post in nearly the same words."""
    assert paraphrases([r["text"] for r in rows], [r["text"] for r in probes]) == []


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
