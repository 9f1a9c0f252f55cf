"""Retraining with a quality gate, shared by `tandai train` and `POST /models/retrain`.

Training data: the labeled CSV files plus every reviewed post. A post's latest review wins over
the files for the same text (compared after case folding and whitespace squeezing): `accept` and
`correct` label it with the reviewed topic; `reject` (spam, not from the city, not a post at all)
removes that text from training altogether, files included, because the reviewer's latest word
on it is that it must not teach the model anything.

A fixed share of texts, chosen by a hash of the text alone, is held out: every version registered
through here is first fitted without the same texts (kept as `HOLDOUT_FIT` in its directory), so
the active model and a candidate are compared on posts neither fit has seen. The version's own
model is then fitted on every post. The candidate is always written as a new version directory
(never overwriting one) and recorded in the database; it becomes active only when its held-out
macro-F1 is not lower than the active model's by more than `promotion_tolerance`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api import storage
from api.settings import Settings
from model.artifact import (
    ArtifactError,
    ModelArtifact,
    latest_version,
    load_artifact,
    new_version_name,
)
from model.pipeline import ClassifierName
from model.routing import Directory
from training.evaluate import evaluate_model
from training.labels import default_label_files, pairs_sha256, read_labeled
from training.train import check_class_sizes, train_and_save

Progress = Callable[[str], None]
REPORT_NAME = "report.json"
# In a version directory: the same pipeline fitted without the held-out posts. The gate scores
# it, never the version's own model, which is then fitted on every post (a fifth more posts to
# learn from; reviews that fall in the held-out part teach the model too).
HOLDOUT_FIT = "holdout-fit"
STEPS = 5
MIN_LABEL_FOR_HOLDOUT = 10


def _quiet(_msg: str) -> None:
    return None


def text_key(text: str) -> str:
    """Two posts with the same key are the same text for training purposes."""
    return " ".join(text.casefold().split())


def in_holdout(text: str, percent: int) -> bool:
    """Whether a text belongs to the fixed held-out split (the same answer every run)."""
    digest = hashlib.sha256(text_key(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


@dataclass
class TrainingSet:
    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    from_files: int = 0
    from_reviews: int = 0
    overridden: int = 0  # file rows replaced or removed by a review
    rejected: int = 0  # reviewed texts left out because of a rejection
    files: list[str] = field(default_factory=list)
    files_sha256: str = ""

    def sha256(self) -> str:
        return pairs_sha256(self.texts, self.labels)


def gather_training_set(
    files: list[Path],
    db: storage.Database | None,
    *,
    text_column: str = "text",
    label_column: str = "topic",
    allowed_labels: set[str] | None = None,
    min_class_size: int = 1,
) -> TrainingSet:
    """Rows of the label files, with every reviewed post's latest review applied over them."""
    data = read_labeled(files, text_column, label_column, allowed_labels, min_class_size)
    reviewed: dict[str, tuple[str, str | None]] = {}
    if db is not None:
        with db.session() as session:
            for review in storage.reviewed_labels(session):  # oldest first: the latest wins
                topic = None if review.decision == "reject" else review.topic
                reviewed[text_key(review.text)] = (review.text, topic)
    out = TrainingSet(files=[str(p) for p in files], files_sha256=data.sha256)
    for text, label in zip(data.texts, data.labels, strict=True):
        if text_key(text) in reviewed:
            out.overridden += 1
            continue
        out.texts.append(text)
        out.labels.append(label)
        out.from_files += 1
    for text, topic in reviewed.values():
        if topic is None:
            out.rejected += 1
            continue
        out.texts.append(text)
        out.labels.append(topic)
        out.from_reviews += 1
    return out


def split_holdout(texts: list[str], labels: list[str], percent: int) -> tuple[list[int], list[int]]:
    """Indices of the training part and of the held-out part. A label with fewer than
    `MIN_LABEL_FOR_HOLDOUT` posts is trained on in full: too few to spare any."""
    counts = Counter(labels)
    train: list[int] = []
    held: list[int] = []
    for i, text in enumerate(texts):
        spare = counts[labels[i]] >= MIN_LABEL_FOR_HOLDOUT
        (held if spare and in_holdout(text, percent) else train).append(i)
    return train, held


