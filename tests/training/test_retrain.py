"""Retraining: training data from files and reviews, the fixed held-out split, the quality gate,
`tandai train` registering its version, and POST /models/retrain in the background."""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import storage
from api.app import create_app
from api.auth import Principal
from api.schemas import ReviewIn
from api.service import review_post
from api.settings import Settings
from model.artifact import ModelArtifact, list_versions, load_artifact
from model.routing import Directory
from tests.api.conftest import bearer, create_key
from tests.conftest import DATA_DIR, TINY_CORPUS, write_labels
from training.cli import main
from training.evaluate import evaluate_model
from training.retrain import (
    HOLDOUT_FIT,
    REPORT_NAME,
    comparison_model,
    decide_promotion,
    gather_training_set,
    in_holdout,
    retrain,
    split_holdout,
    text_key,
)
from training.train import TooFewPosts, train_and_save

KEYWORDS = {
    "sampah": ["sampah", "bau", "tps", "menumpuk", "diangkut", "plastik", "busuk", "tong"],
    "jalan": ["jalan", "berlubang", "aspal", "rusak", "lubang", "amblas", "jembatan", "retak"],
    "banjir_drainase": ["banjir", "selokan", "drainase", "tersumbat", "genangan", "parit", "got"],
    "bukan_keluhan": ["terima", "kasih", "selamat", "mantap", "semoga", "salut", "info", "pagi"],
}
FILLER = ["di", "dekat", "rumah", "warga", "kami", "sudah", "lama", "tolong", "pak", "min", "lagi"]


def synthetic_corpus(per_label: int, noise: float = 0.0, seed: int = 7) -> list[tuple[str, str]]:
    """Posts of two topic words among filler; with `noise`, that share of posts has the words
    of another topic (a model can only learn those by heart)."""
    rng = random.Random(seed)
    labels = list(KEYWORDS)
    rows = []
    for label in labels:
        for _ in range(per_label):
            source = label if rng.random() >= noise else rng.choice(labels)
            tokens = rng.sample(KEYWORDS[source], 2) + rng.sample(FILLER, 4)
            rng.shuffle(tokens)
            rows.append((" ".join(tokens), label))
    return rows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The city's reference files with a small label set of our own."""
    data = tmp_path / "data"
    (data / "labels").mkdir(parents=True)
    for name in ("topics.csv", "areas.csv", "offices.csv", "officials.csv", "routing.csv"):
        shutil.copy(DATA_DIR / name, data / name)
    write_labels(data / "labels" / "posts.csv", synthetic_corpus(15))
    return data


@pytest.fixture
def local_settings(database_url: str, data_dir: Path, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, model_dir=tmp_path / "models", data_dir=data_dir)


def _review(
    db: storage.Database, text: str, decision: str, topic: str | None, predicted: str = "sampah"
) -> None:
    """Store a post predicted as `predicted` and review it."""
    prediction = {
        "model_version": "v",
        "topic": predicted,
        "confidence": 0.5,
        "margin": 0.1,
        "alternatives": [],
        "kecamatan": None,
        "kelurahan": None,
        "area_confidence": 0.0,
        "area_evidence": None,
        "tags": [],
        "needs_review": True,
        "review_reasons": [],
        "respond_by": storage._now(),
    }
    with db.session() as session:
        (post,) = storage.add_classified_posts(
            session, [storage.NewPost(text)], [prediction], storage._now()
        )
        post_id = post.id
        key = storage.add_api_key(session, "ani", "reviewer", f"hash-of-{post_id}")
        reviewer = Principal(key.id, key.name, key.role)
    body = ReviewIn(decision=decision, topic=topic)  # type: ignore[arg-type]
    review_post(
        db, Directory.from_dir(DATA_DIR), Settings(data_dir=DATA_DIR), post_id, body, reviewer
    )


