"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Source = Literal["instagram", "facebook", "tiktok", "x", "other"]


def utc(value: datetime) -> datetime:
    """`value` in UTC (a naive value is taken as UTC); a ValueError when it has no UTC
    equivalent (a time zone pushes it past the first or the last date there is)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is out of range") from None


# How far after its arrival a post may say it was posted (clocks and time zones differ).
POSTED_AT_SLACK = timedelta(days=1)


class PostIn(BaseModel):
    """One social-media post to classify."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description="the post as written", examples=["sampah menumpuk di Gading Cempaka"]
    )
    source: Source | None = Field(None, description="platform the post came from")
    external_id: str | None = Field(None, max_length=200, description="the platform's post id")
    author: str | None = Field(None, max_length=200)
    url: str | None = Field(None, max_length=2000)
    posted_at: datetime | None = Field(
        None, description="ISO-8601; without a timezone it is taken as UTC"
    )

    @field_validator("text", "external_id", "author", "url")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        """Text every database can store: valid Unicode without NUL (PostgreSQL refuses it)."""
        if value is None:
            return None
        for i, ch in enumerate(value):
            if "\ud800" <= ch <= "\udfff":
                raise ValueError(f"has a lone surrogate (not valid Unicode) at character {i}")
            if ch == "\x00":
                raise ValueError(f"has a NUL character at character {i}")
        return value

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty or only whitespace")
        return value

    @field_validator("posted_at")
    @classmethod
    def _posted_in_the_past(cls, value: datetime | None) -> datetime | None:
        """In UTC (a naive time taken as UTC), and not after the post arrives: a day of slack
        covers a local time sent without its offset (WIB is UTC+7), and keeps every answer
        deadline a date that exists."""
        if value is None:
            return None
        posted = utc(value)
        now = datetime.now(UTC)
        if posted > now + POSTED_AT_SLACK:
            now_text = now.isoformat(timespec="seconds")
            raise ValueError(f"{posted.isoformat()} is in the future (now is {now_text})")
        return posted


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    posts: list[PostIn] = Field(min_length=1)


class TopicAlternative(BaseModel):
    label: str
    confidence: float


class TopicOut(BaseModel):
    label: str = Field(description="a code from data/topics.csv (or the model's own labels)")
    confidence: float
    alternatives: list[TopicAlternative]


class AreaOut(BaseModel):
    kecamatan: str | None
    kelurahan: str | None
    confidence: float
    evidence: str | None


class TagOut(BaseModel):
    official_id: str
    name: str
    role: str
    handles: dict[str, str]
    reason: str


class ClassificationOut(BaseModel):
    id: str | None = Field(description="stored post id; null from the CLI without --store")
    model_version: str
    is_complaint: bool
    topic: TopicOut
    area: AreaOut
    tags: list[TagOut]
    needs_review: bool
    review_reasons: list[str] = Field(description="why a person must look first (Indonesian)")
    respond_by: datetime
    repeat_of: str | None = Field(
        None,
        description="id of the open post this one repeats (same topic, same kecamatan, similar "
        "text, last days); its officials are not tagged again",
    )
    repeat_count: int = Field(
        0, description="repeats linked so far to the post this one repeats (or to this post)"
    )


class BatchOut(BaseModel):
    results: list[ClassificationOut]


ReviewDecision = Literal["accept", "correct", "reject"]


class ReviewIn(BaseModel):
    """A person's decision on one post.

    - `accept`: the prediction is right; topic, area and tags stay as predicted (omit them).
    - `correct`: `topic` is required; `kecamatan`/`kelurahan` null mean "no area" (a kelurahan
      alone is enough: its kecamatan is filled in); `tags` null means "the officials the tag
      rules give for the corrected topic and area".
    - `reject`: not something to act on (spam, not from the city...); nobody is tagged and the
      post is left out of training.
    """

    model_config = ConfigDict(extra="forbid")

    decision: ReviewDecision
    topic: str | None = Field(None, description="a code from GET /topics")
    kecamatan: str | None = Field(None, description="a kecamatan from GET /areas")
    kelurahan: str | None = Field(None, description="a kelurahan of that kecamatan")
    tags: list[str] | None = Field(None, description="official ids from GET /officials")
    note: str = Field("", max_length=2000)

    @field_validator("topic", "kecamatan", "kelurahan", "note")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return PostIn._storable(value)


class KeyOwnerOut(BaseModel):
    """Who an API key belongs to (never the key or its hash)."""

    key_id: int
    name: str
    role: Literal["reviewer", "admin"]


class ReviewLabels(BaseModel):
    topic: str | None
    kecamatan: str | None
    kelurahan: str | None
    tags: list[str] = Field(description="official ids")


class ReviewOut(BaseModel):
    id: int
    post_id: str
    reviewer: str = Field(description="name of the API key that made the review")
    reviewer_key_id: int | None
    created_at: datetime
    decision: ReviewDecision
    before: ReviewLabels = Field(description="what the post showed before this review")
    after: ReviewLabels
    note: str


CaseStatus = Literal["diterima", "diproses", "selesai", "ditolak"]