def decide_promotion(
    candidate_f1: float, active_f1: float | None, tolerance: float, n_holdout: int
) -> tuple[bool, str]:
    """Whether the candidate becomes active, and why (one sentence for the report)."""
    if active_f1 is None:
        return True, "no active model to compare with; the new version becomes active"
    if n_holdout == 0:
        return False, "no held-out posts to compare the two models on; the active model stays"
    delta = candidate_f1 - active_f1
    if delta >= -tolerance:
        return True, (
            f"held-out macro-F1 {candidate_f1:.4f} vs {active_f1:.4f} of the active model "
            f"({delta:+.4f}, tolerance {tolerance}); the new version becomes active"
        )
    return False, (
        f"held-out macro-F1 {candidate_f1:.4f} is lower than the active model's "
        f"{active_f1:.4f} by {-delta:.4f}, more than the tolerance {tolerance}; "
        "the active model stays"
    )


@dataclass
class RetrainResult:
    artifact: ModelArtifact
    report: dict[str, Any]

    @property
    def promoted(self) -> bool:
        return bool(self.report["promoted"])


def current_model(settings: Settings, db: storage.Database) -> tuple[ModelArtifact | None, str]:
    """The model now serving (the active one, else the newest on disk) and a note.

    The note says why a model that should be there is not (its files are gone); when there
    has never been one, the promotion's reason already says so and the note is empty.
    """
    with db.session() as session:
        row = storage.active_model_version(session)
        path = Path(row.path) if row is not None else None
        expected = row.sha256 if row is not None else None
    if path is None:
        path = latest_version(settings.resolved_model_dir())
        if path is None:
            return None, ""
    try:
        return load_artifact(path, expected_sha256=expected), ""
    except ArtifactError as exc:
        return None, f"the active model could not be loaded ({exc})"


def comparison_model(active: ModelArtifact) -> tuple[ModelArtifact, str]:
    """What stands for the active version on the held-out posts, and a note when its score may
    be too high: its fit without them (`HOLDOUT_FIT`), or the version's own model when that
    never saw them (a version from before the refit on every post)."""
    if "holdout" not in active.metadata:
        return active, (
            "the active model was not trained with the held-out split, so it may have seen "
            "these posts and its score may be too high"
        )
    if "fit" not in active.metadata["holdout"]:
        return active, ""  # trained without the held-out posts itself
    try:
        return load_artifact(active.path / HOLDOUT_FIT), ""
    except ArtifactError as exc:
        return active, (
            f"the active model's fit without the held-out posts could not be loaded ({exc}); "
            "the model itself was fitted on them, so its score may be too high"
        )


def _scores(artifact: ModelArtifact, texts: list[str], labels: list[str]) -> dict[str, Any]:
    if not texts:
        return {"accuracy": None, "macro_f1": None, "n": 0}
    report = evaluate_model(artifact.pipeline, texts, labels)
    return {
        "accuracy": round(report.accuracy, 4),
        "macro_f1": round(report.macro_f1, 4),
        "n": len(texts),
    }


