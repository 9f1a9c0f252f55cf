"""Reading the city's reference CSV files with errors that name the file, row and problem."""

from __future__ import annotations

import csv
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
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = dict_reader(fh)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise DataFileError(path, 1, f"missing column(s) {', '.join(missing)}")
            for number, row in enumerate(reader, start=2):
                if None in row:
                    raise DataFileError(path, number, "more cells than header columns")
                yield number, {k: (v or "").strip() for k, v in row.items()}
    except UnicodeDecodeError as exc:
        raise DataFileError(path, None, f"not valid UTF-8 ({exc.reason})") from exc
    except csv.Error as exc:
        raise DataFileError(path, None, f"malformed CSV ({exc})") from exc
