"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

Source = Literal["instagram", "facebook", "tiktok", "x", "other"]


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
    posted_at: AwareDatetime | datetime | None = Field(
        None, description="ISO-8601; without a timezone it is taken as UTC"
    )

    @field_validator("text")
    @classmethod
    def _text_has_content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty or only whitespace")
        return value


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


class BatchOut(BaseModel):
    results: list[ClassificationOut]


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
