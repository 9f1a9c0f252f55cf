"""What the routes do: classify posts, store them, read them back, review them, and manage the
model versions every worker serves."""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError

from api import metrics, storage
from api.repeat_search import RepeatSearch
from api.reports import GroupBy, Obligation, ReportRow, summarise
from api.schemas import (
    AreaOut,
    ClassificationOut,
    ModelVersionOut,
    OverdueItemOut,
    OverdueNoticeOut,
    OverdueOut,
    OwingOut,
    PostIn,
    PostListOut,
    PostOut,
    QueueItemOut,
    QueueOut,
    ResponseIn,
    ResponseOut,
    ResponseReportOut,
    ResponseReportRowOut,
    RetrainIn,
    RetrainJobOut,
    ReviewIn,
    ReviewLabels,
    ReviewOut,
    TagOut,
    TopicAlternative,
    TopicOut,
    utc,
)
from api.settings import Settings
from model.areas import MARKERS, AreaMatch
from model.artifact import (
    METADATA_NAME,
    ArtifactError,
    ModelArtifact,
    latest_version,
    list_versions,
    load_artifact,
    read_metadata,
)
from model.routing import Directory, TagPolicy, decide_tags
from model.text import load_lexicon
from model.triage import Classification, Triage

if TYPE_CHECKING:
    from api.auth import Principal
    from api.deps import AppState

log = logging.getLogger("tandai")


class RequestRejected(Exception):
    """A request that is well-formed JSON but cannot be served; carries the HTTP status."""

    def __init__(
        self, status_code: int, detail: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers or {})


def tag_policy(settings: Settings) -> TagPolicy:
    return TagPolicy(
        auto_tag_threshold=settings.auto_tag_threshold,
        review_threshold=settings.review_threshold,
        no_complaint_review_threshold=settings.no_complaint_review_threshold,
        margin_threshold=settings.margin_threshold,
        area_threshold=settings.area_threshold,
        tag_lurah=settings.tag_lurah,
    )


def make_triage(settings: Settings, directory: Directory, artifact: ModelArtifact) -> Triage:
    return Triage(
        artifact,
        directory,
        tag_policy(settings),
        answer_window=timedelta(hours=settings.answer_window_hours),
        n_alternatives=settings.n_alternatives,
    )


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


def classification_fields(result: Classification, post_id: str | None) -> dict[str, Any]:
    """The answer for one classified post as plain values, in `ClassificationOut`'s shape."""
    return {
        "id": post_id,
        "model_version": result.model_version,
        "is_complaint": result.is_complaint,
        "topic": {
            "label": result.topic.label,
            "confidence": result.topic.confidence,
            "alternatives": [
                {"label": a.label, "confidence": a.confidence} for a in result.alternatives
            ],
        },
        "area": {
            "kecamatan": result.area.kecamatan,
            "kelurahan": result.area.kelurahan,
            "confidence": result.area.confidence,
            "evidence": result.area.evidence,
        },
        "tags": [
            {
                "official_id": t.official.official_id,
                "name": t.official.name,
                "role": t.official.role,
                "handles": dict(t.official.handles),
                "reason": t.reason,
            }
            for t in result.tags
        ],
        "needs_review": result.needs_review,
        "review_reasons": list(result.review_reasons),
        "respond_by": result.respond_by,
        "repeat_of": None,
        "repeat_count": 0,
    }


def classification_out(result: Classification, post_id: str | None) -> ClassificationOut:
    """The answer for one classified post. Validated from plain values in one call: pydantic
    does that in compiled code, three times as fast as building the nested models one by one
    with `model_construct` (5 against 15 us a post)."""
    return ClassificationOut.model_validate(classification_fields(result, post_id))


def prediction_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """The stored form of one classification (`classification_fields`' values)."""
    topic, area = fields["topic"], fields["area"]
    alternatives = topic["alternatives"]
    return {
        "model_version": fields["model_version"],
        "topic": topic["label"],
        "confidence": topic["confidence"],
        "margin": topic["confidence"] - (alternatives[0]["confidence"] if alternatives else 0.0),
        "alternatives": alternatives,
        "kecamatan": area["kecamatan"],
        "kelurahan": area["kelurahan"],
        "area_confidence": area["confidence"],
        "area_evidence": area["evidence"],
        "tags": fields["tags"],
        "needs_review": fields["needs_review"],
        "review_reasons": fields["review_reasons"],
        "respond_by": fields["respond_by"],
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
        repeat_of=post.repeat_of,
    )


def classify_posts(
    triage: Triage,
    posts: Sequence[PostIn],
    db: storage.Database | None,
    settings: Settings,
    idempotency_key: str | None = None,
) -> list[ClassificationOut]:
    """Classify, and when `db` is given store every post and prediction before returning.

    A post whose (platform, post id) or idempotency key is already stored is not stored again:
    its first result is returned. Concurrent requests for the same post race on the database's
    unique keys; the loser reads the winner's row.
    """
    check_posts(posts, settings)
    received_at = datetime.now(UTC)
    if db is None:
        results = triage.classify(
            [p.text for p in posts], [p.posted_at for p in posts], received_at=received_at
        )
        metrics.record_predictions(r.topic.label for r in results)
        return [classification_out(r, None) for r in results]
    new_posts = new_posts_of(posts, idempotency_key)
    return store_posts(triage, new_posts, db, settings, [received_at] * len(new_posts))


