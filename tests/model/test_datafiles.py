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


def test_a_file_saved_as_unicode_text_reads_as_one_saved_as_utf8(tmp_path: Path) -> None:
    """A spreadsheet's "Unicode text" is UTF-16 with its byte-order mark, tab-separated."""
    utf16 = tmp_path / "areas.txt"
    utf16.write_bytes(
        "level\tname\tkecamatan\r\nkelurahan\tKampung Kelawi\tSungai Serut\r\n".encode("utf-16")
    )
    assert utf16.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert list(read_rows(utf16, ("name",))) == [
        (2, {"level": "kelurahan", "name": "Kampung Kelawi", "kecamatan": "Sungai Serut"})
    ]


def test_a_file_in_a_windows_code_page_names_its_line_and_how_to_save_it(tmp_path: Path) -> None:
    path = tmp_path / "areas.csv"
    # "CSV" from a spreadsheet on Windows: cp1252, its curly quotes no UTF-8
    rows = [
        "level,name,kecamatan",
        "kelurahan,Bajak,Teluk Segara",
        "kelurahan,“Berkas”,Teluk Segara",
    ]
    path.write_bytes("\n".join(rows).encode("cp1252"))
    with pytest.raises(
        DataFileError, match=r'not valid UTF-8 \(line 3\); save it as UTF-8 .*"CSV UTF-8"'
    ):
        list(read_rows(path, ("name",)))
