"""Scoring a model on labeled posts: selective accuracy and the routing it reports."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.artifact import ModelArtifact
from tests.conftest import TINY_CORPUS
from training.evaluate import (
    apply_threshold,
    choose_threshold,
    evaluate_model,
    format_report,
)

# --- selective accuracy ------------------------------------------------------------------------


def test_choose_threshold_routes_the_most_posts_that_stay_accurate() -> None:
    confidence = [0.9, 0.8, 0.7, 0.6, 0.5]
    correct = [True, True, True, False, True]
    strict = choose_threshold(confidence, correct, target=0.95)
    assert (strict.threshold, strict.routed, strict.posts) == (0.7, 3, 5)
    assert strict.coverage == pytest.approx(0.6) and strict.accuracy == 1.0
    # 4 of 5 right overall clears 0.75, so everything is routed
    loose = choose_threshold(confidence, correct, target=0.75)
    assert (loose.threshold, loose.coverage, loose.accuracy) == (0.5, 1.0, 0.8)


def test_choose_threshold_never_splits_a_tie() -> None:
    # routing the first two would be 100% right, but the 0.8 pair goes together
    chosen = choose_threshold([0.9, 0.8, 0.8], [True, True, False], target=0.95)
    assert (chosen.threshold, chosen.routed) == (0.9, 1)


def test_choose_threshold_routes_nothing_when_the_target_is_out_of_reach() -> None:
    chosen = choose_threshold([0.9, 0.9, 0.8], [True, False, True], target=0.95)
    assert chosen.threshold == math.inf and chosen.routed == 0 and chosen.coverage == 0.0
    assert math.isnan(chosen.accuracy)


def test_apply_threshold_on_new_posts() -> None:
    s = apply_threshold([0.95, 0.7, 0.71, 0.2], [True, False, True, False], 0.7)
    assert (s.routed, s.posts, s.coverage) == (3, 4, 0.75)
    assert s.accuracy == pytest.approx(2 / 3)


# --- a model's report ---------------------------------------------------------------------------


def _confidence_and_correct(model: ModelArtifact) -> tuple[np.ndarray, np.ndarray]:
    texts = np.asarray([t for t, _ in TINY_CORPUS], dtype=object)
    proba = model.pipeline.predict_proba(texts)
    predicted = model.pipeline.classes_[proba.argmax(axis=1)]
    truth = np.asarray([label for _, label in TINY_CORPUS], dtype=object)
    return proba.max(axis=1), predicted == truth


def test_evaluate_model_routes_at_the_threshold_it_is_given(tiny_model: ModelArtifact) -> None:
    confidence, correct = _confidence_and_correct(tiny_model)
    threshold = float(np.median(confidence))
    texts = [t for t, _ in TINY_CORPUS]
    labels = [label for _, label in TINY_CORPUS]
    report = evaluate_model(tiny_model.pipeline, texts, labels, route_threshold=threshold)
    routed = confidence >= threshold
    assert report.routing is not None
    assert (report.routing.routed, report.routing.posts) == (int(routed.sum()), len(texts))
    assert report.routing.accuracy == pytest.approx(float(correct[routed].mean()))
    assert report.best_routing == choose_threshold(confidence, correct)
    assert report.accuracy == pytest.approx(float(correct.mean()))
    text = format_report(report)
    assert f"at the model's threshold from training (confidence >= {threshold:.4f}): " in text
    assert f"({report.routing.routed} of {len(texts)}), accuracy" in text


def test_evaluate_model_without_a_threshold_says_so(tiny_model: ModelArtifact) -> None:
    texts = [t for t, _ in TINY_CORPUS]
    labels = [label for _, label in TINY_CORPUS]
    report = evaluate_model(tiny_model.pipeline, texts, labels)
    assert report.routing is None and report.best_routing is not None
    assert "the model records no threshold" in format_report(report)