async def classify_and_store(
    state: AppState, triage: Triage, posts: Sequence[PostIn], idempotency_key: str | None
) -> list[ClassificationOut]:
    """What the classify routes do: the posts go to the worker's group writer, which classifies
    them with other requests' posts and answers once they are committed (`api/writer.py`)."""
    check_posts(posts, state.settings)
    received_at = datetime.now(UTC)
    if state.writer is None:
        raise RequestRejected(503, "the server is starting or shutting down; retry")
    return await state.writer.store(triage, new_posts_of(posts, idempotency_key), received_at)


def new_posts_of(posts: Sequence[PostIn], idempotency_key: str | None) -> list[storage.NewPost]:
    """The stored form of posts received in one request."""
    return [
        storage.NewPost(
            p.text,
            p.source,
            p.external_id,
            p.author,
            p.url,
            p.posted_at,
            idempotency_key=_batch_key(idempotency_key, i, len(posts)),
        )
        for i, p in enumerate(posts)
    ]


def store_posts(
    triage: Triage,
    new_posts: Sequence[storage.NewPost],
    db: storage.Database,
    settings: Settings,
    received_at: Sequence[datetime],
) -> list[ClassificationOut]:
    """Classify posts and store them with their predictions in one transaction.

    `received_at` holds each post's arrival time. A unique-key conflict with a concurrent
    transaction is retried (the retry reads the winner's row), at most three times.
    """
    for _attempt in range(3):
        try:
            return _classify_and_store(triage, new_posts, db, settings, received_at)
        except IntegrityError:
            log.info("a concurrent request stored the same post first; reading its result")
    raise RequestRejected(409, "the same post is being stored by another request; retry")


def key_reused() -> RequestRejected:
    """A retry sends the same post again; another post under the same key would get the first
    post's answer and never be stored."""
    return RequestRejected(
        422, "this Idempotency-Key was sent before with another post; use a new key for each post"
    )


def _batch_key(key: str | None, index: int, size: int) -> str | None:
    if key is None:
        return None
    return key if size == 1 else f"{key}#{index}"


def _classify_and_store(
    triage: Triage,
    new_posts: Sequence[storage.NewPost],
    db: storage.Database,
    settings: Settings,
    received_at: Sequence[datetime],
) -> list[ClassificationOut]:
    with db.session() as session:
        by_dedup, by_idem = storage.find_existing_posts(
            session,
            [p.dedup_key for p in new_posts if p.dedup_key],
            [p.idempotency_key for p in new_posts if p.idempotency_key],
        )
        answers: dict[int, ClassificationOut] = {}
        # a second copy of a post (same platform id or same idempotency key) within this batch
        same_as: dict[int, int] = {}
        first_of: dict[tuple[str, str], int] = {}
        fresh: list[int] = []
        for i, post in enumerate(new_posts):
            keys = [("dedup", post.dedup_key)] if post.dedup_key else []
            if post.idempotency_key:
                keys.append(("idem", post.idempotency_key))
            by_key = by_idem.get(post.idempotency_key or "")
            row = by_key or by_dedup.get(post.dedup_key or "")
            earlier = next((first_of[k] for k in keys if k in first_of), None)
            # the text first sent under this post's Idempotency-Key, stored or in this group
            keyed = by_key.text if by_key is not None else None
            if earlier is not None and post.idempotency_key:
                before = new_posts[earlier]
                if before.idempotency_key == post.idempotency_key:
                    keyed = before.text
            if keyed is not None and keyed != post.text:
                raise key_reused()
            if row is not None:
                answers[i] = _stored_with_repeats(session, row)
            elif earlier is not None:
                same_as[i] = earlier
            else:
                first_of.update((k, i) for k in keys)
                fresh.append(i)
        if fresh:
            results = triage.classify(
                [new_posts[i].text for i in fresh],
                [new_posts[i].posted_at for i in fresh],
                received_at=[received_at[i] for i in fresh],
            )
            metrics.record_predictions(r.topic.label for r in results)
            to_store = []
            outs = []
            ids = storage.new_ids(len(fresh))
            repeats = RepeatSearch(
                session, triage, settings, results, [received_at[i] for i in fresh]
            )
            for post_id, i, result in zip(ids, fresh, results, strict=True):
                post = new_posts[i]
                out = classification_fields(result, post_id)
                repeat = repeats.find(result, received_at[i])
                if repeat is not None:
                    post = replace(
                        post, repeat_of=repeat.post_id, repeat_similarity=repeat.similarity
                    )
                    # the officials were tagged on the first post; they are not tagged again
                    out["tags"], out["repeat_of"] = [], repeat.post_id
                else:
                    repeats.add(post_id, result, received_at[i])
                to_store.append(post)
                outs.append(out)
            storage.add_classified_posts(
                session,
                to_store,
                [prediction_columns(o) for o in outs],
                [received_at[i] for i in fresh],
                ids=ids,
            )
            storage.add_repeat_vectors(session, triage.model_version, repeats.new_vectors)
            roots = [o["repeat_of"] for o in outs if o["repeat_of"]]
            counts = storage.count_repeats(session, roots)
            for i, out in zip(fresh, outs, strict=True):
                if out["repeat_of"]:
                    out["repeat_count"] = counts.get(out["repeat_of"], 0)
                answers[i] = ClassificationOut.model_validate(out)
        for i, first in same_as.items():
            answers[i] = answers[first]
    return [answers[i] for i in range(len(new_posts))]


