"""The one settings object, read from TANDAI_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_EXAMPLES = "use sqlite:///var/tandai.db or postgresql+psycopg://user:password@host/db"


class Settings(BaseSettings):
    """Every field is read from the environment variable TANDAI_<FIELD NAME IN CAPITALS>."""

    model_config = SettingsConfigDict(env_prefix="TANDAI_", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite:///var/tandai.db",
        description="SQLAlchemy URL; SQLite by default, postgresql+psycopg://... for PostgreSQL",
    )
    model_dir: Path = Field(Path("var/models"), description="where model versions live")
    data_dir: Path = Field(
        PROJECT_DIR / "data", description="topics, areas, offices, officials, routing CSV files"
    )
    auto_tag_threshold: float = Field(
        0.6, ge=0, le=1, description="topic confidence at which the topic's office is tagged"
    )
    review_threshold: float = Field(
        0.7, ge=0, le=1, description="topic confidence below which a person reviews first"
    )
    no_complaint_review_threshold: float = Field(
        0.85,
        ge=0,
        le=1,
        description="confidence below which a post read as no complaint is reviewed (nobody is "
        "tagged for it, so a complaint misread so is lost unless a person looks)",
    )
    margin_threshold: float = Field(
        0.2, ge=0, le=1, description="top-2 probability margin below which a person reviews"
    )
    area_threshold: float = Field(
        0.7, ge=0, le=1, description="area confidence at which the camat and lurah are tagged"
    )
    tag_lurah: bool = Field(True, description="tag the lurah when a kelurahan is resolved")
    answer_window_hours: float = Field(
        24.0, gt=0, le=8760, description="hours officials have to answer; gives respond_by"
    )
    max_batch_size: int = Field(1000, ge=1, description="most posts in one /classify/batch")
    max_text_length: int = Field(5000, ge=1, description="most characters in one post")
    group_commit_posts: int = Field(
        500,
        ge=1,
        description="most posts from concurrent /classify requests stored in one transaction",
    )
    n_alternatives: int = Field(3, ge=0, description="runner-up topics returned per post")
    classify_requires_key: bool = Field(
        False, description="POST /classify needs an API key (any role)"
    )
    batch_requires_key: bool = Field(
        True, description="POST /classify/batch needs an API key (any role)"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated origins allowed by CORS; empty (the default) turns CORS off",
    )
    model_poll_seconds: float = Field(
        5.0,
        gt=0,
        le=86400,
        description="how often each worker checks the database for the active model",
    )
    promotion_tolerance: float = Field(
        0.005,
        ge=0,
        le=1,
        description="a retrained model is promoted unless its held-out macro-F1 is lower than "
        "the active model's by more than this",
    )
    holdout_percent: int = Field(
        20,
        ge=1,
        le=50,
        description="share of labeled posts (chosen by a hash of the text) kept out of training "
        "to compare the active and the retrained model",
    )

    max_body_bytes: int = Field(
        8_000_000,
        ge=1,
        description="largest request body in bytes (a full batch of long posts fits); larger "
        "gets 413",
    )
    rate_limit_per_minute: int = Field(
        600,
        ge=0,
        description="requests a minute per API key (per client address without one), counted "
        "in each worker process; 0 turns the limit off",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="level of tandai's JSON logs on stderr (any case)"
    )
    repeat_threshold: float = Field(
        0.2,
        ge=0,
        le=1,
        description="cosine similarity (model TF-IDF, place words and mentioned handles left out) "
        "at which a new post is a repeat of an open post with the same topic and kecamatan",
    )
    repeat_window_days: float = Field(
        7.0,
        ge=0,
        le=365,
        description="how far back open posts are compared for repeats; 0 turns it off",
    )

    overdue_webhook_url: str = Field(
        "",
        description="http(s) URL that gets a JSON POST once per post when it becomes overdue; "
        "empty (the default) turns the webhook off",
    )
    overdue_check_seconds: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="how often each worker looks for newly overdue posts to announce",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """SQLite or PostgreSQL ("postgres://", as some hosts write it, is PostgreSQL). The URL
        is never echoed: it may hold a password."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        value = value.strip()
        if value.startswith("postgres://"):
            value = "postgresql://" + value.removeprefix("postgres://")
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError(f"is not a database URL; {DATABASE_EXAMPLES}") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"{backend} is not supported; {DATABASE_EXAMPLES}")
        return value

    @field_validator("overdue_webhook_url")
    @classmethod
    def _webhook_is_http(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (or be empty to turn it off)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir.is_absolute() else Path.cwd() / self.model_dir


def settings_error(exc: ValidationError) -> str:
    """What is wrong with the environment's settings, one line: each variable and why."""
    problems = []
    for error in exc.errors():
        name = "TANDAI_" + "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)
