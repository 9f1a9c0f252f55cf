"""ComplaintGate: a complaint/no-complaint model in front of a topic model."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from joblib import parallel_config
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from model.gate import ComplaintGate, compose
from model.routing import NOT_A_COMPLAINT

NO = NOT_A_COMPLAINT


def _data(labels: list[str], seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Separable features: one informative column per label, plus noise."""
    rng = np.random.default_rng(seed)
    names = sorted(set(labels))
    X = rng.random((len(labels), len(names) + 3)) * 0.3
    for i, label in enumerate(labels):
        X[i, names.index(label)] += 1.0
    return sp.csr_matrix(X), np.asarray(labels, dtype=object)


def _gate() -> ComplaintGate:
    return ComplaintGate(gate=LogisticRegression(), topics=LogisticRegression())


LABELS = ["sampah"] * 12 + ["jalan"] * 12 + ["air_bersih"] * 12 + [NO] * 12


def test_probabilities_compose_the_gate_and_the_topic_model() -> None:
    X, y = _data(LABELS)
    model = _gate().fit(X, y)
    assert list(model.classes_) == ["air_bersih", NO, "jalan", "sampah"]
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # P(no complaint) is the gate's; each topic's is P(complaint) x P(topic | complaint)
    not_complaint = model.gate_.predict_proba(X)[:, list(model.gate_.classes_).index(True)]
    np.testing.assert_allclose(proba[:, 1], not_complaint)
    topics = model.topics_.predict_proba(X)
    assert list(model.topics_.classes_) == ["air_bersih", "jalan", "sampah"]
    np.testing.assert_allclose(proba[:, [0, 2, 3]], topics * (1 - not_complaint)[:, None])
    # the gate was fitted on every post; the topic model never saw a post that is no complaint
    assert model.gate_.n_features_in_ == X.shape[1]
    assert NO not in model.topics_.classes_
    assert list(model.predict(X)) == list(model.classes_[proba.argmax(axis=1)])
    assert (model.predict(X) == y).mean() > 0.9


def test_without_posts_that_are_no_complaint_it_is_the_topic_model() -> None:
    X, y = _data([label for label in LABELS if label != NO])
    model = _gate().fit(X, y)
    assert model.gate_ is None and model.negative_column_ is None
    alone = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), alone.predict_proba(X))


def test_one_kind_of_complaint_needs_no_topic_model() -> None:
    X, y = _data(["sampah"] * 10 + [NO] * 10)
    model = _gate().fit(X, y)
    assert model.topics_ is None
    proba = model.predict_proba(X)
    not_complaint = model.gate_.predict_proba(X)[:, 1]
    np.testing.assert_allclose(proba[:, list(model.classes_).index("sampah")], 1 - not_complaint)


def test_posts_that_are_all_no_complaint_are_refused() -> None:
    X, y = _data([NO] * 10)
    with pytest.raises(ValueError, match="nothing to learn"):
        _gate().fit(X, y)


def test_both_classifiers_are_required() -> None:
    X, y = _data(LABELS)
    with pytest.raises(ValueError, match="both"):
        ComplaintGate(gate=LogisticRegression()).fit(X, y)


def test_follows_the_estimator_rules() -> None:
    """get_params/set_params reach the inner classifiers; clone gives an unfitted copy; the
    fitted model pickles (it is saved inside the artifact); predicting before fit says so."""
    model = _gate().set_params(gate__C=0.5, topics__C=2.0)
    assert model.get_params()["gate__C"] == 0.5
    assert model.get_params()["topics__C"] == 2.0
    X, y = _data(LABELS)
    fitted = model.fit(X, y)
    copy = clone(fitted)
    assert not hasattr(copy, "gate_")
    with pytest.raises(Exception, match="not fitted"):
        copy.predict_proba(X)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    with pytest.raises(ValueError, match="features"):
        fitted.predict_proba(X[:, :2])


def test_compose_puts_each_probability_in_its_column() -> None:
    topics = np.array([[0.2, 0.8], [0.5, 0.5]])
    proba = compose(np.array([0.5, 0.0]), topics, np.array([0, 2]), 1, 3)
    np.testing.assert_allclose(proba, [[0.1, 0.5, 0.4], [0.5, 0.0, 0.5]])


def test_fitting_the_two_classifiers_in_two_processes_gives_the_same_model() -> None:
    X, y = _data(LABELS)
    alone = _gate().fit(X, y)
    with parallel_config(backend="loky", n_jobs=2):
        side_by_side = _gate().fit(X, y)
    np.testing.assert_array_equal(side_by_side.predict_proba(X), alone.predict_proba(X))