# Kept repeat vectors outlive the repeat window by this much before they are dropped (a request
# queued at the window's edge, clocks of several workers).
REPEAT_VECTORS_MARGIN = timedelta(days=1)


def drop_old_repeat_vectors(db: storage.Database, settings: Settings, now: datetime) -> int:
    """Drop the kept vectors of posts too old to be a candidate of the repeat search (all of
    them when the search is off); returns how many went."""
    window = timedelta(days=max(0.0, settings.repeat_window_days))
    before = now - window - REPEAT_VECTORS_MARGIN if window else now
    with db.session() as session:
        return storage.drop_repeat_vectors(session, before)


def _repeat_count(session: Any, row: storage.PostRow) -> int:
    """Repeats linked to the post this one repeats, or to this post when it is the first."""
    root = row.repeat_of or row.id
    return storage.count_repeats(session, [root]).get(root, 0)


def _stored_with_repeats(session: Any, row: storage.PostRow) -> ClassificationOut:
    return stored_classification(row).model_copy(
        update={"repeat_count": _repeat_count(session, row)}
    )


def post_out(row: storage.PostRow) -> PostOut:
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
        reviewed=bool(row.reviews),
        reviews=[review_out(r) for r in row.reviews],
        responses=[response_out(r) for r in row.responses],
        status=case_status(r.status for r in row.responses),
    )


def get_post(db: storage.Database, post_id: str) -> PostOut:
    with db.session() as session:
        row = storage.get_post(session, post_id)
        if row is None:
            raise RequestRejected(404, f"no post with id {post_id!r}")
        out = post_out(row)
        count = _repeat_count(session, row)
        return out.model_copy(
            update={"prediction": out.prediction.model_copy(update={"repeat_count": count})}
        )


