"""Classifying archives too large for one machine with Dask: the same model, the same results.

Years of comments from every city account do not fit one process. Dask reads the JSONL files
as a bag whose partitions are blocks of lines, sends each partition to a worker, and each worker
classifies its lines exactly as `tandai classify` does (`api.service.classify_posts`, in chunks
of 1,000 posts). The model is loaded once per worker process, on its first partition, and kept
in a worker-local cache keyed by model path (and settings), so later partitions pay nothing.

Example, a local cluster of two worker processes (``pip install 'tandai[dask]'``)::

    from pathlib import Path
    from distributed import Client, LocalCluster
    from api.settings import Settings
    from training.dask_classify import classify_archive

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster):
        n = classify_archive("archive/*.jsonl", Path("classified"), Path("var/models"),
                             Settings(), blocksize="64MiB")

`classified/part-00000.jsonl`, `part-00001.jsonl`, ... then hold one JSON object per post, the
parts in input order; concatenated, they equal `tandai classify` on the same lines (the
`respond_by` of a post without `posted_at` counts from when its chunk was classified, there as
here). On a real cluster, point the client at its scheduler instead, and keep the model and
data directories where every worker can read them and the output directory where every worker
can write (`classify_bag` takes `storage_options` for remote input and leaves the writing to
you).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dask
import dask.bag as db

from api import service
from api.schemas import PostIn
from api.settings import Settings
from model.artifact import METADATA_NAME, latest_version, load_artifact
from model.routing import Directory
from model.triage import Triage
from training.batch import read_json_line

CHUNK = 1000  # posts per classify_posts call, as in `tandai classify`

_cache_lock = threading.Lock()
_triages: dict[tuple[str, str], Triage] = {}


class ArchiveError(ValueError):
    """A line of the archive is not a valid post (message names the file and the problem)."""


def resolve_model(model: Path) -> Path:
    """A version directory, or the newest version under a directory of versions."""
    if (model / METADATA_NAME).is_file():
        return model
    newest = latest_version(model)
    if newest is None:
        raise ArchiveError(f"no trained model in {model}; train one with `tandai train`")
    return newest


def worker_triage(model: str, settings: Settings) -> Triage:
    """This process's Triage for `model`, loaded (and its fast path built) on first use only."""
    key = (model, settings.model_dump_json())
    with _cache_lock:
        triage = _triages.get(key)
        if triage is None:
            directory = Directory.from_dir(settings.data_dir)
            triage = service.make_triage(settings, directory, load_artifact(Path(model)))
            _triages[key] = triage
    return triage


def loaded_models() -> list[str]:
    """The model paths this process has loaded (one entry per load)."""
    return [model for model, _ in _triages]


def _post(line: str, path: str) -> PostIn:
    """One JSONL line as `training.batch.iter_rows` reads it."""
    post = read_json_line(line)
    if isinstance(post, str):
        raise ArchiveError(f"{path}: {post} in {line[:60]!r}")
    return post


def classify_lines(lines: Iterable[tuple[str, str]], model: str, settings: Settings) -> list[str]:
    """Classify one partition of (line, path) pairs into JSON strings, in order."""
    triage = worker_triage(model, settings)
    posts = [_post(line, path) for line, path in lines if line.strip()]
    out: list[str] = []
    for lo in range(0, len(posts), CHUNK):
        chunk = posts[lo : lo + CHUNK]
        # File input is chunked here, so the HTTP batch limit does not apply (as in the CLI).
        limits = settings.model_copy(
            update={"max_batch_size": max(len(chunk), settings.max_batch_size)}
        )
        out.extend(r.model_dump_json() for r in service.classify_posts(triage, chunk, None, limits))
    return out


def classify_bag(
    inputs: str | Sequence[str],
    model: Path,
    settings: Settings | None = None,
    blocksize: str | int | None = "64MiB",
    storage_options: dict[str, Any] | None = None,
) -> db.Bag:
    """A lazy bag of classification JSON strings, one per non-blank line, in input order.

    `inputs` are paths or globs of .jsonl files (any fsspec URL); `blocksize` sets how many
    bytes of input make one partition.
    """
    settings = settings or Settings()
    version = str(resolve_model(model).resolve())
    lines = db.read_text(
        inputs,
        blocksize=blocksize,
        encoding="utf-8-sig",
        include_path=True,
        storage_options=storage_options,
    )
    return lines.map_partitions(classify_lines, version, settings)


def _write_part(results: list[str], path: Path) -> int:
    with path.open("w", encoding="utf-8") as fh:
        fh.writelines(r + "\n" for r in results)
    return len(results)


def classify_archive(
    inputs: str | Sequence[str],
    output_dir: Path,
    model: Path,
    settings: Settings | None = None,
    blocksize: str | int | None = "64MiB",
) -> int:
    """Classify every post of the archive into `output_dir/part-NNNNN.jsonl`; returns the count.

    Runs on the active Dask client (see the module docstring), or on Dask's default local
    scheduler when there is none.
    """
    bag = classify_bag(inputs, model, settings, blocksize)
    output_dir.mkdir(parents=True, exist_ok=True)
    writes = [
        dask.delayed(_write_part)(part, output_dir / f"part-{i:05d}.jsonl")
        for i, part in enumerate(bag.to_delayed())
    ]
    return int(sum(dask.compute(*writes)))
