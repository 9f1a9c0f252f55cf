"""What the routes do: classify posts, store them, read them back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from api import storage
from api.schemas import (
    AreaOut,
    ClassificationOut,
    PostIn,
    PostOut,
    TagOut,
    TopicAlternative,
    TopicOut,
)
from api.settings import Settings
from model.triage import Classification, Triage


class RequestRejected(Exception):
    """A request that is well-formed JSON but cannot be served; carries the HTTP status."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def check_posts(posts: Sequence[PostIn], settings: Settings) -> None:
    if len(posts) > settings.max_batch_size:
        raise RequestRejected(
            413, f"batch of {len(posts)} posts exceeds the limit of {settings.max_batch_size}"
        )
    for i, post in enumerate(posts):
        if len(post.text) > settings.max_text_length:
            where = f"post {i}: " if len(posts) > 1 else ""
            raise RequestRejected(
                422,
                f"{where}text has {len(post.text)} characters; the limit is "
                f"{settings.max_text_length}",
            )


def classification_out(result: Classification, post_id: str | None) -> ClassificationOut:
    return ClassificationOut(
        id=post_id,
        model_version=result.model_version,
        is_complaint=result.is_complaint,
        topic=TopicOut(
            label=result.topic.label,
            confidence=result.topic.confidence,
            alternatives=[
                TopicAlternative(label=a.label, confidence=a.confidence)
                for a in result.alternatives
            ],
        ),
        area=AreaOut(
            kecamatan=result.area.kecamatan,
            kelurahan=result.area.kelurahan,
            confidence=result.area.confidence,
            evidence=result.area.evidence,
        ),
        tags=[
            TagOut(
                official_id=t.official.official_id,
                name=t.official.name,
                role=t.official.role,
                handles=dict(t.official.handles),
                reason=t.reason,
            )
            for t in result.tags
        ],
        needs_review=result.needs_review,
        review_reasons=list(result.review_reasons),
        respond_by=result.respond_by,
    )


def prediction_columns(out: ClassificationOut) -> dict[str, Any]:
    """The stored form of one classification."""
    return {
        "model_version": out.model_version,
        "topic": out.topic.label,
        "confidence": out.topic.confidence,
        "alternatives": [a.model_dump() for a in out.topic.alternatives],
        "kecamatan": out.area.kecamatan,
        "kelurahan": out.area.kelurahan,
        "area_confidence": out.area.confidence,
        "area_evidence": out.area.evidence,
        "tags": [t.model_dump() for t in out.tags],
        "needs_review": out.needs_review,
        "review_reasons": list(out.review_reasons),
        "respond_by": out.respond_by,
    }


def stored_classification(post: storage.PostRow) -> ClassificationOut:
    p = storage.latest_prediction(post)
    return ClassificationOut(
        id=post.id,
        model_version=p.model_version,
        is_complaint=p.topic != "bukan_keluhan",
        topic=TopicOut(
            label=p.topic,
            confidence=p.confidence,
            alternatives=[TopicAlternative(**a) for a in p.alternatives],
        ),
        area=AreaOut(
            kecamatan=p.kecamatan,
            kelurahan=p.kelurahan,
            confidence=p.area_confidence,
            evidence=p.area_evidence,
        ),
        tags=[TagOut(**t) for t in p.tags],
        needs_review=p.needs_review,
        review_reasons=list(p.review_reasons),
        respond_by=p.respond_by,
    )


def classify_posts(
    triage: Triage,
    posts: Sequence[PostIn],
    db: storage.Database | None,
    settings: Settings,
) -> list[ClassificationOut]:
    """Classify, and when `db` is given store every post and prediction before returning."""
    check_posts(posts, settings)
    received_at = datetime.now(UTC)
    results = triage.classify(
        [p.text for p in posts], [p.posted_at for p in posts], received_at=received_at
    )
    outs = [classification_out(r, None) for r in results]
    if db is None:
        return outs
    new_posts = [
        storage.NewPost(p.text, p.source, p.external_id, p.author, p.url, p.posted_at)
        for p in posts
    ]
    with db.session() as session:
        rows = storage.add_classified_posts(
            session, new_posts, [prediction_columns(o) for o in outs], received_at
        )
        ids = [r.id for r in rows]
    return [o.model_copy(update={"id": i}) for o, i in zip(outs, ids, strict=True)]


def get_post(db: storage.Database, post_id: str) -> PostOut:
    with db.session() as session:
        row = storage.get_post(session, post_id)
        if row is None:
            raise RequestRejected(404, f"no post with id {post_id!r}")
        return PostOut(
            id=row.id,
            text=row.text,
            source=row.source,
            external_id=row.external_id,
            author=row.author,
            url=row.url,
            posted_at=row.posted_at,
            received_at=row.received_at,
            prediction=stored_classification(row),
        )