def list_posts(
    db: storage.Database,
    *,
    limit: int,
    offset: int,
    reviewed: bool | None = None,
    topic: str | None = None,
    kecamatan: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PostListOut:
    with db.session() as session:
        rows, total = storage.list_posts(
            session,
            limit=limit,
            offset=offset,
            reviewed=reviewed,
            topic=topic,
            kecamatan=kecamatan,
            since=None if since is None else _utc(since, "since"),
            until=None if until is None else _utc(until, "until"),
        )
        return PostListOut(
            items=[post_out(r) for r in rows], total=total, limit=limit, offset=offset
        )


# -- review --------------------------------------------------------------------------------------


def evidence_spans(text: str, evidence: str | None) -> list[tuple[int, int]]:
    """Where the area evidence (normalised words) stands in the original text.

    Matched case-insensitively, with any punctuation or spacing (or none) between the words and
    a letter repeated any number of times ("Harapannn"); a leading marker the normaliser
    expanded ("kel." -> "kelurahan") is dropped when the full phrase is not found. Offsets are
    Python string (code point) indices. Nothing is returned when the words are not found as
    whole words: no highlight is better than a wrong one.
    """
    if not evidence:
        return []
    tokens = evidence.split()
    attempts = [tokens]
    if len(tokens) > 1 and tokens[0] in MARKERS:
        attempts.append(tokens[1:])
    for words in attempts:
        if any(not w.isalnum() for w in words):
            return []  # placeholders such as _angka_ have no counterpart in the text
        body = r"[\W_]*".join(_written_as(w) for w in words)
        pattern = re.compile(r"(?<![^\W_])" + body + r"(?![^\W_])", re.IGNORECASE)
        spans = [(m.start(), m.end()) for m in pattern.finditer(text)]
        if spans:
            return spans
    return []


@cache
def _written_forms() -> dict[str, tuple[str, ...]]:
    """Each word the lexicon writes for a single written form, and those forms ("baru":
    "bru", ...), longest first."""
    forms: dict[str, list[str]] = {}
    for form, replacement in load_lexicon().items():
        if form.isalnum() and replacement.isalnum():
            forms.setdefault(replacement, []).append(form)
    return {word: tuple(sorted(f, key=len, reverse=True)) for word, f in forms.items()}


def _written_as(word: str) -> str:
    """A pattern for `word` as the text may hold it: with letters repeated, or as a written
    form the lexicon reads as it ("bru" for "baru"; not a marker's short form: "kel." is
    found by dropping the marker)."""
    others = () if word in MARKERS else _written_forms().get(word, ())
    return "(?:" + "|".join("".join(re.escape(ch) + "+" for ch in w) for w in (word, *others)) + ")"


def review_queue(
    db: storage.Database,
    *,
    limit: int,
    offset: int,
    topic: str | None = None,
    kecamatan: str | None = None,
) -> QueueOut:
    with db.session() as session:
        rows, total = storage.review_queue(session, limit, offset, topic, kecamatan)
        items = [
            QueueItemOut(
                id=post.id,
                text=post.text,
                source=post.source,
                author=post.author,
                url=post.url,
                posted_at=post.posted_at,
                received_at=post.received_at,
                prediction=stored_classification(post),
                evidence_spans=evidence_spans(post.text, prediction.area_evidence),
            )
            for post, prediction in rows
        ]
    return QueueOut(items=items, total=total, limit=limit, offset=offset)


@dataclass(frozen=True)
class _Labels:
    topic: str | None
    kecamatan: str | None
    kelurahan: str | None
    tags: list[str]


def _predicted_labels(prediction: storage.PredictionRow) -> _Labels:
    return _Labels(
        prediction.topic,
        prediction.kecamatan,
        prediction.kelurahan,
        [str(t["official_id"]) for t in prediction.tags],
    )


def review_out(row: storage.ReviewRow) -> ReviewOut:
    return ReviewOut(
        id=row.id,
        post_id=row.post_id,
        reviewer=row.reviewer,
        reviewer_key_id=row.reviewer_key_id,
        created_at=row.created_at,
        decision=row.decision,
        before=ReviewLabels(
            topic=row.before_topic,
            kecamatan=row.before_kecamatan,
            kelurahan=row.before_kelurahan,
            tags=list(row.before_tags),
        ),
        after=ReviewLabels(
            topic=row.after_topic,
            kecamatan=row.after_kecamatan,
            kelurahan=row.after_kelurahan,
            tags=list(row.after_tags),
        ),
        note=row.note,
    )


def _check_topic(directory: Directory, topic: str | None) -> str:
    if topic is None:
        raise RequestRejected(422, "a correction needs a topic (a code from GET /topics)")
    if topic not in directory.topic_codes:
        raise _unknown_topic(directory, topic)
    return topic


def _unknown_topic(directory: Directory, topic: str) -> RequestRejected:
    return RequestRejected(
        422, f"unknown topic {topic!r}; topics are: {', '.join(directory.topic_codes)}"
    )


def topic_filter(
    db: storage.Database, directory: Directory, triage: Triage | None, topic: str | None
) -> str | None:
    """A list's `topic` filter as written by topics.csv or the active model's labels (a model
    trained on other labels, such as agencies, returns those), whatever its case, or exactly as
    a stored prediction or review carries it (the label of a model since replaced, which old
    posts keep); 422 for a label none of them holds, so a typo is not answered with an empty
    list."""
    if topic is None or not topic.strip():
        return None
    labels = triage.labels if triage is not None else []
    known = {label.lower(): label for label in (*directory.topic_codes, *labels)}
    found = known.get(topic.strip().lower())
    if found is not None:
        return found
    with db.session() as session:
        if storage.topic_is_stored(session, topic.strip()):
            return topic.strip()
    raise _unknown_topic(directory, topic)


def kecamatan_filter(directory: Directory, kecamatan: str | None) -> str | None:
    """A list's `kecamatan` filter as areas.csv spells it ("ratu agung" -> "Ratu Agung");
    422 for a name areas.csv does not hold, as a review's correction gets."""
    return _check_area(directory, kecamatan, None)[0]


def _check_area(
    directory: Directory, kecamatan: str | None, kelurahan: str | None
) -> tuple[str | None, str | None]:
    """Canonical (kecamatan, kelurahan) names from areas.csv; a kelurahan alone is enough."""
    gazetteer = directory.gazetteer
    kec_names = {n.lower(): n for n in gazetteer.kecamatan_names}
    kel_names = {n.lower(): n for n in gazetteer.kelurahan_of}
    kec = None
    if kecamatan is not None and kecamatan.strip():
        kec = kec_names.get(kecamatan.strip().lower())
        if kec is None:
            raise RequestRejected(422, f"unknown kecamatan {kecamatan!r}; see GET /areas")
    kel = None
    if kelurahan is not None and kelurahan.strip():
        kel = kel_names.get(kelurahan.strip().lower())
        if kel is None:
            raise RequestRejected(422, f"unknown kelurahan {kelurahan!r}; see GET /areas")
        parent = gazetteer.kelurahan_of[kel]
        if kec is None:
            kec = parent
        elif kec != parent:
            raise RequestRejected(422, f"kelurahan {kel!r} is in kecamatan {parent!r}, not {kec!r}")
    return kec, kel


def _check_tags(directory: Directory, tags: list[str]) -> list[str]:
    unknown = [t for t in tags if t not in directory.official_by_id]
    if unknown:
        raise RequestRejected(
            422, f"unknown official id(s) {', '.join(map(repr, unknown))}; see GET /officials"
        )
    return list(dict.fromkeys(tags))


def _rule_tags(
    directory: Directory, policy: TagPolicy, topic: str, kec: str | None, kel: str | None
) -> list[str]:
    """The officials the tag rules give for a topic and area a person vouches for."""
    area = AreaMatch(kec, kel, 1.0 if kec else 0.0, None)
    decision = decide_tags(topic, 1.0, 1.0, area, directory, policy)
    return [t.official.official_id for t in decision.tags]


def _reviewed_labels(
    body: ReviewIn, predicted: _Labels, directory: Directory, policy: TagPolicy
) -> _Labels:
    if body.decision == "accept":
        given = {
            "topic": body.topic,
            "kecamatan": body.kecamatan,
            "kelurahan": body.kelurahan,
            "tags": body.tags,
        }
        for name, value in given.items():
            if value is not None and value != getattr(predicted, name):
                raise RequestRejected(
                    422,
                    f"accept keeps the predicted {name} ({getattr(predicted, name)!r}); "
                    "send decision 'correct' to change it",
                )
        return predicted
    if body.decision == "reject":
        if any(v is not None for v in (body.topic, body.kecamatan, body.kelurahan, body.tags)):
            raise RequestRejected(
                422, "reject takes only a note; send decision 'correct' to relabel the post"
            )
        return _Labels(None, None, None, [])
    topic = _check_topic(directory, body.topic)
    kec, kel = _check_area(directory, body.kecamatan, body.kelurahan)
    if body.tags is None:
        tags = _rule_tags(directory, policy, topic, kec, kel)
    else:
        tags = _check_tags(directory, body.tags)
    return _Labels(topic, kec, kel, tags)


def review_post(
    db: storage.Database,
    directory: Directory,
    settings: Settings,
    post_id: str,
    body: ReviewIn,
    reviewer: Principal,
) -> ReviewOut:
    """Store a review; the post leaves the queue. Earlier reviews of the post are kept, and
    `before` is what the post showed until now (the previous review's result, or the
    prediction)."""
    with db.session() as session:
        post = storage.get_post(session, post_id)
        if post is None:
            raise RequestRejected(404, f"no post with id {post_id!r}")
        predicted = _predicted_labels(storage.latest_prediction(post))
        previous = storage.latest_review(post)
        before = predicted
        if previous is not None:
            before = _Labels(
                previous.after_topic,
                previous.after_kecamatan,
                previous.after_kelurahan,
                list(previous.after_tags),
            )
        after = _reviewed_labels(body, predicted, directory, tag_policy(settings))
        row = storage.add_review(
            session,
            post,
            reviewer_key_id=reviewer.key_id,
            reviewer=reviewer.name,
            decision=body.decision,
            before_topic=before.topic,
            before_kecamatan=before.kecamatan,
            before_kelurahan=before.kelurahan,
            before_tags=before.tags,
            after_topic=after.topic,
            after_kecamatan=after.kecamatan,
            after_kelurahan=after.kelurahan,
            after_tags=after.tags,
            note=body.note,
        )
        return review_out(row)


EXPORT_COLUMNS = ("text", "topic", "kecamatan", "kelurahan", "source")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula: a leading =, +, -, @, tab or carriage
    return gets an apostrophe in front (OWASP's advice against CSV injection)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def export_labels(db: storage.Database) -> Iterator[str]:
    """Reviewed posts as training rows (the latest review of each; rejected posts left out),
    in CSV chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    with db.session() as session:
        for label in storage.reviewed_labels(session):
            if label.decision == "reject" or label.topic is None:
                continue
            cells = (label.text, label.topic, label.kecamatan, label.kelurahan, label.source)
            writer.writerow([spreadsheet_safe(c or "") for c in cells])
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


# -- model versions --------------------------------------------------------------------------


def _version_metrics(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in ("holdout", "cv", "n_train", "classifier") if k in meta}


def list_models(state: AppState) -> list[ModelVersionOut]:
    """Every registered version, and versions found on disk but never registered."""
    serving = state.triage.model_version if state.triage is not None else None
    with state.db.session() as session:
        rows = storage.list_model_versions(session)
        out = {
            r.version: ModelVersionOut(
                version=r.version,
                path=r.path,
                sha256=r.sha256,
                active=r.active,
                serving=r.version == serving,
                registered=True,
                metrics=r.metrics,
                created_at=r.created_at,
                promoted_at=r.promoted_at,
                reason=r.reason,
            )
            for r in rows
        }
    for path in list_versions(state.settings.resolved_model_dir()):
        if path.name in out:
            continue
        try:
            meta = read_metadata(path)
        except ArtifactError:
            continue
        created = meta.get("created_at")
        out[path.name] = ModelVersionOut(
            version=path.name,
            path=str(path),
            sha256=str(meta["artifact_sha256"]),
            active=False,
            serving=path.name == serving,
            registered=False,
            metrics=_version_metrics(meta),
            created_at=datetime.fromisoformat(created) if created else None,
            promoted_at=None,
            reason="",
        )
    return sorted(out.values(), key=lambda m: m.version, reverse=True)


def register_artifact(session: Any, artifact: ModelArtifact) -> storage.ModelVersionRow:
    meta = artifact.metadata
    created = meta.get("created_at")
    return storage.register_model_version(
        session,
        artifact.version,
        str(artifact.path.resolve()),
        str(meta["artifact_sha256"]),
        _version_metrics(meta),
        datetime.fromisoformat(created) if created else None,
    )


_VERSION_RE = re.compile(r"^[\w.-]{1,64}$")


def _version_path(state: AppState, version: str) -> Path:
    """The directory of a version: as registered, else under the model directory."""
    with state.db.session() as session:
        row = storage.get_model_version(session, version)
        if row is not None:
            return Path(row.path)
    if not _VERSION_RE.match(version) or version in {".", ".."}:
        raise RequestRejected(404, f"no model version {version!r}")
    path = state.settings.resolved_model_dir() / version
    if not (path / METADATA_NAME).is_file():
        raise RequestRejected(404, f"no model version {version!r}; see GET /models")
    return path


def activate_model(state: AppState, version: str, reason: str, by: Principal) -> ModelVersionOut:
    """Verify and load `version`, record it as the active one, and serve it in this worker at
    once (the others follow within `model_poll_seconds`)."""
    path = _version_path(state, version)
    with state.db.session() as session:
        registered = storage.get_model_version(session, version)
        expected = registered.sha256 if registered is not None else None
    try:
        artifact = load_artifact(path, expected_sha256=expected)
    except ArtifactError as exc:
        raise RequestRejected(422, f"cannot activate {version!r}: {exc}") from None
    with state.db.session() as session:
        register_artifact(session, artifact)
        storage.activate_model_version(
            session, version, reason or f"activated by hand by {by.name}"
        )
    state.set_triage(make_triage(state.settings, state.directory, artifact))
    log.info("model %s activated by %s", version, by.name)
    return next(m for m in list_models(state) if m.version == version)


@dataclass(frozen=True)
class _Recorded:
    """A registered version as read from the database (read first, loaded after, so no
    transaction stays open while a model loads)."""

    version: str
    path: str
    sha256: str


def _active_recorded(db: storage.Database) -> _Recorded | None:
    with db.session() as session:
        row = storage.active_model_version(session)
        return None if row is None else _Recorded(row.version, row.path, row.sha256)


def _load_recorded(recorded: _Recorded) -> ModelArtifact:
    return load_artifact(Path(recorded.path), expected_sha256=recorded.sha256)


def load_initial_model(state: AppState) -> None:
    """The active version from the database, else the newest on disk; on failure the app
    starts not ready, with the reason."""
    try:
        recorded = _active_recorded(state.db)
        if recorded is not None:
            artifact = _load_recorded(recorded)
        else:
            path = latest_version(state.settings.resolved_model_dir())
            if path is None:
                raise ArtifactError(f"no model found in {state.settings.resolved_model_dir()}")
            artifact = load_artifact(path)
    except ArtifactError as exc:
        state.model_error = str(exc)
        log.warning("not ready: %s", exc)
        return
    state.set_triage(make_triage(state.settings, state.directory, artifact))
    log.info("model %s loaded", artifact.version)


def refresh_model(state: AppState) -> bool:
    """Swap in the active version when the database names another one. The new model is
    loaded completely before the swap; a version that fails to load is logged once and the
    old model keeps serving. Returns whether a swap happened."""
    recorded = _active_recorded(state.db)
    if recorded is None:
        return False
    current = state.triage.model_version if state.triage is not None else None
    if recorded.version == current or (recorded.version, recorded.sha256) == state.failed_version:
        return False
    try:
        artifact = _load_recorded(recorded)
    except Exception as exc:  # whatever breaks loading, the old model keeps serving
        state.failed_version = (recorded.version, recorded.sha256)
        log.error("cannot load the active model %s, keeping %s: %s", recorded.version, current, exc)
        return False
    state.set_triage(make_triage(state.settings, state.directory, artifact))
    log.info("switched from model %s to %s", current, recorded.version)
    return True


# -- retraining ------------------------------------------------------------------------------

# A queued or running job older than this is taken as lost (its worker died).
RETRAIN_STALE_AFTER = timedelta(hours=2)
_retrain_start = threading.Lock()


def retrain_job_out(row: storage.RetrainJobRow) -> RetrainJobOut:
    return RetrainJobOut(
        id=row.id,
        status=row.status,
        requested_by=row.requested_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        progress=row.progress,
        report=row.report,
        error=row.error,
    )


def get_retrain_job(db: storage.Database, job_id: str) -> RetrainJobOut:
    with db.session() as session:
        row = storage.get_retrain_job(session, job_id)
        if row is None:
            raise RequestRejected(404, f"no retrain job with id {job_id!r}")
        return retrain_job_out(row)


def start_retrain(state: AppState, body: RetrainIn, by: Principal) -> RetrainJobOut:
    """Queue a retrain and run it in a background thread; one at a time."""
    with _retrain_start, state.db.session() as session:
        running = storage.unfinished_retrain_job(session, datetime.now(UTC) - RETRAIN_STALE_AFTER)
        if running is not None:
            raise RequestRejected(
                409, f"retrain job {running.id} is still {running.status}; wait for it to finish"
            )
        row = storage.add_retrain_job(session, by.name)
        job = retrain_job_out(row)
    thread = threading.Thread(
        target=run_retrain_job, args=(state, job.id, body), name=f"retrain-{job.id}", daemon=True
    )
    thread.start()
    return job


def run_retrain_job(state: AppState, job_id: str, body: RetrainIn) -> None:
    """The body of a retrain job: status, progress and report go to the retrain_jobs row.

    Whatever fails (the retrain, an import it needs, loading the promoted model in this worker)
    ends the job as failed with the reason: a job left "running" would refuse every later
    retrain with a 409 for hours."""
    db = state.db

    def progress(message: str) -> None:
        with db.session() as session:
            storage.update_retrain_job(session, job_id, progress=message)

    try:
        from training.retrain import retrain

        with db.session() as session:
            storage.update_retrain_job(
                session, job_id, status="running", started_at=datetime.now(UTC)
            )
        result = retrain(
            state.settings,
            db,
            directory=state.directory,
            classifier=body.classifier,
            cv_folds=body.folds,
            progress=progress,
        )
    except Exception as exc:
        _retrain_failed(db, job_id, f"{type(exc).__name__}: {exc}")
        return
    if result.promoted:
        try:
            state.set_triage(make_triage(state.settings, state.directory, result.artifact))
        except Exception as exc:
            _retrain_failed(
                db,
                job_id,
                f"version {result.artifact.version} was promoted, but this worker could not "
                f"load it ({type(exc).__name__}: {exc})",
            )
            return
    with db.session() as session:
        storage.update_retrain_job(
            session,
            job_id,
            status="succeeded",
            finished_at=datetime.now(UTC),
            progress="done",
            report=result.report,
        )


def _retrain_failed(db: storage.Database, job_id: str, error: str) -> None:
    log.exception("retrain job %s failed", job_id)
    with db.session() as session:
        storage.update_retrain_job(
            session, job_id, status="failed", finished_at=datetime.now(UTC), error=error
        )


# -- responses, overdue posts and response reports -------------------------------------------

# How far in the future a stated answer time may lie (clocks differ a little).
CLOCK_SKEW = timedelta(minutes=5)
# The webhook announces posts whose deadline passed at most this long ago, so turning it on
# does not replay the whole history; GET /reports/overdue still lists older ones.
NOTIFY_LOOKBACK = timedelta(days=7)
WEBHOOK_TIMEOUT_SECONDS = 10.0
CHART_LOCK = threading.Lock()  # matplotlib's pyplot is not thread-safe


def _utc(value: datetime, name: str) -> datetime:
    """`value` in UTC (`schemas.utc`); 422 when it has no UTC equivalent."""
    try:
        return utc(value)
    except ValueError as exc:
        raise RequestRejected(422, f"{name}: {exc}") from None


def response_out(row: storage.ResponseRow) -> ResponseOut:
    return ResponseOut(
        id=row.id,
        post_id=row.post_id,
        official_id=row.official_id,
        office=row.office,
        responded_at=row.responded_at,
        platform=row.platform,
        url=row.url,
        status=row.status,
        note=row.note,
        recorded_by=row.recorded_by,
        created_at=row.created_at,
    )


def case_status(statuses: Iterable[str | None]) -> str | None:
    """The status of the latest answer that gave one (answers oldest first)."""
    current = None
    for status in statuses:
        if status is not None:
            current = status
    return current


def _answerer(directory: Directory, body: ResponseIn) -> tuple[str | None, str | None]:
    """(official_id, office) of who answered, checked against the city's data files."""
    official_id, office = body.official_id or None, body.office or None
    if official_id is None and office is None:
        raise RequestRejected(
            422, "say who answered: official_id (see GET /officials) or office (an office code)"
        )
    if official_id is not None:
        official = directory.official_by_id.get(official_id)
        if official is None:
            raise RequestRejected(422, f"unknown official id {official_id!r}; see GET /officials")
        own = official.office or None
        if office is not None and office != own:
            belongs = f"belongs to office {own!r}" if own else "belongs to no office"
            raise RequestRejected(422, f"official {official_id!r} {belongs}, not {office!r}")
        return official_id, own
    if office not in directory.offices:
        raise RequestRejected(
            422, f"unknown office {office!r}; offices are: {', '.join(directory.offices)}"
        )
    return None, office


def add_response(
    db: storage.Database,
    directory: Directory,
    post_id: str,
    body: ResponseIn,
    by: Principal,
    now: datetime | None = None,
) -> ResponseOut:
    """Record an answer to a post: who (an official or an office), when, where, and the case
    status from then on. Earlier answers are kept (the case history)."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        post = storage.get_post(session, post_id)
        if post is None:
            raise RequestRejected(404, f"no post with id {post_id!r}")
        official_id, office = _answerer(directory, body)
        responded_at = now if body.responded_at is None else _utc(body.responded_at, "responded_at")
        if responded_at > now + CLOCK_SKEW:
            raise RequestRejected(
                422,
                f"responded_at {responded_at.isoformat()} is in the future (now is "
                f"{now.isoformat(timespec='seconds')})",
            )
        start = post.posted_at or post.received_at
        if responded_at < start:
            raise RequestRejected(
                422,
                f"responded_at {responded_at.isoformat()} is before the post was made "
                f"({start.isoformat()})",
            )
        row = storage.add_response(
            session,
            post,
            official_id=official_id,
            office=office,
            responded_at=responded_at,
            platform=body.platform,
            url=body.url,
            status=body.status,
            note=body.note,
            recorded_by=by.name,
            recorded_by_key_id=by.key_id,
        )
        return response_out(row)


def office_of(directory: Directory | None, official_id: str) -> str:
    """The office an official speaks for: its office code, else the official itself (a camat
    or lurah, or an id the data files do not know)."""
    official = directory.official_by_id.get(official_id) if directory is not None else None
    return official.office if official is not None and official.office else official_id


def case_obligations(
    case: storage.Case, directory: Directory | None, at: datetime
) -> list[Obligation]:
    """One answer owed per tagged official of an original post. An official has answered at
    its first answer up to `at` given by itself or by its office as a whole; a repeat owes
    nothing of its own (its first post does)."""
    if case.repeat_of is not None:
        return []
    out = []
    for official_id in case.tags:
        office = office_of(directory, official_id)
        answered_at = min(
            (
                a.responded_at
                for a in case.answers
                if a.responded_at <= at
                and (a.official_id == official_id or (a.office is not None and a.office == office))
            ),
            default=None,
        )
        out.append(
            Obligation(
                post_id=case.post_id,
                office=office,
                official=official_id,
                kecamatan=case.kecamatan or "",
                topic=case.topic or "",
                start=case.start,
                respond_by=case.respond_by,
                answered_at=answered_at,
                repeats=case.repeats,
            )
        )
    return out


def overdue_items(
    cases: Iterable[storage.Case], directory: Directory | None, at: datetime
) -> list[OverdueItemOut]:
    """The cases past their deadline at `at` with a tagged official still owing an answer, in
    the order given (storage gives the oldest deadline first)."""
    items = []
    for case in cases:
        if case.respond_by >= at:
            continue
        owing = [o for o in case_obligations(case, directory, at) if o.answered_at is None]
        if not owing:
            continue
        official_by_id = directory.official_by_id if directory is not None else {}
        items.append(
            OverdueItemOut(
                post_id=case.post_id,
                text=case.text,
                source=case.source,
                url=case.url,
                received_at=case.received_at,
                respond_by=case.respond_by,
                hours_overdue=round((at - case.respond_by).total_seconds() / 3600, 2),
                topic=case.topic,
                kecamatan=case.kecamatan,
                status=case_status(a.status for a in case.answers if a.responded_at <= at),
                owing=[
                    OwingOut(
                        official_id=o.official,
                        name=official.name if official is not None else None,
                        office=o.office,
                        handles=dict(official.handles) if official is not None else {},
                    )
                    for o in owing
                    for official in [official_by_id.get(o.official)]
                ],
                repeats=case.repeats,
            )
        )
    return items


def list_overdue(
    db: storage.Database,
    directory: Directory,
    *,
    limit: int,
    offset: int,
    at: datetime | None = None,
) -> OverdueOut:
    """Posts overdue at `at` (default now), oldest deadline first, with who still owes."""
    at = datetime.now(UTC) if at is None else _utc(at, "at")
    with db.session() as session:
        cases = storage.list_cases(session, due_before=at, originals_only=True)
    items = overdue_items(cases, directory, at)
    return OverdueOut(
        at=at, items=items[offset : offset + limit], total=len(items), limit=limit, offset=offset
    )


def send_webhook(url: str, body: bytes) -> None:
    """POST a JSON body; raises on a connection error or a status of 400 or more."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "tandai"},
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read()


def notify_overdue(
    db: storage.Database,
    directory: Directory,
    settings: Settings,
    at: datetime | None = None,
    send: Callable[[str, bytes], None] = send_webhook,
) -> int:
    """POST every newly overdue post to the webhook, once per post however many workers run:
    a worker first claims the post with a conditional UPDATE and sends only when it won. A
    failed send gives the claim back, so the next round tries again; a worker that dies between
    claim and send loses that one notice (at most once, never twice). Returns how many were
    sent."""
    url = settings.overdue_webhook_url
    if not url:
        return 0
    at = datetime.now(UTC) if at is None else at
    with db.session() as session:
        cases = storage.list_cases(
            session,
            due_before=at,
            due_since=at - NOTIFY_LOOKBACK,
            originals_only=True,
            unnotified_only=True,
        )
    sent = 0
    for item in overdue_items(cases, directory, at):
        with db.session() as session:
            if not storage.claim_overdue_notice(session, item.post_id, at):
                continue
        body = OverdueNoticeOut(post=item).model_dump_json().encode("utf-8")
        try:
            send(url, body)
        except Exception as exc:  # any failure: give the claim back and try next round
            log.warning("overdue webhook for post %s failed, will retry: %s", item.post_id, exc)
            with db.session() as session:
                storage.release_overdue_notice(session, item.post_id, at)
            continue
        sent += 1
        log.info("overdue webhook sent for post %s", item.post_id)
    return sent


@dataclass(frozen=True)
class ResponseReport:
    """The answers owed by posts received in [since, until), as they stood at `at`."""

    since: datetime | None
    until: datetime | None
    at: datetime
    window: timedelta
    obligations: list[Obligation]

    def rows(self, group_by: GroupBy) -> list[ReportRow]:
        return summarise(self.obligations, group_by, self.window, self.at)


def response_report(
    db: storage.Database,
    directory: Directory | None,
    settings: Settings,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    at: datetime | None = None,
) -> ResponseReport:
    since = None if since is None else _utc(since, "since")
    until = None if until is None else _utc(until, "until")
    if since is not None and until is not None and since >= until:
        raise RequestRejected(422, "since must be before until")
    at = datetime.now(UTC) if at is None else _utc(at, "at")
    received_before = at if until is None else min(until, at)  # no post from after `at`
    with db.session() as session:
        cases = storage.list_cases(session, since=since, until=received_before, originals_only=True)
    return ResponseReport(
        since=since,
        until=until,
        at=at,
        window=timedelta(hours=settings.answer_window_hours),
        obligations=[ob for case in cases for ob in case_obligations(case, directory, at)],
    )


def response_report_out(report: ResponseReport, group_by: GroupBy) -> ResponseReportOut:
    return ResponseReportOut(
        group_by=group_by,
        since=report.since,
        until=report.until,
        at=report.at,
        window_hours=report.window.total_seconds() / 3600,
        rows=[
            ResponseReportRowOut(
                group=r.group,
                count=r.count,
                answered=r.answered,
                answered_within_window=r.answered_within_window,
                share_within_window=r.share_within_window,
                median_hours=r.median_hours,
                p90_hours=r.p90_hours,
                overdue_now=r.overdue_now,
                repeats=r.repeats,
            )
            for r in report.rows(group_by)
        ],
    )