class ResponseIn(BaseModel):
    """An answer an official or an office gave to a post.

    Name who answered with `official_id` (from GET /officials) or `office` (an office code),
    or both when they agree. `status` is the case's status from this answer on; it is kept
    with the answer, so the history of a case is the list of its answers.
    """

    model_config = ConfigDict(extra="forbid")

    official_id: str | None = Field(None, max_length=200, description="an id from GET /officials")
    office: str | None = Field(None, max_length=200, description="an office code, e.g. DLH")
    responded_at: datetime | None = Field(
        None, description="when the answer was given (ISO-8601, UTC without a zone); default now"
    )
    platform: Source | None = Field(None, description="where the answer was posted")
    url: str | None = Field(None, max_length=2000, description="link to the answer")
    status: CaseStatus | None = Field(None, description="the case's status from this answer on")
    note: str = Field("", max_length=2000)

    @field_validator("official_id", "office", "url", "note")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return PostIn._storable(value)


class ResponseOut(BaseModel):
    id: int
    post_id: str
    official_id: str | None
    office: str | None
    responded_at: datetime
    platform: str | None
    url: str | None
    status: CaseStatus | None
    note: str
    recorded_by: str = Field(description="name of the API key that recorded the answer")
    created_at: datetime


class PostOut(BaseModel):
    id: str
    text: str
    source: str | None
    external_id: str | None
    author: str | None
    url: str | None
    posted_at: datetime | None
    received_at: datetime
    prediction: ClassificationOut
    reviewed: bool = False
    reviews: list[ReviewOut] = Field(
        default_factory=list, description="every review of the post, oldest first"
    )
    responses: list[ResponseOut] = Field(
        default_factory=list, description="every answer to the post, oldest first"
    )
    status: CaseStatus | None = Field(
        None, description="the case's current status: that of the latest answer giving one"
    )


class PostListOut(BaseModel):
    items: list[PostOut]
    total: int
    limit: int
    offset: int


class QueueItemOut(BaseModel):
    id: str
    text: str
    source: str | None
    author: str | None
    url: str | None
    posted_at: datetime | None
    received_at: datetime
    prediction: ClassificationOut
    evidence_spans: list[tuple[int, int]] = Field(
        description="[start, end) character offsets in `text` of the words that named the area; "
        "empty when they cannot be found exactly"
    )


class QueueOut(BaseModel):
    items: list[QueueItemOut]
    total: int = Field(description="posts awaiting review that match the filters")
    limit: int
    offset: int


class ModelVersionOut(BaseModel):
    version: str
    path: str
    sha256: str
    active: bool = Field(description="the version the database says every worker must serve")
    serving: bool = Field(description="the version this worker is serving now")
    registered: bool = Field(description="recorded in the database (else only found on disk)")
    metrics: dict[str, Any]
    created_at: datetime | None
    promoted_at: datetime | None
    reason: str


class ActivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500, description="why (kept with the version)")


class RetrainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folds: int = Field(
        0, ge=0, le=10, description="cross-validation folds recorded in metadata (0 skips)"
    )
    classifier: Literal["svc", "logreg", "cnb"] | None = Field(
        None, description="default: the active model's classifier"
    )


class RetrainJobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress: str
    report: dict[str, Any] | None = Field(
        description="versions, held-out scores, whether and why the new version was promoted"
    )
    error: str | None


class TopicInfo(BaseModel):
    code: str
    name: str
    description: str


class KelurahanInfo(BaseModel):
    name: str
    aliases: list[str]


class KecamatanInfo(BaseModel):
    name: str
    kelurahan: list[KelurahanInfo]


class OfficialInfo(BaseModel):
    official_id: str
    name: str
    role: str
    office: str | None
    kecamatan: str | None
    kelurahan: str | None
    handles: dict[str, str]


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    status: str
    model_version: str | None


class ErrorOut(BaseModel):
    detail: str


class OwingOut(BaseModel):
    """A tagged official who has not answered yet."""

    official_id: str
    name: str | None = Field(description="from officials.csv; null for an id not in it")
    office: str
    handles: dict[str, str]


class OverdueItemOut(BaseModel):
    post_id: str
    text: str
    source: str | None
    url: str | None
    received_at: datetime
    respond_by: datetime
    hours_overdue: float
    topic: str | None
    kecamatan: str | None
    status: CaseStatus | None = Field(
        description="the case's current status, if any answer gave one"
    )
    owing: list[OwingOut] = Field(description="tagged officials with no answer yet")
    repeats: int = Field(description="later posts linked to this one as repeats")


class OverdueOut(BaseModel):
    at: datetime = Field(description="the moment the list is for")
    items: list[OverdueItemOut] = Field(description="oldest deadline first")
    total: int
    limit: int
    offset: int


class OverdueNoticeOut(BaseModel):
    """The JSON body POSTed to TANDAI_OVERDUE_WEBHOOK_URL, once per post."""

    event: Literal["post.overdue"] = "post.overdue"
    post: OverdueItemOut


ReportGroupBy = Literal["office", "official", "kecamatan", "topic"]


class ResponseReportRowOut(BaseModel):
    group: str
    count: int = Field(description="answers owed: one per post and tagged official")
    answered: int
    answered_within_window: int
    share_within_window: float
    median_hours: float | None
    p90_hours: float | None
    overdue_now: int
    repeats: int = Field(description="repeat posts linked to the posts of this group")


class ResponseReportOut(BaseModel):
    group_by: ReportGroupBy
    since: datetime | None
    until: datetime | None
    at: datetime = Field(description="'now' of the report: answers after it are not counted")
    window_hours: float
    rows: list[ResponseReportRowOut] = Field(description="largest count first")
