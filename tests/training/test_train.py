"""Fitting with the calibration folds in worker processes gives the model one process gives."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.conftest import TINY_CORPUS
from training import train
from training.train import (
    MAX_CALIBRATION_FOLDS,
    PARALLEL_FROM_POSTS,
    fit_pipeline,
    new_pipeline,
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
