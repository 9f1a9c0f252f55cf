"""How good are the tags? Precision and recall of `decide_tags` against labeled posts.

The gold tags of a labeled post are what a correct prediction would tag: the offices routed
from its topic (none for `bukan_keluhan`), the camat of its kecamatan and the lurah of its
kelurahan. Predicted tags come from the model's (cross-validated) probabilities, the area
resolver and the tag rules, exactly as the service computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.areas import AreaMatch
from model.routing import NOT_A_COMPLAINT, Directory, TagPolicy, decide_tags
from model.text import normalise_clauses


def gold_tags(
    topic: str, kecamatan: str, kelurahan: str, directory: Directory, policy: TagPolicy
) -> set[str]:
    if topic == NOT_A_COMPLAINT:
        return set()
    area = AreaMatch(kecamatan or None, kelurahan or None, 1.0, "gold")
    decision = decide_tags(topic, 1.0, 1.0, area, directory, policy)
    return {t.official.official_id for t in decision.tags}


@dataclass
class TagScores:
    posts: int
    auto_posts: int  # posted without review
    predicted: int
    gold: int
    correct: int
    auto_predicted: int
    auto_correct: int
    auto_gold: int
    wrong_camat: int  # camat tagged for a complaint about another (or no named) kecamatan

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.gold if self.gold else 0.0

    @property
    def auto_share(self) -> float:
        return self.auto_posts / self.posts if self.posts else 0.0

    @property
    def auto_precision(self) -> float:
        return self.auto_correct / self.auto_predicted if self.auto_predicted else 0.0

    @property
    def auto_recall(self) -> float:
        return self.auto_correct / self.auto_gold if self.auto_gold else 0.0


def score_tags(
    texts: Sequence[str],
    topics: Sequence[str],
    kecamatan: Sequence[str],
    kelurahan: Sequence[str],
    proba: np.ndarray,
    classes: Sequence[str],
    directory: Directory,
    policy: TagPolicy,
) -> TagScores:
    """Score tag decisions made from `proba` (rows aligned with texts, columns with classes)."""
    s = TagScores(0, 0, 0, 0, 0, 0, 0, 0, 0)
    for i, text in enumerate(texts):
        row = proba[i]
        order = np.argsort(-row, kind="stable")
        confidence = float(row[order[0]])
        margin = confidence - (float(row[order[1]]) if len(order) > 1 else 0.0)
        area = directory.gazetteer.resolve(normalise_clauses(text))
        decision = decide_tags(classes[order[0]], confidence, margin, area, directory, policy)
        predicted = {t.official.official_id for t in decision.tags}
        gold = gold_tags(topics[i], kecamatan[i], kelurahan[i], directory, policy)
        hit = len(predicted & gold)
        s.posts += 1
        s.predicted += len(predicted)
        s.gold += len(gold)
        s.correct += hit
        if topics[i] != NOT_A_COMPLAINT:
            s.wrong_camat += sum(
                1
                for t in decision.tags
                if t.official.role == "camat" and t.official.kecamatan != kecamatan[i]
            )
        if not decision.needs_review:
            s.auto_posts += 1
            s.auto_predicted += len(predicted)
            s.auto_correct += hit
            s.auto_gold += len(gold)
    return s
