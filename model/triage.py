"""From post text to a full triage result: topic, area, tags, review flag and deadline.

Pure computation over a loaded model artifact and the city's directory; storage and HTTP live
in `api/`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import scipy.sparse as sp

from model.areas import AreaMatch
from model.artifact import ModelArtifact
from model.fastpath import FastPath
from model.repeats import place_words, without_places
from model.routing import NOT_A_COMPLAINT, Directory, Tag, TagPolicy, decide_tags


@dataclass(frozen=True)
class TopicScore:
    label: str
    confidence: float


@dataclass(frozen=True)
class Classification:
    model_version: str
    topic: TopicScore
    alternatives: list[TopicScore]
    area: AreaMatch
    tags: list[Tag]
    needs_review: bool
    review_reasons: list[str]
    respond_by: datetime
    normalised: str = ""  # what the repeat search compares (`Triage.content_texts`)

    @property
    def is_complaint(self) -> bool:
        return self.topic.label != NOT_A_COMPLAINT


class Triage:
    """A loaded model plus the city's directory and the tag policy."""

    def __init__(
        self,
        artifact: ModelArtifact,
        directory: Directory,
        policy: TagPolicy,
        answer_window: timedelta = timedelta(hours=24),
        n_alternatives: int = 3,
    ) -> None:
        # The artifact's metadata, not the artifact: the fast path below is what classifies,
        # and it keeps of the pipeline only what it needs.
        self.metadata = artifact.metadata
        self.directory = directory
        self.policy = policy
        self.answer_window = answer_window
        self.n_alternatives = n_alternatives
        pipeline = artifact.pipeline
        # Derived from the pipeline once, on load: its numbers at a fraction of its cost.
        self.fast = FastPath(pipeline)
        self._labels = [str(c) for c in pipeline.classes_]
        self._places: frozenset[str] | None = None

    @property
    def model_version(self) -> str:
        return str(self.metadata["version"])

    def predict_proba(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Normalised texts and the topic probabilities (columns in `labels` order)."""
        normalised = self.fast.normalise(texts)
        return normalised, self.fast.predict_proba_normalised(normalised)

    @property
    def labels(self) -> list[str]:
        return self._labels

    def content_texts(self, texts: Sequence[str]) -> list[str]:
        """What the repeat search compares of raw texts: their normalised text without the words
        of mentioned handles (`FastPath.normalise_content`)."""
        return self.fast.normalise_content(texts)

    def similarity_features(self, normalised: Sequence[str]) -> sp.csr_matrix:
        """The model's TF-IDF features of normalised texts without their place words and
        without the opening-words branch, on which repeated complaints are compared
        (`model/repeats.py`): "tolong ..." and "terima kasih ..." say nothing of the subject."""
        if self._places is None:
            self._places = place_words(self.directory.gazetteer)
        return self.fast.features(
            [without_places(t, self._places) for t in normalised], content_only=True
        )

    def classify(
        self,
        texts: Sequence[str],
        posted_at: Sequence[datetime | None] | None = None,
        received_at: datetime | Sequence[datetime] | None = None,
    ) -> list[Classification]:
        """`received_at` (one time for all texts, or one per text; now by default) starts the
        answer deadline of a post without `posted_at`."""
        if not texts:
            return []
        if received_at is None or isinstance(received_at, datetime):
            received = [received_at or datetime.now(UTC)] * len(texts)
        else:
            received = list(received_at)
        posted = list(posted_at) if posted_at is not None else [None] * len(texts)
        normalised, proba = self.predict_proba(texts)
        content = self.fast.normalise_content(texts, normalised)  # what the repeat search reads
        clauses = self.fast.normalise_clauses(texts)  # what the area resolver reads
        results = []
        for compared, clause_text, row, when, arrived in zip(
            content, clauses, proba, posted, received, strict=True
        ):
            order = np.argsort(-row, kind="stable")
            top = TopicScore(self._labels[order[0]], float(row[order[0]]))
            second = float(row[order[1]]) if len(order) > 1 else 0.0
            alternatives = [
                TopicScore(self._labels[i], float(row[i]))
                for i in order[1 : 1 + self.n_alternatives]
            ]
            area = self.directory.gazetteer.resolve(clause_text)
            decision = decide_tags(
                top.label,
                top.confidence,
                top.confidence - second,
                area,
                self.directory,
                self.policy,
            )
            start = when if when is not None else arrived
            if start.tzinfo is None:
                start = start.replace(tzinfo=UTC)
            results.append(
                Classification(
                    model_version=self.model_version,
                    topic=top,
                    alternatives=alternatives,
                    area=area,
                    tags=decision.tags,
                    needs_review=decision.needs_review,
                    review_reasons=decision.review_reasons,
                    respond_by=start + self.answer_window,
                    normalised=compared,
                )
            )
        return results
