"""model.pipeline: the shipped classifier's class weights."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from model.gate import ComplaintGate
from model.pipeline import GATE_NO_COMPLAINT_WEIGHT, make_classifier
from model.routing import NOT_A_COMPLAINT


def _overlapping(seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Two topics and posts that are no complaint about the same two things (thanks for a
    collected heap), told apart by one feature of stance whose values overlap: where the two
    kinds meet, the gate's class weights decide."""
    rng = np.random.default_rng(seed)
    labels = ["sampah"] * 60 + ["jalan"] * 60 + [NOT_A_COMPLAINT] * 60
    X = np.zeros((len(labels), 3))
    for i, label in enumerate(labels):
        X[i, 0] = rng.normal(1.0 if label == NOT_A_COMPLAINT else 0.0, 0.8)
        about = label if label != NOT_A_COMPLAINT else ("sampah", "jalan")[i % 2]
        X[i, 1] = about == "sampah"
        X[i, 2] = about == "jalan"
    return sp.csr_matrix(X), np.asarray(labels, dtype=object)


def test_the_gate_counts_a_post_that_is_no_complaint_less_than_a_complaint() -> None:
    assert 0 < GATE_NO_COMPLAINT_WEIGHT < 1
    X, y = _overlapping()
    shipped = make_classifier("svc", 3)
    assert isinstance(shipped, ComplaintGate)
    # the weight is on the gate's positive class, "is no complaint"; the topics stay balanced
    assert shipped.gate.estimator.class_weight == {True: GATE_NO_COMPLAINT_WEIGHT, False: 1.0}
    assert shipped.topics.estimator.class_weight == "balanced"
    unweighted = make_classifier("svc", 3)
    assert isinstance(unweighted, ComplaintGate)
    unweighted.set_params(gate__estimator__class_weight=None)
    no = list(shipped.fit(X, y).classes_).index(NOT_A_COMPLAINT)
    took_for_none = (shipped.predict(X) == NOT_A_COMPLAINT).sum()
    took_for_none_unweighted = (unweighted.fit(X, y).predict(X) == NOT_A_COMPLAINT).sum()
    assert took_for_none < took_for_none_unweighted
    assert shipped.predict_proba(X)[:, no].mean() < unweighted.predict_proba(X)[:, no].mean()
