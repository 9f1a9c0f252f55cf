"""Streaming batch classification of JSONL or CSV files (`tandai classify`)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from api import service
from api.schemas import PostIn
from api.settings import Settings
from api.storage import Database
from model.datafiles import DataFileError, dict_reader
from model.triage import Triage

csv.field_size_limit(10_000_000)
CHUNK = 1000


def _open_text(path: Path) -> IO[str]:
    if not path.is_file():
        raise DataFileError(path, None, "file not found")
    return path.open(encoding="utf-8-sig", newline="", errors="strict")


def iter_posts(path: Path) -> Iterator[tuple[int, PostIn]]:
    """(line or row number, post) from a .jsonl or .csv file, validated one by one."""
    suffix = path.suffix.lower()
    if suffix not in {".jsonl", ".csv"}:
        raise DataFileError(path, None, "input must be a .jsonl or .csv file")
    any_rows = False
    try:
        with _open_text(path) as fh:
            if suffix == ".jsonl":
                rows: Iterator[tuple[int, object]] = (
                    (n, _json_line(path, n, line))
                    for n, line in enumerate(fh, start=1)
                    if line.strip()
                )
            else:
                reader = dict_reader(fh)
                if reader.fieldnames is None:
                    raise DataFileError(path, None, "file is empty")
                if "text" not in reader.fieldnames:
                    raise DataFileError(path, 1, "missing column 'text'")
                rows = (
                    (n, {k: v for k, v in row.items() if k in PostIn.model_fields and v})
                    for n, row in enumerate(reader, start=2)
                )
            for number, obj in rows:
                any_rows = True
                if not isinstance(obj, dict):
                    raise DataFileError(path, number, "each line must be a JSON object")
                try:
                    yield number, PostIn.model_validate(obj)
                except ValidationError as exc:
                    first = exc.errors()[0]
                    field = ".".join(str(p) for p in first["loc"]) or "row"
                    raise DataFileError(path, number, f"{field}: {first['msg']}") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(path, None, f"not valid UTF-8 (byte {exc.start})") from None
    except csv.Error as exc:
        raise DataFileError(path, None, f"malformed CSV ({exc})") from None
    if not any_rows:
        raise DataFileError(path, None, "file is empty")


def _json_line(path: Path, number: int, line: str) -> object:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataFileError(path, number, f"invalid JSON ({exc.msg})") from None


def classify_file(
    triage: Triage,
    path: Path,
    out: IO[str],
    settings: Settings,
    db: Database | None = None,
    show_progress: bool = False,
) -> int:
    """Classify every post of `path` in input order, writing one JSON object per line."""
    done = 0
    chunk: list[PostIn] = []

    def flush() -> None:
        nonlocal done
        for result in service.classify_posts(triage, chunk, db, _unbounded(settings, len(chunk))):
            out.write(result.model_dump_json() + "\n")
        done += len(chunk)
        chunk.clear()
        if show_progress:
            print(f"\rclassified {done:,} posts", end="", file=sys.stderr, flush=True)

    for _number, post in iter_posts(path):
        chunk.append(post)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    if show_progress:
        print(file=sys.stderr)
    return done


def _unbounded(settings: Settings, size: int) -> Settings:
    """File input is chunked here, so the HTTP batch limit does not apply."""
    if size <= settings.max_batch_size:
        return settings
    return settings.model_copy(update={"max_batch_size": size})
