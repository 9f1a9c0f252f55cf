"""Dask over a JSONL archive gives exactly what `tandai classify` gives, loading the model once
per worker, on a local cluster of two worker processes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dask.bag", reason="dask is not installed (pip install 'tandai[dask]')")
distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install 'tandai[dask]')"
)

from api.settings import Settings  # noqa: E402
from model.artifact import ModelArtifact  # noqa: E402
from tests.conftest import DATA_DIR, TINY_CORPUS  # noqa: E402
from training import dask_classify  # noqa: E402
from training.batch import classify_file  # noqa: E402
from training.cli import _triage  # noqa: E402

EXTRA = [
    "jalan berlubang di Sawah Lebar dak diperbaiki",
    "banjir lagi di kel. Kebun Beler, parit mampet",
    "lampu jalan mati di Gading Cempaka 😡",
    "qwerty zxcvb",
    "!!!",
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def _archive(path: Path) -> Path:
    """90 posts, each with `posted_at` (so `respond_by` does not depend on the clock)."""
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    texts = [t for t, _ in TINY_CORPUS] + EXTRA
    lines = []
    for i in range(90):
        post: dict[str, Any] = {
            "text": texts[i % len(texts)],
            "posted_at": (start + timedelta(minutes=7 * i)).isoformat(),
            "source": ["instagram", "facebook", "tiktok", "x"][i % 4],
        }
        if i % 3 == 0:
            post["external_id"] = f"post-{i}"
        lines.append(json.dumps(post, ensure_ascii=False))
        if i % 10 == 9:
            lines.append("")  # blank lines are skipped, as by the CLI
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_dask_gives_what_tandai_classify_gives(
    cluster: Any, tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    archive = _archive(tmp_path / "archive.jsonl")
    settings = Settings(model_dir=tiny_model.path.parent, data_dir=DATA_DIR)

    expected = io.StringIO()
    classify_file(_triage(settings, tiny_model.path), archive, expected, settings)
    expected_objects = [json.loads(line) for line in expected.getvalue().splitlines()]

    out_dir = tmp_path / "classified"
    # a small block size makes several partitions, more than there are workers
    bag = dask_classify.classify_bag(str(archive), tiny_model.path, settings, blocksize=2_000)
    assert bag.npartitions >= 4
    n = dask_classify.classify_archive(
        str(archive), out_dir, tiny_model.path.parent, settings, blocksize=2_000
    )
    assert n == len(expected_objects) == 90
    parts = sorted(out_dir.glob("part-*.jsonl"))
    assert len(parts) == bag.npartitions
    got = [json.loads(line) for p in parts for line in p.read_text(encoding="utf-8").splitlines()]
    assert got == expected_objects  # dicts: equal whatever the field order
    assert [json.loads(s) for s in bag.compute()] == expected_objects

    # each worker process loaded the model once, however many partitions it classified
    loads = cluster.run(dask_classify.loaded_models)
    assert len(loads) == 2
    for models in loads.values():
        assert len(models) <= 1
    assert sum(len(m) for m in loads.values()) >= 1


def test_a_bad_line_names_the_file_and_problem(
    cluster: Any, tiny_model: ModelArtifact, tmp_path: Path
) -> None:
    archive = tmp_path / "bad.jsonl"
    archive.write_text('{"text": "sampah menumpuk"}\n{"text": ""}\n', encoding="utf-8")
    settings = Settings(model_dir=tiny_model.path.parent, data_dir=DATA_DIR)
    with pytest.raises(dask_classify.ArchiveError, match=r"bad\.jsonl: text"):
        dask_classify.classify_bag(str(archive), tiny_model.path, settings).compute()
