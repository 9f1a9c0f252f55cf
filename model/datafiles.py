"""Reading the city's reference CSV files with errors that name the file, row and problem."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


class DataFileError(Exception):
    """A reference or label file is missing, malformed or inconsistent."""

    def __init__(self, path: Path | str, row: int | None, problem: str) -> None:
        self.path = Path(path)
        self.row = row
        self.problem = problem
        where = f"{self.path}" if row is None else f"{self.path}, row {row}"
        super().__init__(f"{where}: {problem}")


# What to do with a file in another encoding, said with the error.
SAVE_AS_UTF8 = 'save it as UTF-8 (in a spreadsheet: "CSV UTF-8")'


def encoding_of(head: bytes) -> str:
    """The encoding to read a file with, from its first bytes: UTF-16 after a UTF-16 byte-order
    mark (a spreadsheet's "Unicode text", tab-separated), else UTF-8 with or without its mark."""
    return "utf-16" if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def open_text(path: Path) -> IO[str]:
    """`path` opened for reading as text in its encoding (`encoding_of`); a missing file is a
    `DataFileError`."""
    if not path.is_file():
        raise DataFileError(path, None, "file not found")
    with path.open("rb") as fh:
        head = fh.read(2)
    return path.open(encoding=encoding_of(head), newline="", errors="strict")


def decode(path: Path, raw: bytes) -> str:
    """A whole file's text (`encoding_of`), or a `DataFileError` naming the line that is not."""
    encoding = encoding_of(raw)
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise undecodable(path, exc, f"line {line}") from None


def undecodable(path: Path, exc: UnicodeDecodeError, where: str | None = None) -> DataFileError:
    """The error for text that is not in the encoding it was read with: where (found by reading
    `path` line by line when not given), and what to do (a spreadsheet on Windows saves "CSV" in
    its own code page, not UTF-8)."""
    name = "UTF-16" if exc.encoding.startswith("utf-16") else "UTF-8"
    if where is None and name == "UTF-8":
        with path.open("rb") as fh:
            where = next((f"line {n}" for n, raw in enumerate(fh, 1) if not _is_utf8(raw)), None)
    problem = f"not valid {name}" + (f" ({where})" if where else "")
    return DataFileError(path, None, f"{problem}; {SAVE_AS_UTF8}")


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def delimiter_of(header: str) -> str:
    """The delimiter of a CSV file, from its header line: a comma, else a semicolon or a tab
    where the header holds one and no comma (a spreadsheet set to Indonesian, where the comma is
    the decimal mark, saves its CSV with semicolons)."""
    if "," not in header:
        for delimiter in (";", "\t"):
            if delimiter in header:
                return delimiter
    return ","


def dict_reader(fh: IO[str], **options: Any) -> csv.DictReader[str]:
    """`csv.DictReader` over a seekable text file with the delimiter its header line uses
    (`delimiter_of`)."""
    delimiter = delimiter_of(fh.readline())
    fh.seek(0)
    return csv.DictReader(fh, delimiter=delimiter, **options)


def read_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, row) with cells stripped; row 1 is the header, data starts at 2."""
    if not path.is_file():
        raise DataFileError(path, None, "file not found")
    try:
        reader = dict_reader(io.StringIO(decode(path, path.read_bytes()), newline=""))
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise DataFileError(path, 1, f"missing column(s) {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise DataFileError(path, number, "more cells than header columns")
            yield number, {k: (v or "").strip() for k, v in row.items()}
    except csv.Error as exc:
        raise DataFileError(path, None, f"malformed CSV ({exc})") from exc
