"""Scoring a model on labeled posts: accuracy, macro-F1, per-class figures, confusion; and,
where the posts' areas are labeled, the areas and tags the service gives them."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.pipeline import Pipeline

from model.routing import NOT_A_COMPLAINT
from model.triage import Classification, Triage
from training.tag_eval import AreaTally, score_classifications

# Posts routed without a person are to be right this often: training records the confidence
# that reaches it in cross-validation, and `tandai evaluate` applies that to new posts.
ROUTING_TARGET = 0.95


@dataclass(frozen=True)
class Selection:
    """Posts with confidence >= threshold are routed automatically; the rest go to a person."""

    threshold: float
    coverage: float  # share of posts routed
    accuracy: float  # accuracy among routed posts (nan when none is routed)
    routed: int
    posts: int


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
    # posts whose confidence clears the threshold training chose in cross-validation (None:
    # training recorded none), and the lowest threshold that reaches the target on these posts
    routing: Selection | None = None
    best_routing: Selection | None = None


def confidence_and_correct(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Top-class confidences and whether each prediction is right, as checked arrays."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if conf.ndim != 1 or conf.shape != ok.shape:
        raise ValueError("confidence and correct must be 1-d arrays of the same length")
    if conf.size == 0:
        raise ValueError("no predictions to score")
    if np.any((conf < 0) | (conf > 1)) or np.any(np.isnan(conf)):
        raise ValueError("confidences must lie in [0, 1]")
    return conf, ok


# --- selective accuracy ------------------------------------------------------------------------


def apply_threshold(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    threshold: float,
) -> Selection:
    """Coverage and accuracy of the posts whose confidence clears a given threshold."""
    conf, ok = confidence_and_correct(confidence, correct)
    routed = conf >= threshold
    n = int(routed.sum())
    return Selection(
        threshold=float(threshold),
        coverage=n / conf.size,
        accuracy=float(ok[routed].mean()) if n else float("nan"),
        routed=n,
        posts=int(conf.size),
    )


def choose_threshold(
    confidence: Sequence[float] | np.ndarray,
    correct: Sequence[bool] | np.ndarray,
    target: float = ROUTING_TARGET,
) -> Selection:
    """The lowest threshold at which the posts that clear it are at least `target` accurate.

    Posts with equal confidence are routed together, so a threshold never splits a tie. When no
    threshold reaches the target the threshold is infinite and nothing is routed.
    """
    conf, ok = confidence_and_correct(confidence, correct)
    order = np.argsort(-conf, kind="stable")
    ranked = conf[order]
    running = np.cumsum(ok[order]) / np.arange(1, conf.size + 1)
    end_of_tie = np.r_[ranked[1:] < ranked[:-1], True]
    feasible = np.flatnonzero(end_of_tie & (running >= target - 1e-12))
    if feasible.size == 0:
        return Selection(float("inf"), 0.0, float("nan"), 0, int(conf.size))
    return apply_threshold(conf, ok, float(ranked[feasible[-1]]))


def known_label_rows(
    labels: Sequence[str], known: Container[str]
) -> tuple[list[int], Counter[str]]:
    """Where the posts whose label a model was trained on are, and how many of each other label
    were left out (a later file of the same kind may hold labels training dropped as too
    small)."""
    keep = [i for i, label in enumerate(labels) if label in known]
    unknown = Counter(label for label in labels if label not in known)
    return keep, unknown


def known_labels_only(
    texts: Sequence[str], labels: Sequence[str], known: Container[str]
) -> tuple[list[str], list[str], Counter[str]]:
    """The posts whose label a model was trained on, and the others counted
    (`known_label_rows`)."""
    keep, unknown = known_label_rows(labels, known)
    return [texts[i] for i in keep], [labels[i] for i in keep], unknown


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


def evaluate_model(
    pipeline: Pipeline,
    texts: list[str],
    labels: list[str],
    route_threshold: float | None = None,
    target: float = ROUTING_TARGET,
) -> EvaluationReport:
    """Scores of `pipeline` on labeled posts; with `route_threshold` (the confidence training
    chose to route posts without a person), the share of these posts it routes and how often
    those are right."""
    proba = pipeline.predict_proba(np.asarray(texts, dtype=object))
    classes = [str(c) for c in pipeline.classes_]
    top = proba.argmax(axis=1)
    y_pred = [classes[i] for i in top]
    confidence = proba[np.arange(len(top)), top]
    return evaluate_predictions(labels, y_pred, confidence, classes, route_threshold, target)


def evaluate_predictions(
    labels: list[str],
    y_pred: list[str],
    confidence: Sequence[float] | np.ndarray,
    classes: Sequence[str],
    route_threshold: float | None = None,
    target: float = ROUTING_TARGET,
) -> EvaluationReport:
    """`evaluate_model`'s scores from a model's top label and its confidence for each post
    (`classes`: every label the model gives), e.g. the service's own classifications."""
    report = score_predictions(
        labels, y_pred, NOT_A_COMPLAINT if NOT_A_COMPLAINT in classes else None
    )
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(labels, dtype=object) == np.asarray(y_pred, dtype=object)
    if route_threshold is not None:
        report.routing = apply_threshold(confidence, correct, route_threshold)
    report.best_routing = choose_threshold(confidence, correct, target)
    return report


def format_report(report: EvaluationReport, target: float = ROUTING_TARGET) -> str:
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
    if report.best_routing is not None:
        lines += ["", *_routing_lines(report.routing, report.best_routing, target)]
    return "\n".join(lines)


