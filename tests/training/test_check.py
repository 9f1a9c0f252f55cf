"""`tandai check`: the shipped data reads clean; a city's gaps are notes, its mistakes errors."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from model.datafiles import DataFileError
from tests.conftest import DATA_DIR
from training.check import FEW_POSTS, check_data
from training.cli import main

LABEL_HEADER = ["text", "topic", "kecamatan", "kelurahan", "source"]


def _city(tmp_path: Path, labels: list[list[str]]) -> Path:
    """A copy of the shipped reference files with `labels` as its only labeled posts."""
    city = tmp_path / "city"
    shutil.copytree(DATA_DIR, city, ignore=shutil.ignore_patterns("labels"))
    (city / "labels").mkdir()
    with (city / "labels" / "posts.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(LABEL_HEADER)
        writer.writerows(labels)
    return city


def _drop_rows(path: Path, keep: object) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([rows[0], *(r for r in rows[1:] if keep(r))])  # type: ignore[operator]


POSTS = [
    ["sampah numpuk di sawah lebar dak diangkut", "sampah", "Ratu Agung", "Sawah Lebar", "x"],
    ["jalan berlubang di kec. selebar", "jalan", "Selebar", "", "facebook"],
    ["selamat pagi pak wali", "bukan_keluhan", "", "", "instagram"],
]


def test_the_shipped_data_reads_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--data-dir", str(DATA_DIR)]) == 0
    out = capsys.readouterr().out
    assert "9 kecamatan, 67 kelurahan" in out
    assert "camat: 9 of 9 kecamatan; lurah: 67 of 67 kelurahan" in out
    assert "routing: 15 of 15 complaint topics go to an office" in out
    assert out.rstrip().splitlines()[-1].startswith("ok")


def test_a_citys_gaps_are_notes(tmp_path: Path) -> None:
    city = _city(tmp_path, POSTS)
    _drop_rows(city / "routing.csv", lambda r: r[0] != "listrik")
    _drop_rows(city / "officials.csv", lambda r: r[0] not in {"camat-selebar", "lurah-betungan"})
    found = check_data(city)
    notes = "\n".join(found.notes)
    assert "no office is tagged for listrik" in notes
    assert "no camat in officials.csv for Selebar" in notes
    assert "no lurah in officials.csv for Betungan" in notes
    assert "no labeled posts for" in notes and "air_bersih" in notes
    assert f"fewer than {FEW_POSTS} labeled posts for sampah (1)" in notes
    assert any(
        line.startswith("labels: 3 posts in 1 files, 2 naming a place") for line in found.lines
    )


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (["banjir di gotham", "banjir_drainase", "Gotham", "", "x"], "unknown kecamatan 'Gotham'"),
        (
            ["banjir di betungan", "banjir_drainase", "Ratu Agung", "Betungan", "x"],
            "kelurahan 'Betungan' is not in kecamatan 'Ratu Agung'",
        ),
        (["kucing hilang", "kucing", "", "", "x"], "unknown label 'kucing'"),
    ],
)
def test_a_citys_mistakes_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: list[str], expected: str
) -> None:
    city = _city(tmp_path, [*POSTS, row])
    with pytest.raises(DataFileError, match="row 5"):
        check_data(city)
    assert main(["check", "--data-dir", str(city)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tandai: error: ") and "posts.csv, row 5" in err and expected in err


def test_a_reference_file_the_service_would_refuse_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    city = _city(tmp_path, POSTS)
    with (city / "routing.csv").open("a", encoding="utf-8") as fh:
        fh.write("sampah,NOPE\n")
    assert main(["check", "--data-dir", str(city)]) == 2
    assert "unknown office 'NOPE'" in capsys.readouterr().err


def test_a_city_with_no_labeled_posts_yet_gets_its_other_notes(tmp_path: Path) -> None:
    city = _city(tmp_path, POSTS)
    shutil.rmtree(city / "labels")
    _drop_rows(city / "officials.csv", lambda r: r[0] != "camat-selebar")
    notes = "\n".join(check_data(city).notes)
    assert "no labeled posts in" in notes and "tandai train" in notes
    assert "no camat in officials.csv for Selebar" in notes
