"""Streaming batch classification of JSONL or CSV files (`tandai classify`)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from api import service
from api.schemas import PostIn
from api.settings import Settings
from api.storage import Database
from model.datafiles import DataFileError, dict_reader, open_text, undecodable
from model.triage import Triage

csv.field_size_limit(10_000_000)
CHUNK = 1000


def iter_rows(path: Path) -> Iterator[tuple[int, PostIn | str]]:
    """(line or row number, post, or what is wrong with that row) from a .jsonl or .csv file.

    What is wrong with the file as a whole (missing, not UTF-8, not CSV, no rows, no `text`
    column) raises `DataFileError`; a row that is not valid JSON, not an object or not a valid
    post is yielded as its problem, so a caller may go on past it."""
    suffix = path.suffix.lower()
    if suffix not in {".jsonl", ".csv"}:
        raise DataFileError(path, None, "input must be a .jsonl or .csv file")
    last = 0  # the last row read
    try:
        with open_text(path) as fh:
            if suffix == ".jsonl":
                rows: Iterator[tuple[int, PostIn | str]] = (
                    (n, read_json_line(line)) for n, line in enumerate(fh, start=1) if line.strip()
                )
            else:
                reader = dict_reader(fh)
                if reader.fieldnames is None:
                    raise DataFileError(path, None, "file is empty")
                if "text" not in reader.fieldnames:
                    raise DataFileError(path, 1, "missing column 'text'")
                rows = (
                    (n, read_post({k: v for k, v in row.items() if k in PostIn.model_fields and v}))
                    for n, row in enumerate(reader, start=2)
                )
            for number, post in rows:
                last = number
                yield number, post
    except UnicodeDecodeError as exc:
        raise undecodable(path, exc) from None
    except csv.Error as exc:
        raise DataFileError(path, None, f"malformed CSV ({exc})") from None
    if not last:
        raise DataFileError(path, None, "file is empty")


def read_post(obj: object) -> PostIn | str:
    """The row as a post, or what is wrong with it."""
    if not isinstance(obj, dict):
        return "each line must be a JSON object"
    try:
        return PostIn.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "row"
        return f"{field}: {first['msg']}"


def read_json_line(line: str) -> PostIn | str:
    """One JSONL line as a post, or what is wrong with it."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc.msg})"
    return read_post(obj)


@dataclass
class BatchResult:
    """What `classify_file` did: posts classified, and the rows skipped as (number, problem)."""

    classified: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


def classify_file(
    triage: Triage,
    path: Path,
    out: IO[str],
    settings: Settings,
    db: Database | None = None,
    show_progress: bool = False,
    skip_invalid: bool = False,
) -> BatchResult:
    """Classify every post of `path` in input order, writing one JSON object per line.

    An invalid row stops the run with `DataFileError` naming it, once every row before it has
    been classified (and stored, with `db`) and written, so the output holds exactly what was
    done and a second run with the same ids stores nothing twice. With `skip_invalid`, the
    row's line in the output is `{"row": N, "error": "..."}` instead, and the run goes on."""
    result = BatchResult()
    # posts and skipped rows in input order, up to CHUNK: a skipped row waits for the posts
    # before it
    pending: list[PostIn | tuple[int, str]] = []

    def flush() -> None:
        if not pending:
            return
        chunk = [p for p in pending if isinstance(p, PostIn)]
        answers = iter(service.classify_posts(triage, chunk, db, _unbounded(settings, len(chunk))))
        for item in pending:
            if isinstance(item, PostIn):
                out.write(next(answers).model_dump_json() + "\n")
            else:
                out.write(json.dumps({"row": item[0], "error": item[1]}, ensure_ascii=False) + "\n")
        result.classified += len(chunk)
        pending.clear()
        if show_progress:
            print(f"\rclassified {result.classified:,} posts", end="", file=sys.stderr, flush=True)

    try:
        for number, post in iter_rows(path):
            if isinstance(post, str):
                if not skip_invalid:
                    flush()
                    raise DataFileError(
                        path,
                        number,
                        f"{post} (stopped here; the {result.classified} posts before it were "
                        "classified and written; --skip-invalid goes on past invalid rows)",
                    )
                result.skipped.append((number, post))
                pending.append((number, post))
                continue
            pending.append(post)
            if len(pending) >= CHUNK:
                flush()
    except DataFileError:
        flush()  # the rows before a file that stops making sense
        raise
    flush()
    if show_progress:
        print(file=sys.stderr)
    return result


def _unbounded(settings: Settings, size: int) -> Settings:
    """File input is chunked here, so the HTTP batch limit does not apply."""
    if size <= settings.max_batch_size:
        return settings
    return settings.model_copy(update={"max_batch_size": size})
