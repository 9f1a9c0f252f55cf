"""Reading labeled CSV files for training and evaluation, with one-line errors."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from model.datafiles import DataFileError, decode, dict_reader

csv.field_size_limit(10_000_000)


@dataclass
class LabeledData:
    texts: list[str]
    labels: list[str]
    kecamatan: list[str]
    kelurahan: list[str]
    sources: list[Path]
    sha256: str
    dropped: dict[str, int]


def pairs_sha256(texts: list[str], labels: list[str]) -> str:
    """SHA-256 of (text, label) pairs in order: what a retrain records as its data's digest
    (files and reviews together), so a later reading of the same posts can be recognised."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{text}\t{label}\n".encode())
    return digest.hexdigest()


def default_label_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "labels").glob("*.csv"))


def read_labeled(
    paths: list[Path],
    text_column: str = "text",
    label_column: str = "topic",
    allowed_labels: set[str] | None = None,
    min_class_size: int = 1,
    min_labels: int = 2,
) -> LabeledData:
    """Rows with a non-empty text and label from every file; classes smaller than
    `min_class_size` are dropped (and counted in `dropped`). Training needs `min_labels` = 2
    labels; scoring a model needs one."""
    if not paths:
        raise DataFileError(Path("data/labels"), None, "no labeled CSV files found")
    texts: list[str] = []
    labels: list[str] = []
    kec: list[str] = []
    kel: list[str] = []
    digest = hashlib.sha256()
    for path in paths:
        if not path.is_file():
            raise DataFileError(path, None, "file not found")
        raw = path.read_bytes()
        digest.update(raw)
        content = decode(path, raw)
        if not content.strip():
            raise DataFileError(path, None, "file is empty")
        # the csv module reads the line breaks itself: a quoted post may hold several lines, and
        # splitting the file into lines first would glue the words around each break together
        reader = dict_reader(io.StringIO(content, newline=""), strict=True)
        header = reader.fieldnames or []
        for column in (text_column, label_column):
            if column not in header:
                raise DataFileError(
                    path, 1, f"missing column {column!r} (columns: {', '.join(header)})"
                )
        n_before = len(texts)
        try:
            for number, row in enumerate(reader, start=2):
                text = (row.get(text_column) or "").strip()
                label = (row.get(label_column) or "").strip()
                if not text:
                    continue
                if not label:
                    raise DataFileError(path, number, f"empty {label_column!r}")
                if allowed_labels is not None and label not in allowed_labels:
                    raise DataFileError(path, number, f"unknown label {label!r}")
                texts.append(text)
                labels.append(label)
                kec.append((row.get("kecamatan") or "").strip())
                kel.append((row.get("kelurahan") or "").strip())
        except csv.Error as exc:
            raise DataFileError(path, None, f"malformed CSV ({exc})") from exc
        if len(texts) == n_before:
            raise DataFileError(path, None, "no rows with text")
    counts = Counter(labels)
    small = {c: n for c, n in counts.items() if n < min_class_size}
    if small:
        keep = [i for i, lab in enumerate(labels) if lab not in small]
        texts = [texts[i] for i in keep]
        labels = [labels[i] for i in keep]
        kec = [kec[i] for i in keep]
        kel = [kel[i] for i in keep]
    if len(set(labels)) < min_labels:
        raise DataFileError(paths[0], None, "need at least two labels with enough rows to train")
    return LabeledData(texts, labels, kec, kel, list(paths), digest.hexdigest(), small)
