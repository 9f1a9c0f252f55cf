"""Service-layer helpers that the routes and the CLI share."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from api import service, storage
from api.schemas import ClassificationOut
from api.settings import Settings
from model.artifact import ModelArtifact
from model.repeats import cosine_rows
from model.routing import Directory
from model.triage import Triage
from tests.conftest import DATA_DIR


def test_classification_out_is_what_validation_would_give(
    settings: Settings, tiny_model: ModelArtifact
) -> None:
    """`classification_out` skips validation (`model_construct`): its answers must equal the
    validated model's, field for field and in JSON."""
    triage = service.make_triage(settings, Directory.from_dir(settings.data_dir), tiny_model)
    results = triage.classify(
        [
            "sampah menumpuk bau busuk di kelurahan Sawah Lebar",
            "jalan berlubang di Padang Harapan kec. Gading Cempaka",
            "terima kasih pak wali",
            "🙏🙏",
        ],
        [None, datetime(2026, 11, 1, 7, 0, tzinfo=UTC), None, None],
    )
    for result in results:
        built = service.classification_out(result, "abc")
        validated = ClassificationOut.model_validate(built.model_dump())
        assert built == validated
        assert built.model_dump_json() == validated.model_dump_json()
    assert any(service.classification_out(r, None).tags for r in results)


# Complaints about two places and two topics, some saying the same thing again; each inner
# list is one transaction (the last holds two posts, so one may repeat the other).
_REPEAT_POSTS = [
    ["sampah menumpuk bau busuk di kelurahan Sawah Lebar"],
    ["jalan berlubang besar di kelurahan Sawah Lebar"],
    ["sampah menumpuk bau busuk nian di Sawah Lebar!!"],
    ["truk sampah tidak datang, sampah menumpuk di Sawah Lebar"],
    ["TPS liar penuh plastik dibuang sembarangan ke lahan kosong Sawah Lebar"],
    ["jalan berlubang besar bahaya di kelurahan Sawah Lebar"],
    ["sampah menumpuk bau busuk di kelurahan Padang Harapan"],
    ["aspal jalan rusak parah banyak lobang di Padang Harapan"],
    ["sampah menumpuk bau busuk lagi di Padang Harapan", "sampah bau busuk di Sawah Lebar"],
]


def _repeat_answers(
    settings: Settings, model: ModelArtifact
) -> tuple[list[tuple[str, int | None, float | None]], Triage]:
    """(text, the index of the post it repeats, similarity) for each of _REPEAT_POSTS, each
    list stored in a transaction of its own on a fresh database."""
    triage = service.make_triage(settings, Directory.from_dir(settings.data_dir), model)
    db = storage.Database(settings.database_url)
    db.migrate()
    received = datetime.now(UTC)
    ids: list[str] = []
    answers = []
    try:
        for k, texts in enumerate(_REPEAT_POSTS):
            outs = service.store_posts(
                triage,
                [storage.NewPost(t, "instagram") for t in texts],
                db,
                settings,
                [received + timedelta(minutes=k)] * len(texts),
            )
            for text, out in zip(texts, outs, strict=True):
                assert out.id is not None
                ids.append(out.id)
                with db.session() as session:
                    row = storage.get_post(session, out.id)
                    assert row is not None
                    similarity = row.repeat_similarity
                repeats = ids.index(out.repeat_of) if out.repeat_of else None
                answers.append((text, repeats, similarity))
    finally:
        db.dispose()
    return answers, triage


def test_repeat_cache_keeps_float32_vectors_with_the_answers_of_float64(
    tiny_model: ModelArtifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidates' vectors kept between transactions are float32 (a third less memory);
    every post repeats the same post as with float64 vectors, at the same similarity, which is
    the cosine of the two posts' float64 vectors."""

    def run(name: str) -> list[tuple[str, int | None, float | None]]:
        cache: OrderedDict[tuple[str, str, str], tuple[tuple[str, ...], sp.csr_matrix]] = (
            OrderedDict()
        )
        monkeypatch.setattr(service, "_repeat_matrices", cache)
        settings = Settings(
            database_url=f"sqlite:///{tmp_path / name}.db",
            model_dir=tiny_model.path.parent,
            data_dir=DATA_DIR,
        )
        answers, triage = _repeat_answers(settings, tiny_model)
        assert cache, "no candidates were cached"
        dtypes = {m.dtype for _, m in cache.values()}
        assert dtypes == {np.dtype(service._REPEAT_DTYPE)}
        for text, repeats, similarity in answers:
            if repeats is None:
                continue
            pair = [answers[repeats][0], text]
            vectors = triage.similarity_features(triage.fast.normalise(pair))
            expected = cosine_rows(vectors[1], vectors[0])[0, 0]
            assert similarity == pytest.approx(expected, abs=1e-6)
        return answers

    cached32 = run("float32")
    assert service._REPEAT_DTYPE is np.float32
    monkeypatch.setattr(service, "_REPEAT_DTYPE", np.float64)
    cached64 = run("float64")
    repeats = [r for _, r, _ in cached32]
    assert any(r is not None for r in repeats) and any(r is None for r in repeats)
    assert repeats == [r for _, r, _ in cached64]
    for (_, _, a), (_, _, b) in zip(cached32, cached64, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a == pytest.approx(b, abs=1e-6)