def retrain(
    settings: Settings,
    db: storage.Database,
    *,
    directory: Directory | None = None,
    files: list[Path] | None = None,
    text_column: str = "text",
    label_column: str = "topic",
    min_class_size: int = 1,
    include_reviews: bool = True,
    classifier: ClassifierName | None = None,
    cv_folds: int = 0,
    progress: Progress = _quiet,
) -> RetrainResult:
    """Train a candidate, compare it with the serving model on the held-out split, record it,
    and activate it when it passes the gate. The report is returned, stored with the version
    (`report.json`) and, for jobs, in the retrain_jobs table."""
    directory = directory or Directory.from_dir(settings.data_dir)
    files = files or default_label_files(settings.data_dir)
    topics = label_column == "topic"
    allowed = set(directory.topic_codes) if topics else None
    progress(f"[1/{STEPS}] reading labeled posts from {len(files)} file(s) and the reviews")
    data = gather_training_set(
        files,
        db if (include_reviews and topics) else None,
        text_column=text_column,
        label_column=label_column,
        allowed_labels=allowed,
        min_class_size=min_class_size,
    )
    check_class_sizes(data.labels, cv_folds)
    train_idx, held_idx = split_holdout(data.texts, data.labels, settings.holdout_percent)
    train_texts = [data.texts[i] for i in train_idx]
    train_labels = [data.labels[i] for i in train_idx]
    held_texts = [data.texts[i] for i in held_idx]
    held_labels = [data.labels[i] for i in held_idx]
    progress(
        f"[1/{STEPS}] {len(data.texts)} posts ({data.from_files} from files, "
        f"{data.from_reviews} reviewed; {data.overridden} file rows overridden by reviews, "
        f"{data.rejected} rejected left out); {len(held_texts)} held out to compare the models "
        f"on, {len(train_texts)} to fit that comparison on"
    )

    progress(f"[2/{STEPS}] loading the active model")
    active, active_note = current_model(settings, db)
    chosen: ClassifierName = classifier or (
        active.metadata.get("classifier", "svc") if active is not None else "svc"
    )

    without = f", without the {len(held_texts)} held out" if held_texts else ""
    progress(f"[3/{STEPS}] training a {chosen} model on {len(train_texts)} posts{without}")
    output = settings.resolved_model_dir() / new_version_name()
    metadata: dict[str, Any] = {
        "text_column": text_column,
        "label_column": label_column,
        "holdout": {"percent": settings.holdout_percent, "n": len(held_texts)},
        "n_reviewed": data.from_reviews,
    }
    gated = train_and_save(
        train_texts,
        train_labels,
        output / HOLDOUT_FIT if held_texts else output,
        data_sha256=data.sha256(),
        data_files=data.files,
        classifier=chosen,
        # the version's model is cross-validated on every post, below
        cv_folds=0 if held_texts else cv_folds,
        progress=lambda msg: progress(f"[3/{STEPS}] {msg}"),
        extra_metadata=metadata,
    )

    progress(f"[4/{STEPS}] scoring both models on {len(held_texts)} held-out posts")
    candidate_scores = _scores(gated, held_texts, held_labels)
    active_scores = None
    if active is not None:
        compared, active_note = comparison_model(active)
        active_scores = _scores(compared, held_texts, held_labels)
    candidate = gated
    if held_texts:
        candidate = train_and_save(
            data.texts,
            data.labels,
            output,
            data_sha256=data.sha256(),
            data_files=data.files,
            classifier=chosen,
            cv_folds=cv_folds,
            progress=lambda msg: progress(f"[4/{STEPS}] {msg}"),
            extra_metadata={
                **metadata,
                "holdout": {**metadata["holdout"], "fit": HOLDOUT_FIT, "n_train": len(train_texts)},
            },
        )
    promoted, reason = decide_promotion(
        candidate_scores["macro_f1"] or 0.0,
        active_scores["macro_f1"] if active_scores is not None else None,
        settings.promotion_tolerance,
        len(held_texts),
    )

    progress(f"[5/{STEPS}] recording version {candidate.version}")
    report: dict[str, Any] = {
        "version": candidate.version,
        "path": str(candidate.path.resolve()),
        "promoted": promoted,
        "reason": reason,
        "tolerance": settings.promotion_tolerance,
        "candidate": candidate_scores,
        "active": (
            {"version": active.version, **(active_scores or {})} if active is not None else None
        ),
        "active_note": active_note,
        "data": {
            "n_train": len(data.texts),
            "n_train_without_holdout": len(train_texts),
            "n_holdout": len(held_texts),
            "from_files": data.from_files,
            "from_reviews": data.from_reviews,
            "overridden_by_reviews": data.overridden,
            "rejected": data.rejected,
            "holdout_percent": settings.holdout_percent,
            "classifier": chosen,
        },
    }
    (candidate.path / REPORT_NAME).write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    with db.session() as session:
        row = storage.register_model_version(
            session,
            candidate.version,
            str(candidate.path.resolve()),
            str(candidate.metadata["artifact_sha256"]),
            {
                "holdout": candidate_scores,
                "cv": candidate.metadata.get("cv"),
                "n_train": len(data.texts),
                "classifier": chosen,
            },
        )
        row.reason = reason
        if promoted:
            storage.activate_model_version(session, candidate.version, reason)
    if active_note:  # why there was nothing to compare with, or why the comparison is weak
        progress(f"note: {active_note}")
    progress(f"{'promoted' if promoted else 'not promoted'}: {reason}")
    return RetrainResult(candidate, report)