def test_reviews_override_files_and_rejections_remove_texts(
    tmp_path: Path, db: storage.Database
) -> None:
    files = [write_labels(tmp_path / "l.csv", TINY_CORPUS)]
    relabelled, removed = TINY_CORPUS[0][0], TINY_CORPUS[5][0]
    _review(db, relabelled.upper() + "  ", "correct", "jalan")  # same text, other case/spacing
    _review(db, "got mampet lagi", "accept", None, predicted="banjir_drainase")
    _review(db, removed, "correct", "sampah")
    _review(db, removed, "reject", None)  # the latest review wins: rejected
    _review(db, "promo pulsa murah", "reject", None)
    data = gather_training_set(files, db)
    pairs = dict(zip(map(text_key, data.texts), data.labels, strict=True))
    assert pairs[text_key(relabelled)] == "jalan"
    assert pairs["got mampet lagi"] == "banjir_drainase"
    assert text_key(removed) not in pairs
    assert "promo pulsa murah" not in pairs
    assert (data.from_files, data.from_reviews, data.overridden, data.rejected) == (18, 2, 2, 2)
    assert len(data.texts) == 20


def test_holdout_is_fixed_by_text_and_spares_small_labels() -> None:
    rows = synthetic_corpus(40) + [("jarang sekali", "lainnya")] * 3
    texts = [t for t, _ in rows]
    labels = [label for _, label in rows]
    train, held = split_holdout(texts, labels, 20)
    assert sorted(train + held) == list(range(len(rows)))
    assert all(in_holdout(texts[i], 20) for i in held)
    assert all(labels[i] != "lainnya" for i in held)  # 3 posts: too few to hold any out
    assert 0.1 < len(held) / len(rows) < 0.3
    # the same text is held out whatever else is in the data, in whatever case or spacing
    again, _ = split_holdout(texts[::-1], labels[::-1], 20)
    assert {texts[::-1][i] for i in again} == {texts[i] for i in train}
    assert in_holdout("Sampah  Menumpuk", 20) == in_holdout("sampah menumpuk", 20)


@pytest.mark.parametrize(
    ("candidate", "active", "n", "promoted", "words"),
    [
        (0.80, None, 0, True, "no active model"),
        (0.80, 0.80, 10, True, "+0.0000"),
        (0.796, 0.80, 10, True, "-0.0040"),
        (0.79, 0.80, 10, False, "more than the tolerance"),
        (0.90, 0.80, 0, False, "no held-out posts"),
    ],
)
def test_promotion_gate(
    candidate: float, active: float | None, n: int, promoted: bool, words: str
) -> None:
    decision, reason = decide_promotion(candidate, active, 0.005, n)
    assert decision is promoted
    assert words in reason


def test_first_retrain_is_promoted_and_later_ones_are_gated(
    local_settings: Settings, db: storage.Database
) -> None:
    messages: list[str] = []
    first = retrain(local_settings, db, progress=messages.append)
    assert first.promoted
    assert any(m.startswith("[3/5]") for m in messages)
    # the first model says once that there was nothing to compare with, not twice
    assert not any(m.startswith("note:") for m in messages)
    assert messages[-1].startswith("promoted: no active model to compare with")
    assert first.report["data"]["n_holdout"] > 0
    assert first.report["candidate"]["n"] == first.report["data"]["n_holdout"]
    stored = json.loads((first.artifact.path / REPORT_NAME).read_text())
    assert stored == first.report
    assert load_artifact(first.artifact.path).metadata["holdout"]["percent"] == 20

    second = retrain(local_settings, db)
    assert second.artifact.path != first.artifact.path
    assert len(list_versions(local_settings.resolved_model_dir())) == 2
    assert second.report["active"]["version"] == first.artifact.version
    # the same data and split give the same held-out score: within the tolerance
    assert second.report["candidate"]["macro_f1"] == first.report["candidate"]["macro_f1"]
    assert second.promoted
    with db.session() as session:
        active = storage.active_model_version(session)
        assert active is not None and active.version == second.artifact.version
        assert {v.version for v in storage.list_model_versions(session)} == {
            first.artifact.version,
            second.artifact.version,
        }


