"""Scoring a model on labeled posts: accuracy, macro-F1, per-class figures, confusion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.pipeline import Pipeline

from model.routing import NOT_A_COMPLAINT


@dataclass
class EvaluationReport:
    accuracy: float
    macro_f1: float
    labels: list[str]
    precision: list[float]
    recall: list[float]
    f1: list[float]
    support: list[int]
    confusion: np.ndarray
    # accuracy of complaint / no complaint, for a model that tells them apart
    is_complaint: float | None = None


def complaint_accuracy(
    y_true: Sequence[str], y_pred: Sequence[str], not_complaint: str = NOT_A_COMPLAINT
) -> float:
    """Accuracy of the complaint / not-a-complaint decision (whatever the topic)."""
    truth = np.asarray(y_true, dtype=object) != not_complaint
    pred = np.asarray(y_pred, dtype=object) != not_complaint
    return float((truth == pred).mean())


def score_predictions(
    y_true: list[str], y_pred: list[str], not_complaint: str | None = None
) -> EvaluationReport:
    """Scores of predictions; with `not_complaint` (the label of posts that are no complaint),
    also the accuracy of the complaint / no-complaint decision, which needs no other label in
    `y_true` (a file of complaints alone, or of thank-yous alone, measures it)."""
    labels = sorted(set(y_true) | set(y_pred))
    is_complaint = (
        None if not_complaint is None else complaint_accuracy(y_true, y_pred, not_complaint)
    )
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    # One label in truth and predictions alike: its 1x1 matrix is built here, since
    # scikit-learn warns that it cannot tell the matrix's shape from one label.
    confusion = (
        np.array([[len(y_true)]])
        if len(labels) == 1
        else confusion_matrix(y_true, y_pred, labels=labels)
    )
    return EvaluationReport(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        labels=labels,
        precision=[float(v) for v in p],
        recall=[float(v) for v in r],
        f1=[float(v) for v in f],
        support=[int(v) for v in s],
        confusion=confusion,
        is_complaint=is_complaint,
    )


def evaluate_model(pipeline: Pipeline, texts: list[str], labels: list[str]) -> EvaluationReport:
    y_pred = [str(v) for v in pipeline.predict(np.asarray(texts, dtype=object))]
    known = {str(c) for c in pipeline.classes_}
    return score_predictions(labels, y_pred, NOT_A_COMPLAINT if NOT_A_COMPLAINT in known else None)


def format_report(report: EvaluationReport) -> str:
    width = max(12, *(len(label) for label in report.labels))
    lines = [
        f"accuracy  {report.accuracy:.4f}",
        f"macro-F1  {report.macro_f1:.4f}",
        *([] if report.is_complaint is None else [f"is_complaint  {report.is_complaint:.4f}"]),
        "",
        f"{'label':<{width}}  precision  recall     f1  support",
    ]
    for i, label in enumerate(report.labels):
        lines.append(
            f"{label:<{width}}  {report.precision[i]:9.3f}  {report.recall[i]:6.3f}  "
            f"{report.f1[i]:5.3f}  {report.support[i]:7d}"
        )
    lines += ["", "confusion matrix (rows: true, columns: predicted)"]
    short = [label[:6] for label in report.labels]
    lines.append(" " * (width + 2) + " ".join(f"{s:>6}" for s in short))
    for i, label in enumerate(report.labels):
        row = " ".join(f"{int(v):6d}" for v in report.confusion[i])
        lines.append(f"{label:<{width}}  {row}")
    return "\n".join(lines)
