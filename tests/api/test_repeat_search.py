"""The repeat search: candidates read in one query, their vectors kept between transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import repeat_search, service, storage
from api.repeat_search import VectorCache
from api.settings import Settings
from model.artifact import ModelArtifact
from model.repeats import cosine_rows
from model.routing import Directory
from model.triage import Triage
from tests.conftest import DATA_DIR

# Complaints about two places and two topics, some saying the same thing again; each inner
# list is one transaction (the last holds two posts, so one may repeat the other).
_REPEAT_POSTS = [
    ["sampah menumpuk bau busuk di kelurahan Sawah Lebar"],
    ["jalan berlubang besar di kelurahan Sawah Lebar"],
    ["@dlhkotabengkulu @pemkotbengkulu sampah menumpuk bau busuk nian di Sawah Lebar!!"],
    ["truk sampah tidak datang, sampah menumpuk di Sawah Lebar"],
    ["@dlhkotabengkulu TPS liar penuh plastik dibuang sembarangan ke lahan kosong Sawah Lebar"],
    ["jalan berlubang besar bahaya di kelurahan Sawah Lebar"],
    ["sampah menumpuk bau busuk di kelurahan Padang Harapan"],
    ["aspal jalan rusak parah banyak lobang di Padang Harapan"],
    ["sampah menumpuk bau busuk lagi di Padang Harapan", "sampah bau busuk di Sawah Lebar"],
]

Answer = tuple[str, int | None, float | None]  # text, the index of the post it repeats, cosine


def _repeat_answers(
    settings: Settings, model: ModelArtifact, forget: str = ""
) -> tuple[list[Answer], Triage]:
    """The answer for each of _REPEAT_POSTS, each list stored in a transaction of its own on
    a fresh database. `forget` "cache" empties the vector cache before each transaction, as for
    posts another worker stored; "all" also drops the vectors the database keeps, as for posts
    stored before it kept them."""
    triage = service.make_triage(settings, Directory.from_dir(settings.data_dir), model)
    db = storage.Database(settings.database_url)
    db.migrate()
    received = datetime.now(UTC)
    ids: list[str] = []
    answers = []
    try:
        for k, texts in enumerate(_REPEAT_POSTS):
            if forget:
                repeat_search.VECTORS.clear()
            if forget == "all":
                with db.session() as session:
                    storage.drop_repeat_vectors(session, received + timedelta(days=1))
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


@pytest.fixture
def vectors(monkeypatch: pytest.MonkeyPatch) -> VectorCache:
    """An empty cache of this test's own in place of the worker's."""
    cache = VectorCache(max_rows=1000, max_bytes=2**20)
    monkeypatch.setattr(repeat_search, "VECTORS", cache)
    return cache


def _settings(tiny_model: ModelArtifact, tmp_path: Path, name: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / name}.db",
        model_dir=tiny_model.path.parent,
        data_dir=DATA_DIR,
    )


def _check_cosines(answers: list[Answer], triage: Triage) -> None:
    """Every repeat's similarity is the cosine of the two posts' float64 vectors."""
    for text, repeats, similarity in answers:
        if repeats is None:
            continue
        pair = [answers[repeats][0], text]
        features = triage.similarity_features(triage.content_texts(pair))
        assert similarity == pytest.approx(cosine_rows(features[1], features[0])[0, 0], abs=1e-6)


def test_cache_keeps_float32_vectors_with_the_answers_of_float64(
    tiny_model: ModelArtifact,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    vectors: VectorCache,
) -> None:
    """The stored posts' vectors kept between transactions are float32 (a third less memory);
    every post repeats the same post as with float64 vectors, at the same similarity, which is
    the cosine of the two posts' float64 vectors."""
    assert repeat_search.DTYPE is np.float32
    cached32, triage = _repeat_answers(_settings(tiny_model, tmp_path, "float32"), tiny_model)
    assert len(vectors) > 0, "no vectors were kept"
    kept = vectors.get_many(triage.model_version, [k for _, k in list(vectors._rows)])
    assert {v[1].dtype for v in kept if v is not None} == {np.dtype(np.float32)}
    _check_cosines(cached32, triage)

    vectors.clear()
    monkeypatch.setattr(repeat_search, "DTYPE", np.float64)
    cached64, _ = _repeat_answers(_settings(tiny_model, tmp_path, "float64"), tiny_model)
    repeats = [r for _, r, _ in cached32]
    assert any(r is not None for r in repeats) and any(r is None for r in repeats)
    assert repeats == [r for _, r, _ in cached64]
    for (_, _, a), (_, _, b) in zip(cached32, cached64, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a == pytest.approx(b, abs=1e-6)


@pytest.mark.parametrize(
    ("forget", "read_again"),
    [("cache", False), ("all", True)],
    ids=["from-the-database", "through-the-model"],
)
def test_candidates_missing_from_the_cache_are_read_from_the_database_or_the_model(
    tiny_model: ModelArtifact,
    tmp_path: Path,
    vectors: VectorCache,
    monkeypatch: pytest.MonkeyPatch,
    forget: str,
    read_again: bool,
) -> None:
    """A worker that did not keep the earlier posts' vectors (another worker stored them, it
    restarted, or a flood pushed them out) finds the same repeats at the same similarities as
    the worker that kept them: from the vectors the database keeps beside the posts, without
    reading a candidate's text again, or, where the database has none, through the model."""
    kept, triage = _repeat_answers(_settings(tiny_model, tmp_path, "kept"), tiny_model)
    vectors.clear()
    texts_read: list[int] = []
    post_texts = storage.post_texts

    def counting(session: object, post_ids: list[str]) -> dict[str, str]:
        texts_read.append(len(post_ids))
        return post_texts(session, post_ids)  # type: ignore[arg-type]

    monkeypatch.setattr(storage, "post_texts", counting)
    forgotten, _ = _repeat_answers(
        _settings(tiny_model, tmp_path, "forgotten"), tiny_model, forget=forget
    )
    assert [r for _, r, _ in kept] == [r for _, r, _ in forgotten]
    assert any(r is not None for _, r, _ in kept)
    for (_, _, a), (_, _, b) in zip(kept, forgotten, strict=True):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a == pytest.approx(b, abs=1e-6)
    _check_cosines(forgotten, triage)
    assert (sum(texts_read) > 0) is read_again


def test_kept_vectors_survive_the_trip_through_bytes() -> None:
    columns, values = np.array([3, 70_000, 9], dtype=np.int32), np.array([0.5, -0.25, 1e-3])
    for dtype in (np.float32, np.float64):
        blob = repeat_search.encode_vector((columns, values.astype(dtype)))
        assert len(blob) == 1 + 3 * (4 + np.dtype(dtype).itemsize)
        got_columns, got_values = repeat_search.decode_vector(blob)
        assert got_columns.tolist() == [3, 70_000, 9]
        assert got_values.dtype == dtype and got_values.tolist() == values.astype(dtype).tolist()
    empty = repeat_search.decode_vector(repeat_search.encode_vector((columns[:0], values[:0])))
    assert empty[0].size == 0 and empty[1].size == 0


def test_the_database_keeps_one_vector_per_original_complaint_and_drops_old_ones(
    tiny_model: ModelArtifact, tmp_path: Path, vectors: VectorCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each original complaint that names a kecamatan has its vector kept, as the cache keeps
    it, under the model's version; repeats and posts without a place have none. Vectors older
    than the repeat window (and a day) are dropped; with the search off, all are."""
    settings = _settings(tiny_model, tmp_path, "kept")
    answers, triage = _repeat_answers(settings, tiny_model)
    db = storage.Database(settings.database_url)
    try:
        with db.session() as session:
            ids = [p.id for p in session.scalars(select(storage.PostRow))]
            rows = {r.post_id: r for r in session.scalars(select(storage.RepeatVectorRow))}
            originals = [
                p.id for p in session.scalars(select(storage.PostRow)) if p.repeat_of is None
            ]
            # each prediction says whether its post is an original, for the candidates' index
            flagged = {
                p.post_id for p in session.scalars(select(storage.PredictionRow)) if p.original
            }
        assert flagged == set(originals)
        assert len(ids) == len(answers)
        assert set(rows) == set(originals)  # every post of _REPEAT_POSTS names a kecamatan
        assert len(rows) < len(ids)  # the repeats have none
        assert {r.model_version for r in rows.values()} == {triage.model_version}
        cached = vectors.get_many(triage.model_version, list(rows))
        for row, vector in zip(rows.values(), cached, strict=True):
            assert vector is not None
            columns, values = repeat_search.decode_vector(row.vector)
            assert columns.tolist() == vector[0].tolist()
            assert values.tolist() == vector[1].tolist()
        with db.session() as session:
            assert storage.repeat_vectors(session, "another version", list(rows)) == {}
            assert set(storage.repeat_vectors(session, triage.model_version, ids)) == set(rows)
            # many ids are asked for a few at a time (each IN list within the backend's limit)
            whole = (
                storage.repeat_vectors(session, triage.model_version, ids),
                storage.post_texts(session, ids),
                storage.count_repeats(session, ids),
            )
            assert len(whole[1]) == len(ids) and sum(whole[2].values()) == len(ids) - len(rows)
            monkeypatch.setattr(storage, "_IDS_PER_QUERY", 2)
            twice = [*ids, *ids]  # and each id once
            assert (
                storage.repeat_vectors(session, triage.model_version, twice),
                storage.post_texts(session, twice),
                storage.count_repeats(session, twice),
            ) == whole

        oldest = min(r.created_at for r in rows.values())
        newest = max(r.created_at for r in rows.values())
        window = timedelta(days=settings.repeat_window_days) + service.REPEAT_VECTORS_MARGIN
        assert service.drop_old_repeat_vectors(db, settings, oldest + window) == 0
        at_newest = sum(r.created_at == newest for r in rows.values())
        assert service.drop_old_repeat_vectors(db, settings, newest + window) == (
            len(rows) - at_newest
        )
        # the repeat search turned off: no vector is needed any more
        off = settings.model_copy(update={"repeat_window_days": 0.0})
        assert service.drop_old_repeat_vectors(db, off, newest + timedelta(seconds=1)) == (
            at_newest
        )
        with db.session() as session:
            assert session.scalars(select(storage.RepeatVectorRow)).all() == []
    finally:
        db.dispose()


def _vector(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n), np.full(n, 0.5)


def test_vector_cache_is_bounded_in_rows_and_bytes() -> None:
    """The least recently used vectors go first; the one just stored always stays."""
    size = VectorCache._size((np.zeros(10, np.int32), np.zeros(10, np.float32)))
    cache = VectorCache(max_rows=10, max_bytes=3 * size)
    for k in range(5):
        cache.put("v1", f"p{k}", *_vector(10))
    assert [key for _, key in cache._rows] == ["p2", "p3", "p4"]
    assert cache.nbytes == 3 * size
    assert cache.get_many("v1", ["p2", "p0"])[1] is None  # p2 is now the most recently used
    cache.put("v1", "p5", *_vector(10))
    assert [key for _, key in cache._rows] == ["p4", "p2", "p5"]
    cache.put("v1", "big", *_vector(1000))  # alone over the byte bound
    assert [key for _, key in cache._rows] == ["big"]
    cache.max_rows, cache.max_bytes = 2, 10**9
    for k in range(3):
        cache.put("v2", f"q{k}", *_vector(1))
    assert list(cache._rows) == [("v2", "q1"), ("v2", "q2")]
    assert cache.get_many("v1", ["q2"]) == [None]  # another model version's vector


def test_posts_that_tag_the_same_accounts_are_compared_by_what_they_say(
    tiny_model: ModelArtifact, tmp_path: Path, vectors: VectorCache
) -> None:
    """The model reads a mentioned handle's words ("@dlhkotabengkulu": the office a post is
    about); the repeat search does not, or two different complaints that tag the same offices
    would look alike and the second would go untagged."""
    settings = _settings(tiny_model, tmp_path, "handles")
    triage = service.make_triage(settings, Directory.from_dir(DATA_DIR), tiny_model)
    plain = [
        "sampah menumpuk bau busuk di kelurahan Sawah Lebar",
        "TPS liar penuh plastik dibuang sembarangan ke lahan kosong Sawah Lebar",
    ]
    tagged = [f"@dlhkotabengkulu @DLH_Kota.Bengkulu {text}" for text in plain]
    assert all("lingkungan hidup" in t for t in triage.fast.normalise(tagged))
    content = triage.content_texts(tagged)
    assert not any("lingkungan" in t or "bengkulu" in t for t in content)
    assert [r.normalised for r in triage.classify(tagged)] == content
    assert triage.content_texts(plain) == triage.fast.normalise(plain)  # no mention: the same

    def cosine(texts: list[str]) -> float:
        features = triage.similarity_features(texts)
        return float(cosine_rows(features[0], features[1])[0, 0])

    # read with the handles' words, the two would pass for one complaint; compared, they do not
    assert cosine(triage.fast.normalise(tagged)) >= settings.repeat_threshold
    assert cosine(content) == pytest.approx(cosine(triage.fast.normalise(plain)))
    assert cosine(content) < settings.repeat_threshold

    def repeat_of_second(texts: list[str], name: str) -> str | None:
        db = storage.Database(f"sqlite:///{tmp_path / name}.db")
        db.migrate()
        try:
            received = datetime.now(UTC)
            first, second = (
                service.store_posts(
                    triage,
                    [storage.NewPost(t, "x")],
                    db,
                    settings,
                    [received + timedelta(minutes=k)],
                )[0]
                for k, t in enumerate(texts)
            )
            assert first.id is not None
            return None if second.repeat_of is None else "first"
        finally:
            db.dispose()

    vectors.clear()
    assert repeat_of_second(tagged, "tagged") == repeat_of_second(plain, "plain")


def test_vector_cache_keeps_copies_not_views_of_a_transactions_matrix() -> None:
    """A vector put from a slice of a larger array must not keep that array alive."""
    columns, values = np.arange(10_000, dtype=np.int32), np.linspace(0.0, 1.0, 10_000)
    cache = VectorCache(max_rows=10, max_bytes=2**20)
    cache.put("v1", "p", columns[10:20], values[10:20])
    [kept] = cache.get_many("v1", ["p"])
    assert kept is not None
    assert not np.shares_memory(kept[0], columns) and not np.shares_memory(kept[1], values)
    assert kept[0].tolist() == list(range(10, 20))
    assert kept[1].dtype == np.float32 and np.allclose(kept[1], values[10:20], atol=1e-7)
    assert cache.nbytes == VectorCache._size(kept)


def test_repeats_are_found_when_the_cache_holds_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = VectorCache(max_rows=1, max_bytes=0)
    monkeypatch.setattr(repeat_search, "VECTORS", tiny)
    first = client.post(
        "/classify", json={"text": "sampah menumpuk bau busuk di kelurahan Sawah Lebar"}
    ).json()
    client.post("/classify", json={"text": "jalan berlubang besar di kelurahan Sawah Lebar"})
    again = client.post(
        "/classify", json={"text": "sampah menumpuk bau busuk nian di Sawah Lebar!!"}
    ).json()
    assert again["repeat_of"] == first["id"]
    assert len(tiny) <= 1


def test_candidates_of_several_pairs_come_from_one_query_newest_first(
    database_url: str,
) -> None:
    """Each (topic, kecamatan) gets its own open originals, newest first and at most `limit`,
    whatever order the union returns them in."""
    db = storage.Database(database_url)
    db.migrate()
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    stored: dict[tuple[str, str], list[str]] = {}
    try:
        with db.session() as session:
            for k, (topic, kecamatan) in enumerate(
                [
                    ("sampah", "Gading Cempaka"),
                    ("jalan", "Gading Cempaka"),
                    ("sampah", "Teluk Segara"),
                ]
                * 4
            ):
                post = storage.NewPost(f"keluhan nomor {k}", "instagram")
                prediction = {
                    "model_version": "v",
                    "topic": topic,
                    "confidence": 0.9,
                    "margin": 0.5,
                    "alternatives": [],
                    "kecamatan": kecamatan,
                    "kelurahan": None,
                    "area_confidence": 0.9,
                    "area_evidence": kecamatan.lower(),
                    "area_ambiguous": False,
                    "tags": [],
                    "needs_review": False,
                    "review_reasons": [],
                    "respond_by": start + timedelta(days=1),
                }
                ids = storage.add_classified_posts(
                    session, [post], [prediction], start + timedelta(minutes=k)
                )
                stored.setdefault((topic, kecamatan), []).append(ids[0].id)
        pairs = [("sampah", "Teluk Segara"), ("sampah", "Gading Cempaka"), ("air", "Selebar")]
        with db.session() as session:
            found = storage.repeat_candidates(session, pairs, start, limit=3)
        assert list(found) == pairs
        for pair in pairs[:2]:
            assert [post_id for post_id, _ in found[pair]] == stored[pair][::-1][:3]
            times = [when for _, when in found[pair]]
            assert times == sorted(times, reverse=True)
        assert found[("air", "Selebar")] == []
        with db.session() as session:
            later = storage.repeat_candidates(session, pairs, start + timedelta(minutes=9))
        assert [p for p, _ in later[("sampah", "Gading Cempaka")]] == [stored[pairs[1]][-1]]
        # more pairs than one union holds, in several sizes of union: the same answers
        many = [*pairs, *((f"topik{k}", "Selebar") for k in range(17)), ("jalan", "Gading Cempaka")]
        with db.session() as session:
            wide = storage.repeat_candidates(session, many, start)
        assert list(wide) == many
        assert [p for p, _ in wide[("jalan", "Gading Cempaka")]] == stored[many[-1]][::-1]
        assert all(wide[pair] == [] for pair in many[3:-1])
        for pair in pairs[:2]:
            assert [p for p, _ in wide[pair]] == stored[pair][::-1]
    finally:
        db.dispose()
