"""Training and cross-validated evaluation of the topic pipeline."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from joblib import parallel_config
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit
from sklearn.pipeline import Pipeline

from model.artifact import ModelArtifact, save_artifact
from model.pipeline import Calibration, ClassifierName, build_pipeline
from training.evaluate import ROUTING_TARGET, Selection, choose_threshold

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    return None


class TooFewPosts(ValueError):
    """A label with too few posts to fit (or cross-validate) the model; the message says which
    and what to do."""


# Calibration fits the temperature on out-of-fold decisions of at least two folds, each of which
# needs every label on its training side; cross-validation then splits a label's posts once more.
MIN_POSTS_TO_FIT = 2
MIN_POSTS_TO_CROSS_VALIDATE = 3


def check_class_sizes(labels: list[str], cv_folds: int) -> None:
    """`TooFewPosts` when a label has fewer posts than fitting the model needs (2), or than
    cross-validating it needs (3) when `cv_folds` >= 2; scikit-learn would fail deep inside
    calibration with a message about folds."""
    need = MIN_POSTS_TO_CROSS_VALIDATE if cv_folds >= 2 else MIN_POSTS_TO_FIT
    counts = Counter(labels)
    small = sorted((label for label, n in counts.items() if n < need), key=lambda x: (counts[x], x))
    if not small:
        return
    listed = ", ".join(f"{label!r} ({counts[label]})" for label in small[:5])
    more = f" and {len(small) - 5} more" if len(small) > 5 else ""
    why = (
        "calibrating and cross-validating the model need at least 3 posts of each label"
        if need == MIN_POSTS_TO_CROSS_VALIDATE
        else "calibrating the model needs at least 2 posts of each label"
    )
    skip_cv = (
        ", or skip cross-validation (--folds 0)" if need == MIN_POSTS_TO_CROSS_VALIDATE else ""
    )
    raise TooFewPosts(
        f"too few posts for {len(small)} label(s): {listed}{more}; {why}. Add posts of those "
        f"labels, leave them out (--min-class-size {need}){skip_cv}"
    )


# Three calibration folds calibrate nearly as well as five on both corpora (bench/MODEL.md) with
# four linear fits instead of six.
MAX_CALIBRATION_FOLDS = 3


def calibration_folds(labels: list[str]) -> int:
    """Calibration needs every class in every fold: at most 3, at most the smallest class."""
    return max(2, min(MAX_CALIBRATION_FOLDS, min(Counter(labels).values())))


# From this many posts the temperature (one number) is fitted on one held-out split, of a tenth of
# the posts and at most HOLDOUT_POSTS, and the linear model on the rest: one linear fit instead of
# four, which on 100,000 posts took most of the training time (bench/README.md). Below it the
# out-of-fold decisions of every post calibrate and the linear model sees every post: on 8,299
# real Surabaya complaints a tenth held out cost 0.008 macro-F1 (bench/MODEL.md).
HOLDOUT_FROM_POSTS = 50_000
HOLDOUT_POSTS = 5_000


def calibration_split(labels: list[str]) -> Calibration:
    """How `labels`' pipeline fits its temperature: folds, or one stratified held-out split."""
    if len(labels) < HOLDOUT_FROM_POSTS:
        return calibration_folds(labels)
    # at least one post of every class on each side
    held_out = max(len(set(labels)), min(HOLDOUT_POSTS, len(labels) // 10))
    return StratifiedShuffleSplit(n_splits=1, test_size=held_out, random_state=0)


def linear_fits(calibration: Calibration) -> int:
    """How many times the linear model is fitted: once per calibration fold plus the final fit,
    or once for a held-out split."""
    return calibration + 1 if isinstance(calibration, int) else 1


# From this many posts the feature branches (and the linear fits of calibration folds, where a
# smaller corpus has them) run in worker processes, one per core, at most three; below it
# starting them costs more than it saves. Processes, not threads: liblinear's random generator is
# global to the process.
PARALLEL_FROM_POSTS = 20_000


def training_jobs(n_posts: int) -> int:
    """Worker processes for the calibration folds of one fit on `n_posts` posts."""
    if n_posts < PARALLEL_FROM_POSTS:
        return 1
    return max(1, min(MAX_CALIBRATION_FOLDS, os.cpu_count() or 1))


def fit_pipeline(pipeline: Pipeline, X: np.ndarray, y: np.ndarray) -> Pipeline:
    """`pipeline.fit`, with joblib's workers as `training_jobs` says (the steps' n_jobs=None)."""
    with parallel_config(backend="loky", n_jobs=training_jobs(len(X))):
        return pipeline.fit(X, y)


def new_pipeline(
    labels: list[str], classifier: ClassifierName = "svc", **switches: bool
) -> Pipeline:
    return build_pipeline(classifier, calibration_cv=calibration_split(labels), **switches)


@dataclass
class CVResult:
    accuracy: float
    macro_f1: float
    folds: int
    y_true: list[str]
    y_pred: list[str]
    proba: np.ndarray
    classes: list[str]

    def routing(self, target: float = ROUTING_TARGET) -> Selection:
        """The lowest confidence at which the out-of-fold predictions that clear it are at least
        `target` accurate, and the share of posts it routes."""
        correct = np.asarray(self.y_true, dtype=object) == np.asarray(self.y_pred, dtype=object)
        return choose_threshold(self.proba.max(axis=1), correct, target)

    def summary(self) -> dict[str, Any]:
        routing = self.routing()
        return {
            "folds": self.folds,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            # what `tandai evaluate` applies to new posts; no threshold when none reaches it
            "routing": {
                "target": ROUTING_TARGET,
                "threshold": routing.threshold if routing.routed else None,
                "routed": round(routing.coverage, 4),
            },
        }


def cross_validate(
    texts: list[str],
    labels: list[str],
    pipeline_factory: Callable[[list[str]], Pipeline],
    folds: int = 5,
    seed: int = 0,
    progress: Progress = _quiet,
) -> CVResult:
    """Stratified k-fold out-of-fold predictions and probabilities."""
    y = np.asarray(labels, dtype=object)
    X = np.asarray(texts, dtype=object)
    folds = max(2, min(folds, min(Counter(labels).values())))
    classes = sorted(set(labels))
    proba = np.zeros((len(texts), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (train_idx, test_idx) in enumerate(splitter.split(X, y), start=1):
        progress(f"cross-validation fold {k}/{folds}")
        pipe = pipeline_factory([str(v) for v in y[train_idx]])
        fit_pipeline(pipe, X[train_idx], y[train_idx])
        fold_proba = pipe.predict_proba(X[test_idx])
        cols = [classes.index(str(c)) for c in pipe.classes_]
        proba[np.ix_(test_idx, cols)] = fold_proba
    y_pred = [classes[i] for i in proba.argmax(axis=1)]
    return CVResult(
        accuracy=float(accuracy_score(labels, y_pred)),
        macro_f1=float(f1_score(labels, y_pred, average="macro")),
        folds=folds,
        y_true=list(labels),
        y_pred=y_pred,
        proba=proba,
        classes=classes,
    )


def train_and_save(
    texts: list[str],
    labels: list[str],
    output: Path,
    *,
    data_sha256: str,
    data_files: list[str],
    classifier: ClassifierName = "svc",
    cv_folds: int = 5,
    progress: Progress = _quiet,
    extra_metadata: dict[str, Any] | None = None,
) -> ModelArtifact:
    """Cross-validate (unless cv_folds < 2), fit on everything, and save one version.
    `TooFewPosts` before any work when a label has too few posts for that."""
    check_class_sizes(labels, cv_folds)
    meta: dict[str, Any] = {
        "classifier": classifier,
        "n_train": len(texts),
        "class_counts": dict(sorted(Counter(labels).items())),
        "data_sha256": data_sha256,
        "data_files": data_files,
        **(extra_metadata or {}),
    }
    if cv_folds >= 2:
        started = time.perf_counter()
        cv = cross_validate(
            texts, labels, lambda ys: new_pipeline(ys, classifier), cv_folds, progress=progress
        )
        meta["cv"] = {**cv.summary(), "seconds": round(time.perf_counter() - started, 1)}
        routing = meta["cv"]["routing"]
        routes = (
            f"{routing['routed']:.1%} of posts clear {routing['threshold']:.3f}"
            if routing["threshold"] is not None
            else "no confidence"
        )
        progress(
            f"cross-validated accuracy {cv.accuracy:.3f}, macro-F1 {cv.macro_f1:.3f}; "
            f"{routes} at which {ROUTING_TARGET:.0%} are right"
        )
    progress(f"fitting the model on {len(texts)} posts")
    started = time.perf_counter()
    pipeline = new_pipeline(labels, classifier)
    fit_pipeline(pipeline, np.asarray(texts, dtype=object), np.asarray(labels, dtype=object))
    meta["fit_seconds"] = round(time.perf_counter() - started, 2)
    artifact = save_artifact(pipeline, output, meta)
    progress(f"saved {output}")
    return artifact
