"""Fitting with the calibration folds in worker processes gives the model one process gives, and
large corpora calibrate on one held-out split with a single linear fit."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedShuffleSplit

from model.routing import NOT_A_COMPLAINT
from tests.conftest import TINY_CORPUS
from training import train
from training.evaluate import ROUTING_TARGET, choose_threshold
from training.train import (
    HOLDOUT_FROM_POSTS,
    HOLDOUT_POSTS,
    MAX_CALIBRATION_FOLDS,
    PARALLEL_FROM_POSTS,
    CVResult,
    TooFewPosts,
    calibration_folds,
    calibration_split,
    check_class_sizes,
    fit_pipeline,
    linear_fits,
    new_pipeline,
    train_and_save,
    training_jobs,
)


def test_training_jobs_start_at_the_threshold() -> None:
    assert training_jobs(1_000) == 1
    assert training_jobs(PARALLEL_FROM_POSTS - 1) == 1
    expected = max(1, min(MAX_CALIBRATION_FOLDS, os.cpu_count() or 1))
    assert training_jobs(PARALLEL_FROM_POSTS) == expected


def test_fit_in_worker_processes_equals_fit_in_one(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = np.asarray([t for t, _ in TINY_CORPUS], dtype=object)
    labels = [label for _, label in TINY_CORPUS]
    y = np.asarray(labels, dtype=object)
    alone = new_pipeline(labels).fit(texts, y)
    monkeypatch.setattr(train, "PARALLEL_FROM_POSTS", 0)  # tiny data, as many processes as large
    assert training_jobs(len(texts)) == max(1, min(MAX_CALIBRATION_FOLDS, os.cpu_count() or 1))
    parallel = fit_pipeline(new_pipeline(labels), texts, y)
    probe = [TINY_CORPUS[0][0], "jalan rusak dan sampah", "banjir lagi"]
    np.testing.assert_array_equal(parallel.predict_proba(probe), alone.predict_proba(probe))


def _labels(n: int, classes: int = 16) -> list[str]:
    return [f"topic{k % classes}" for k in range(n)]


def test_calibration_uses_folds_below_the_holdout_threshold() -> None:
    labels = _labels(HOLDOUT_FROM_POSTS - 1)
    assert calibration_split(labels) == calibration_folds(labels) == MAX_CALIBRATION_FOLDS
    assert linear_fits(calibration_split(labels)) == MAX_CALIBRATION_FOLDS + 1


@pytest.mark.parametrize(
    ("n", "held_out"),
    [
        (HOLDOUT_FROM_POSTS, min(HOLDOUT_POSTS, HOLDOUT_FROM_POSTS // 10)),
        (200_000, HOLDOUT_POSTS),
    ],
)
def test_large_corpora_hold_out_a_tenth_at_most_holdout_posts(n: int, held_out: int) -> None:
    labels = _labels(n)
    split = calibration_split(labels)
    assert isinstance(split, StratifiedShuffleSplit)
    assert split.get_n_splits() == 1
    assert linear_fits(split) == 1
    (train_idx, test_idx), *_ = split.split(np.zeros(n), labels)
    assert len(test_idx) == held_out
    assert len(train_idx) == n - held_out
    # stratified: every class is on both sides
    assert len({labels[i] for i in test_idx}) == 16


def test_holdout_calibration_fits_one_linear_model_on_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = np.asarray([t for t, _ in TINY_CORPUS], dtype=object)
    labels = [label for _, label in TINY_CORPUS]
    monkeypatch.setattr(train, "HOLDOUT_FROM_POSTS", 0)
    pipeline = fit_pipeline(new_pipeline(labels), texts, np.asarray(labels, dtype=object))
    np.testing.assert_allclose(pipeline.predict_proba(texts).sum(axis=1), 1.0)
    features = pipeline[:-1].transform(texts)
    gate = pipeline.named_steps["classify"]
    y = np.asarray(labels, dtype=object)
    complaint = y != NOT_A_COMPLAINT
    # the gate reads every post (is it no complaint?), the topic model the complaints only
    for calibrated, X, target in [
        (gate.gate_, features, ~complaint),
        (gate.topics_, features[complaint], y[complaint]),
    ]:
        assert calibrated.ensemble is True
        (only,) = calibrated.calibrated_classifiers_
        (scaler,) = only.calibrators
        assert np.isfinite(scaler.beta_) and scaler.beta_ > 0
        # the linear model is the one fitted on the split's training side, and only on it
        split = calibration_split(labels)
        assert not isinstance(split, int)
        ((train_idx, held_idx),) = split.split(X, target)
        assert len(held_idx) == len(set(labels))  # at least one post of each class held out
        alone = clone(only.estimator).fit(X[train_idx], target[train_idx])
        np.testing.assert_allclose(only.estimator.coef_, alone.coef_, rtol=1e-9, atol=1e-12)


def _cv(confidence: list[float], correct: list[bool]) -> CVResult:
    """Out-of-fold results of two classes whose top probabilities are `confidence`."""
    proba = np.array([[c, 1 - c] for c in confidence])
    y_pred = ["a"] * len(confidence)
    y_true = ["a" if ok else "b" for ok in correct]
    return CVResult(0.0, 0.0, 5, y_true, y_pred, proba, ["a", "b"])


def test_cross_validation_records_the_routing_threshold() -> None:
    confidence = [0.95, 0.9, 0.8, 0.7, 0.6, 0.55]
    correct = [True, True, True, True, False, True]
    routing = _cv(confidence, correct).summary()["routing"]
    chosen = choose_threshold(confidence, correct, ROUTING_TARGET)
    assert routing == {
        "target": ROUTING_TARGET,
        "threshold": chosen.threshold,
        "routed": round(chosen.coverage, 4),
    }
    assert (chosen.threshold, chosen.routed) == (0.7, 4)


def test_cross_validation_records_no_threshold_when_none_reaches_the_target() -> None:
    routing = _cv([0.9, 0.8], [False, True]).summary()["routing"]
    assert routing == {"target": ROUTING_TARGET, "threshold": None, "routed": 0.0}


@pytest.mark.parametrize(
    ("counts", "cv_folds", "named"),
    [
        ({"a": 3, "b": 3}, 5, None),
        ({"a": 2, "b": 2}, 0, None),
        ({"a": 2, "b": 3}, 5, ["'a' (2)"]),
        ({"a": 2, "b": 3}, 1, None),  # fewer than 2 folds: no cross-validation
        ({"a": 1, "b": 2, "c": 5}, 0, ["'a' (1)"]),
        ({"a": 1, "b": 2, "c": 5}, 2, ["'a' (1)", "'b' (2)"]),
    ],
)
def test_labels_with_too_few_posts_are_named_before_any_fit(
    counts: dict[str, int], cv_folds: int, named: list[str] | None
) -> None:
    labels = [label for label, n in counts.items() for _ in range(n)]
    if named is None:
        check_class_sizes(labels, cv_folds)
        return
    with pytest.raises(TooFewPosts) as caught:
        check_class_sizes(labels, cv_folds)
    message = str(caught.value)
    for label in named:
        assert label in message
    assert "'c'" not in message
    assert ("--folds 0" in message) is (cv_folds >= 2)
    assert f"--min-class-size {3 if cv_folds >= 2 else 2}" in message


def test_every_label_size_the_check_lets_through_trains(tmp_path: Path) -> None:
    """The check's minimums are the real ones: with every label at the minimum, fitting (and
    cross-validating) works."""
    kept = ("sampah", "jalan", "bukan_keluhan")
    rows = [(text, label) for text, label in TINY_CORPUS if label in kept]
    for cv_folds, size in ((0, 2), (5, 3)):
        by_label: dict[str, list[str]] = {}
        for text, label in rows:
            by_label.setdefault(label, []).append(text)
        texts = [t for ts in by_label.values() for t in ts[:size]]
        labels = [label for label, ts in by_label.items() for _ in ts[:size]]
        check_class_sizes(labels, cv_folds)
        artifact = train_and_save(
            texts,
            labels,
            tmp_path / f"m{cv_folds}",
            data_sha256="t",
            data_files=[],
            cv_folds=cv_folds,
        )
        assert artifact.labels == sorted(by_label)
        # one post fewer of one label is refused, before anything is written
        with pytest.raises(TooFewPosts):
            train_and_save(
                texts[1:],
                labels[1:],
                tmp_path / f"refused{cv_folds}",
                data_sha256="t",
                data_files=[],
                cv_folds=cv_folds,
            )
        assert not (tmp_path / f"refused{cv_folds}").exists()
