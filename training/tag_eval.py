"""How good are the areas and the tags? The area resolver and `decide_tags` against labeled
posts.

Areas: the kelurahan read right where a post's columns name one, the kecamatan where they name
one, and an area read where they name none (`AreaTally`).

Tags: the gold tags of a labeled post are what a correct prediction would tag: the offices
routed from its topic (none for `bukan_keluhan`), the camat of its kecamatan and the lurah of
its kelurahan. Predicted tags come from the model's probabilities (cross-validated in
`bench/tag_report.py`), the area resolver and the tag rules, exactly as the service computes
them (`score_tags`), or from the service's own classifications (`score_classifications`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.areas import AreaMatch
from model.routing import NOT_A_COMPLAINT, Directory, Tag, TagPolicy, decide_tags
from model.text import normalise_clauses
from model.triage import Classification


@dataclass(kw_only=True)
class AreaTally:
    """The areas read for labeled posts against their kecamatan/kelurahan columns: kelurahan
    right where the columns name one, kecamatan right where they name one, and an area given
    where they name none (`bench/probes.py` keeps one per probe)."""

    kelurahan_named: int = 0
    kelurahan_right: int = 0
    kecamatan_named: int = 0
    kecamatan_right: int = 0
    none_named: int = 0
    area_where_none: int = 0

    def count(self, want: tuple[str, str], got: tuple[str, str]) -> None:
        """One post: `want` and `got` are (kecamatan, kelurahan), "" where there is none."""
        kecamatan, kelurahan = want
        if kelurahan:
            self.kelurahan_named += 1
            self.kelurahan_right += got[1] == kelurahan
        if kecamatan:
            self.kecamatan_named += 1
            self.kecamatan_right += got[0] == kecamatan
        else:
            self.none_named += 1
            self.area_where_none += bool(got[0])


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
        _count(
            s,
            decision.tags,
            decision.needs_review,
            topics[i],
            kecamatan[i],
            kelurahan[i],
            directory,
            policy,
        )
    return s


def score_classifications(
    results: Sequence[Classification],
    topics: Sequence[str],
    kecamatan: Sequence[str],
    kelurahan: Sequence[str],
    directory: Directory,
    policy: TagPolicy,
) -> TagScores:
    """Score the tags of the service's classifications (`Triage.classify`) of labeled posts."""
    s = TagScores(0, 0, 0, 0, 0, 0, 0, 0, 0)
    for result, topic, kec, kel in zip(results, topics, kecamatan, kelurahan, strict=True):
        _count(s, result.tags, result.needs_review, topic, kec, kel, directory, policy)
    return s


def _count(
    s: TagScores,
    tags: Sequence[Tag],
    needs_review: bool,
    topic: str,
    kecamatan: str,
    kelurahan: str,
    directory: Directory,
    policy: TagPolicy,
) -> None:
    """One post's predicted tags against its gold tags, into `s`."""
    predicted = {t.official.official_id for t in tags}
    gold = gold_tags(topic, kecamatan, kelurahan, directory, policy)
    hit = len(predicted & gold)
    s.posts += 1
    s.predicted += len(predicted)
    s.gold += len(gold)
    s.correct += hit
    if topic != NOT_A_COMPLAINT:
        s.wrong_camat += sum(
            1 for t in tags if t.official.role == "camat" and t.official.kecamatan != kecamatan
        )
    if not needs_review:
        s.auto_posts += 1
        s.auto_predicted += len(predicted)
        s.auto_correct += hit
        s.auto_gold += len(gold)