def test_the_version_is_fitted_on_every_post_and_gated_on_its_fit_without_the_held_out(
    local_settings: Settings, db: storage.Database, data_dir: Path
) -> None:
    rows = synthetic_corpus(30, noise=0.4, seed=3)  # hard posts: a fit does not guess them all
    write_labels(data_dir / "labels" / "posts.csv", rows)
    first = retrain(local_settings, db, cv_folds=2)
    data = first.report["data"]
    assert data["n_train"] == data["n_train_without_holdout"] + data["n_holdout"]
    assert data["n_holdout"] > 0
    model = load_artifact(first.artifact.path)
    assert model.metadata["n_train"] == data["n_train"]
    fit = load_artifact(first.artifact.path / HOLDOUT_FIT)
    assert fit.metadata["n_train"] == data["n_train_without_holdout"]
    # the cross-validation (and its routing threshold) is of the version's model: every post
    assert model.metadata["cv"]["folds"] == 2 and "routing" in model.metadata["cv"]
    assert "cv" not in fit.metadata
    assert model.metadata["holdout"] == {
        "percent": 20,
        "n": data["n_holdout"],
        "fit": HOLDOUT_FIT,
        "n_train": data["n_train_without_holdout"],
    }
    # the candidate's held-out score is its fit's, which never saw those posts
    texts = [t for t, _ in rows if in_holdout(t, 20)]
    assert len(texts) == data["n_holdout"]
    labels = [label for t, label in rows if in_holdout(t, 20)]
    held = evaluate_model(fit.pipeline, texts, labels)
    assert first.report["candidate"]["macro_f1"] == round(held.macro_f1, 4)
    # the version's own model learned them too
    assert evaluate_model(model.pipeline, texts, labels).macro_f1 > held.macro_f1

    second = retrain(local_settings, db)
    # the active version is scored by its fit without the held-out posts, not its own model
    assert second.report["active"]["macro_f1"] == first.report["candidate"]["macro_f1"]
    assert second.report["active_note"] == ""
    shutil.rmtree(second.artifact.path / HOLDOUT_FIT)
    third = retrain(local_settings, db)
    assert third.report["active"]["version"] == second.artifact.version
    assert third.report["active_note"].startswith(
        "the active model's fit without the held-out posts could not be loaded"
    )


def test_a_version_trained_without_the_held_out_posts_is_its_own_comparison(
    local_settings: Settings, db: storage.Database
) -> None:
    first = retrain(local_settings, db)
    old = load_artifact(first.artifact.path / HOLDOUT_FIT)  # as versions were made before
    compared, note = comparison_model(old)
    assert compared is old and note == ""
    del old.metadata["holdout"]
    compared, note = comparison_model(old)
    assert compared is old and "may have seen these posts" in note


def test_an_active_model_whose_files_are_gone_is_named_not_silently_skipped(
    local_settings: Settings, db: storage.Database
) -> None:
    first = retrain(local_settings, db)
    shutil.rmtree(first.artifact.path)  # deleted by hand; the database still names it active
    messages: list[str] = []
    second = retrain(local_settings, db, progress=messages.append)
    assert second.promoted and second.report["active"] is None
    note = second.report["active_note"]
    assert (
        note.startswith("the active model could not be loaded") and str(first.artifact.path) in note
    )
    assert f"note: {note}" in messages
    assert messages[-1].startswith("promoted: ")


def test_a_label_with_too_few_posts_stops_the_retrain_before_any_version(
    local_settings: Settings, db: storage.Database, data_dir: Path
) -> None:
    rows = [
        *synthetic_corpus(15),
        ("lampu jalan mati", "lampu_jalan"),
        ("pju padam", "lampu_jalan"),
    ]
    write_labels(data_dir / "labels" / "posts.csv", rows)
    with pytest.raises(TooFewPosts, match="'lampu_jalan' \\(2\\)"):
        retrain(local_settings, db, cv_folds=5)
    assert list_versions(local_settings.resolved_model_dir()) == []
    # without cross-validation two posts are enough
    assert retrain(local_settings, db, cv_folds=0).promoted


def test_a_worse_candidate_is_recorded_but_not_promoted(
    local_settings: Settings, db: storage.Database, data_dir: Path
) -> None:
    # The active model was trained on every post, held-out ones included, so it knows the
    # answers; a candidate that has not seen them does worse on these hard posts.
    hard = synthetic_corpus(30, noise=0.4, seed=3)
    write_labels(data_dir / "labels" / "posts.csv", hard)
    cheat = train_and_save(
        [t for t, _ in hard],
        [label for _, label in hard],
        local_settings.resolved_model_dir() / "20260101T000000000000Z",
        data_sha256="x",
        data_files=["x"],
        cv_folds=0,
    )
    result = retrain(local_settings, db)
    assert not result.promoted, result.report
    assert result.report["candidate"]["macro_f1"] < result.report["active"]["macro_f1"]
    assert "more than the tolerance" in result.report["reason"]
    assert "may have seen these posts" in result.report["active_note"]
    with db.session() as session:
        assert storage.active_model_version(session) is None  # the cheat stays, unrecorded
        row = storage.get_model_version(session, result.artifact.version)
        assert row is not None and not row.active and row.reason == result.report["reason"]
    assert cheat.path.exists()


