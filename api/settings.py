"""The one settings object, read from TANDAI_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
    margin_threshold: float = Field(
        0.2, ge=0, le=1, description="top-2 probability margin below which a person reviews"
    )
    area_threshold: float = Field(
        0.7, ge=0, le=1, description="area confidence at which the camat and lurah are tagged"
    )
    tag_lurah: bool = Field(True, description="tag the lurah when a kelurahan is resolved")
    answer_window_hours: float = Field(
        24.0, gt=0, description="hours officials have to answer; gives respond_by"
    )
    max_batch_size: int = Field(1000, ge=1, description="most posts in one /classify/batch")
    max_text_length: int = Field(5000, ge=1, description="most characters in one post")
    n_alternatives: int = Field(3, ge=0, description="runner-up topics returned per post")

    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir.is_absolute() else Path.cwd() / self.model_dir
