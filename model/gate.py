"""Two questions instead of one: is the post a complaint, and if so, about what.

A flat classifier over all topics plus "not a complaint" has to tell a thank-you for a
collected rubbish heap from a complaint about one with the words both share: the topic words
("sampah", "DLH", "diangkut") pull every such post to its topic, and only the few words of stance
("sudah", "makasih", "kapan") pull the other way. A separate yes/no model sees the same topic
words on both sides of its one boundary, so it learns to weigh the stance; the topic model then
only tells topics apart, among complaints. On the default corpus of 4,018 posts this raised the
5-fold macro-F1 from 0.884 to 0.903 and the is-complaint accuracy from 0.930 to 0.949 (seed 0,
bench/MODEL.md).

The probabilities compose: P(not a complaint) is the gate's, and P(topic) is
P(complaint) x P(topic | complaint), so they sum to one over all classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from model.routing import NOT_A_COMPLAINT


class ComplaintGate(ClassifierMixin, BaseEstimator):
    """A complaint/not-a-complaint classifier in front of a topic classifier.

    Parameters
    ----------
    gate : classifier with `predict_proba`
        Fitted on every post, with the target "is `negative_label`".
    topics : classifier with `predict_proba`
        Fitted on the other posts only, with their labels.
    negative_label : str
        The label of posts that are not complaints. When the training labels do not hold it
        (a corpus of complaints only), no gate is fitted and the topic classifier is the model.
    n_jobs : int or None
        Processes fitting the two classifiers side by side; None follows joblib's
        `parallel_config` (one, unless training says otherwise).
    """

    def __init__(
        self,
        gate: Any = None,
        topics: Any = None,
        negative_label: str = NOT_A_COMPLAINT,
        n_jobs: int | None = None,
    ) -> None:
        self.gate = gate
        self.topics = topics
        self.negative_label = negative_label
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any) -> ComplaintGate:
        if self.gate is None or self.topics is None:
            raise ValueError("ComplaintGate needs both a gate and a topics classifier")
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        negative = y == self.negative_label
        complaints = ~negative
        if negative.any() and not complaints.any():
            raise ValueError(f"every training post is {self.negative_label!r}; nothing to learn")
        self.topic_classes_ = np.unique(y[complaints])
        fits = {}
        if negative.any():
            fits["gate"] = delayed(_fit)(clone(self.gate), X, negative)
        # one kind of complaint: nothing for a topic model to tell apart
        if len(self.topic_classes_) > 1:
            fits["topics"] = delayed(_fit)(clone(self.topics), X[complaints], y[complaints])
        fitted = dict(zip(fits, Parallel(n_jobs=self.n_jobs)(fits.values()), strict=True))
        self.gate_: Any = fitted.get("gate")
        self.topics_: Any = fitted.get("topics")  # its classes_ are topic_classes_
        # where each of the topic model's classes goes among ours
        self.topic_columns_ = np.searchsorted(self.classes_, self.topic_classes_)
        self.negative_column_ = (
            int(np.searchsorted(self.classes_, self.negative_label)) if negative.any() else None
        )
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        topics = self.topic_proba(X)
        if self.gate_ is None:
            return topics
        return self.combine(self.gate_.predict_proba(X), topics)

    def topic_proba(self, X: Any) -> np.ndarray:
        """P(topic | complaint), columns in `topic_classes_` order."""
        if self.topics_ is None:
            return np.ones((X.shape[0], 1))
        return np.asarray(self.topics_.predict_proba(X), dtype=np.float64)

    def combine(self, gate: np.ndarray, topics: np.ndarray) -> np.ndarray:
        """The model's probabilities from the gate's (columns in `gate_.classes_` order) and
        the topics' (`topic_proba`)."""
        not_complaint = gate[:, list(self.gate_.classes_).index(True)]
        assert self.negative_column_ is not None  # there is a gate
        return compose(
            not_complaint, topics, self.topic_columns_, self.negative_column_, len(self.classes_)
        )

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def compose(
    not_complaint: np.ndarray,
    topics: np.ndarray,
    topic_columns: np.ndarray,
    negative_column: int,
    n_classes: int,
) -> np.ndarray:
    """P(not a complaint) in `negative_column`, P(complaint) x P(topic | complaint) in
    `topic_columns`."""
    proba = np.zeros((topics.shape[0], n_classes))
    proba[:, topic_columns] = topics * (1.0 - not_complaint)[:, None]
    proba[:, negative_column] = not_complaint
    return proba


def _fit(estimator: Any, X: Any, y: Any) -> Any:
    return estimator.fit(X, y)