def test_cli_train_registers_and_serve_prefers_the_active_version(
    local_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tiny_model: ModelArtifact,
) -> None:
    monkeypatch.setenv("TANDAI_DATABASE_URL", local_settings.database_url)
    monkeypatch.setenv("TANDAI_MODEL_DIR", str(local_settings.model_dir))
    monkeypatch.setenv("TANDAI_DATA_DIR", str(local_settings.data_dir))
    assert main(["train", "--folds", "0"]) == 0
    err = capsys.readouterr().err
    assert "[1/5]" in err and "[5/5]" in err and "ACTIVE" in err
    (version,) = list_versions(local_settings.resolved_model_dir())
    # a newer version on disk that was never promoted is not what `classify` uses
    shutil.copytree(tiny_model.path, local_settings.resolved_model_dir() / "29990101T000000000000Z")
    posts = local_settings.model_dir / "posts.jsonl"
    posts.write_text('{"text": "jalan berlubang"}\n')
    out = local_settings.model_dir / "out.jsonl"
    assert main(["classify", "--input", str(posts), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["model_version"] == version.name


def _wait_for_job(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while True:
        job = client.get(f"/models/retrain/{job_id}", headers=headers).json()
        if job["status"] in {"succeeded", "failed"}:
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_retrain_through_the_api_in_the_background(
    local_settings: Settings, db: storage.Database
) -> None:
    first = retrain(local_settings, db)
    admin = bearer(create_key(local_settings.database_url, "admin", "budi"))
    with TestClient(create_app(local_settings)) as client:
        assert client.get("/ready").json()["model_version"] == first.artifact.version
        response = client.post("/models/retrain", json={}, headers=admin)
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["status"] == "queued" and job["requested_by"] == "budi"
        busy = client.post("/models/retrain", json={}, headers=admin)
        if busy.status_code == 409:  # unless the first job finished already
            assert job["id"] in busy.json()["detail"]
        done = _wait_for_job(client, job["id"], admin)
        assert done["status"] == "succeeded", done
        report = done["report"]
        assert isinstance(report, dict)
        assert report["active"]["version"] == first.artifact.version
        assert report["promoted"] is True
        # promoted in this worker at once
        assert client.get("/ready").json()["model_version"] == report["version"]
        listed = client.get("/models", headers=admin).json()
        assert [m["version"] for m in listed if m["active"]] == [report["version"]]
        assert client.get("/models/retrain/nope", headers=admin).status_code == 404
        bad = client.post("/models/retrain", json={"folds": 99}, headers=admin)
        assert bad.status_code == 422


def test_a_retrain_that_fails_to_start_or_to_load_ends_failed_and_frees_the_next(
    local_settings: Settings, db: storage.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job left "running" refused every later retrain with a 409 for two hours."""
    import sys

    from api import service

    retrain(local_settings, db)
    admin = bearer(create_key(local_settings.database_url, "admin"))
    with TestClient(create_app(local_settings)) as client:
        with monkeypatch.context() as patched:
            patched.setitem(sys.modules, "training.retrain", None)  # an import that fails
            job = client.post("/models/retrain", json={}, headers=admin).json()
            done = _wait_for_job(client, str(job["id"]), admin)
        assert done["status"] == "failed", done
        assert str(done["error"]).startswith("ModuleNotFoundError")

        def cannot_load(*args: object) -> None:
            raise MemoryError("no room")

        monkeypatch.setattr(service, "make_triage", cannot_load)
        job = client.post("/models/retrain", json={}, headers=admin)
        assert job.status_code == 202, job.text  # the failed job holds nothing up
        done = _wait_for_job(client, str(job.json()["id"]), admin)
        assert done["status"] == "failed", done
        assert "was promoted, but this worker could not load it (MemoryError: no room)" in str(
            done["error"]
        )