def _routing_lines(at_model: Selection | None, best: Selection, target: float) -> list[str]:
    def share(s: Selection) -> str:
        return f"{s.coverage:.1%} of posts ({s.routed} of {s.posts})"

    lines = [f"routed without a person (at {target:.0%} accuracy)"]
    if at_model is None:
        lines.append("  the model records no threshold (trained with --folds 0 or an older tandai)")
    elif at_model.routed:
        lines.append(
            f"  at the model's threshold from training (confidence >= {at_model.threshold:.4f}): "
            f"{share(at_model)}, accuracy {at_model.accuracy:.4f}"
        )
    else:
        lines.append(
            f"  at the model's threshold from training (confidence >= {at_model.threshold:.4f}): "
            "no post"
        )
    if best.routed:
        lines.append(
            f"  the lowest threshold reaching it on these posts: {best.threshold:.4f}, "
            f"{share(best)}"
        )
    else:
        lines.append("  no threshold reaches it on these posts")
    return lines


def _share(hits: int, total: int, of: str) -> str:
    if not total:
        return f"-       (no post {of})"
    return f"{hits / total:.4f}  ({hits} of {total} posts {of})"


def area_and_tag_report(
    results: Sequence[Classification],
    topics: Sequence[str],
    kecamatan: Sequence[str],
    kelurahan: Sequence[str],
    triage: Triage,
) -> str:
    """The areas the service read for labeled posts against their kecamatan and kelurahan
    columns, and their tags against what the labeled topic and area would tag (offices of the
    topic, camat, lurah). Rows naming an area the city's areas file does not hold are counted
    and left out (a file of another city's posts, read with this city's data)."""
    gazetteer = triage.directory.gazetteer
    foreign: Counter[str] = Counter()
    scored: list[int] = []
    for i, (kec, kel) in enumerate(zip(kecamatan, kelurahan, strict=True)):
        problem = gazetteer.area_problem(kec, kel)
        if problem is None:
            scored.append(i)
        else:
            foreign[problem] += 1
    tally = AreaTally()
    for i in scored:
        area = results[i].area
        tally.count((kecamatan[i], kelurahan[i]), (area.kecamatan or "", area.kelurahan or ""))
    tags = score_classifications(
        [results[i] for i in scored],
        [topics[i] for i in scored],
        [kecamatan[i] for i in scored],
        [kelurahan[i] for i in scored],
        triage.directory,
        triage.policy,
    )
    lines = ["areas (the rows' kecamatan and kelurahan against the areas read)"]
    if foreign:
        named = "; ".join(problem for problem, _ in foreign.most_common(3))
        lines.append(
            f"  left out {foreign.total()} posts naming areas the city's areas file does not "
            f"hold, or a kelurahan under another kecamatan: {named}"
            + (", ..." if len(foreign) > 3 else "")
        )
    one, none = "that name one", "that name none"
    lines += [
        f"  kelurahan right        {_share(tally.kelurahan_right, tally.kelurahan_named, one)}",
        f"  kecamatan right        {_share(tally.kecamatan_right, tally.kecamatan_named, one)}",
        f"  area read, none named  {_share(tally.area_where_none, tally.none_named, none)}",
        "",
        "tags (against what the labeled topic and area would tag: its offices, camat, lurah)",
        f"  precision  {tags.precision:.4f}  ({tags.correct} of {tags.predicted} tags given)",
        f"  recall     {tags.recall:.4f}  ({tags.correct} of {tags.gold} tags owed)",
        f"  tagged without review: {tags.auto_share:.1%} of posts ({tags.auto_posts} of "
        f"{tags.posts}), precision {tags.auto_precision:.4f}, recall {tags.auto_recall:.4f}",
        f"  a camat of another kecamatan tagged on a complaint: {tags.wrong_camat}",
    ]
    return "\n".join(lines)


MISREAD_COLUMNS = (
    "text",
    "label",
    "predicted",
    "confidence",
    "kecamatan",
    "kelurahan",
    "read_kecamatan",
    "read_kelurahan",
    "area_confidence",
    "area_evidence",
    "needs_review",
)


def misread_rows(
    texts: Sequence[str],
    topics: Sequence[str],
    kecamatan: Sequence[str],
    kelurahan: Sequence[str],
    results: Sequence[Classification],
    *,
    areas: bool,
) -> list[list[str]]:
    """The posts whose topic (or, with `areas`, whose kecamatan or kelurahan) was read wrong,
    as rows of `MISREAD_COLUMNS`, in the order of the input."""
    rows = []
    for text, topic, kec, kel, r in zip(texts, topics, kecamatan, kelurahan, results, strict=True):
        read = (r.area.kecamatan or "", r.area.kelurahan or "")
        if r.topic.label == topic and (not areas or read == (kec, kel)):
            continue
        rows.append(
            [
                text,
                topic,
                r.topic.label,
                f"{r.topic.confidence:.4f}",
                kec,
                kel,
                *read,
                f"{r.area.confidence:.2f}",
                r.area.evidence or "",
                "yes" if r.needs_review else "no",
            ]
        )
    return rows


def write_misread(path: Path, rows: Sequence[Sequence[str]], label_column: str = "label") -> None:
    """`misread_rows` as a CSV file with a header, the label's column named as in the labeled
    file (UTF-8 with a byte-order mark, so that a spreadsheet reads it as UTF-8)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([label_column if c == "label" else c for c in MISREAD_COLUMNS])
        writer.writerows(rows)
