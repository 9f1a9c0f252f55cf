"""Reading labeled CSV files (`training.labels.read_labeled`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.datafiles import DataFileError
from training.labels import read_labeled

HEADER = "text,topic,kecamatan,kelurahan,source\r\n"


def _write(path: Path, body: str, *, bom: bool = False) -> Path:
    path.write_bytes(("\ufeff" if bom else "").encode() + (HEADER + body).encode())
    return path


def test_a_post_of_several_lines_keeps_its_line_breaks(tmp_path: Path) -> None:
    labels = _write(
        tmp_path / "a.csv",
        '"Laporan: lampu mati\r\nLokasi: kel. Sukamerindu\nSudah 3 hari",lampu_jalan,'
        "Sungai Serut,Sukamerindu,facebook\r\n"
        "sampah numpuk,sampah,,,x\r\n",
        bom=True,
    )
    data = read_labeled([labels], min_labels=1)
    assert data.texts == [
        "Laporan: lampu mati\r\nLokasi: kel. Sukamerindu\nSudah 3 hari",
        "sampah numpuk",
    ]
    assert data.labels == ["lampu_jalan", "sampah"]
    assert data.kelurahan == ["Sukamerindu", ""]


def test_rows_without_text_are_skipped_and_a_missing_label_is_an_error(tmp_path: Path) -> None:
    labels = _write(tmp_path / "b.csv", ",sampah,,,x\r\njalan rusak,,,,x\r\n")
    with pytest.raises(DataFileError, match="empty 'topic'"):
        read_labeled([labels], min_labels=1)


def test_an_unclosed_quote_is_a_clear_error(tmp_path: Path) -> None:
    labels = _write(tmp_path / "c.csv", 'ok,sampah,,,x\r\n"never closed,jalan,,,x\r\n')
    with pytest.raises(DataFileError, match=r"c\.csv.*malformed CSV"):
        read_labeled([labels], min_labels=1)


def test_a_file_saved_with_semicolons(tmp_path: Path) -> None:
    """A spreadsheet set to Indonesian saves CSV with semicolons; commas stay in the text."""
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufefftext;topic;kecamatan;kelurahan;source\r\n"
        '"Lampu mati, gelap nian;\r\nsudah 3 hari";lampu_jalan;Sungai Serut;Sukamerindu;fb\r\n'
        "sampah numpuk, bau;sampah;;;x\r\n".encode()
    )
    data = read_labeled([path], min_labels=1)
    assert data.texts == ["Lampu mati, gelap nian;\r\nsudah 3 hari", "sampah numpuk, bau"]
    assert data.labels == ["lampu_jalan", "sampah"]
