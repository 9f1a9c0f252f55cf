"""Reading the city's CSV files (`model.datafiles`): the delimiter a spreadsheet saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.datafiles import DataFileError, delimiter_of, read_rows


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("level,name,kecamatan\r\n", ","),
        ("level;name;kecamatan\r\n", ";"),
        ("level\tname\tkecamatan\n", "\t"),
        ("text,topic;note\n", ","),  # a comma wins: a semicolon may stand inside a name
        ("text\n", ","),  # one column: nothing to tell, the default
        ("", ","),
    ],
)
def test_delimiter_of_a_header(header: str, delimiter: str) -> None:
    assert delimiter_of(header) == delimiter


def test_a_file_saved_with_semicolons_reads_as_one_saved_with_commas(tmp_path: Path) -> None:
    commas = tmp_path / "commas.csv"
    commas.write_text('level,name,kecamatan\nkelurahan,"Jalan Gedang, Atas",Gading Cempaka\n')
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_bytes(
        "\ufefflevel;name;kecamatan\r\nkelurahan;Jalan Gedang, Atas;Gading Cempaka\r\n".encode()
    )
    expected = [
        (2, {"level": "kelurahan", "name": "Jalan Gedang, Atas", "kecamatan": "Gading Cempaka"})
    ]
    assert list(read_rows(commas, ("name",))) == expected
    assert list(read_rows(semicolons, ("name",))) == expected


def test_a_missing_column_is_named_whatever_the_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    path.write_text("level;nama\nkelurahan;Bajak\n")
    with pytest.raises(DataFileError, match="row 1: missing column"):
        list(read_rows(path, ("level", "name")))
