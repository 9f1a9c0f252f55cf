"""api/settings.py: values from the environment are checked when the settings are read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import Settings, settings_error


@pytest.mark.parametrize(("written", "level"), [("warning", "WARNING"), (" Debug ", "DEBUG")])
def test_log_level_is_read_in_any_case(
    monkeypatch: pytest.MonkeyPatch, written: str, level: str
) -> None:
    monkeypatch.setenv("TANDAI_LOG_LEVEL", written)
    assert Settings().log_level == level


def test_an_unknown_log_level_is_refused_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDAI_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError, match="log_level"):
        Settings()


def test_a_lower_case_level_starts_the_app(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from api.app import create_app

    monkeypatch.setenv("TANDAI_LOG_LEVEL", "info")
    create_app(settings.model_copy(update={"log_level": Settings().log_level}))


@pytest.mark.parametrize("hours", ["0", "-1", "1e9"])
def test_an_answer_window_without_a_date_to_answer_by_is_refused(
    monkeypatch: pytest.MonkeyPatch, hours: str
) -> None:
    # a billion hours puts every deadline past the last date there is
    monkeypatch.setenv("TANDAI_ANSWER_WINDOW_HOURS", hours)
    with pytest.raises(ValidationError, match="answer_window_hours"):
        Settings()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/tandai.db", "sqlite:///var/tandai.db"),
        (" postgresql+psycopg://u@h/db ", "postgresql+psycopg://u@h/db"),
        # as some hosts write it
        ("postgres://u:secret@h:5432/db", "postgresql://u:secret@h:5432/db"),
    ],
)
def test_database_urls_of_sqlite_and_postgresql_are_read(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("TANDAI_DATABASE_URL", url)
    assert Settings().database_url == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:secret@h/db", "mysql is not supported"),
        ("u:secret@h/db", "is not a database URL"),
    ],
)
def test_other_database_urls_are_refused_without_echoing_them(
    monkeypatch: pytest.MonkeyPatch, url: str, expected: str
) -> None:
    monkeypatch.setenv("TANDAI_DATABASE_URL", url)
    with pytest.raises(ValidationError) as raised:
        Settings()
    message = settings_error(raised.value)
    assert message.startswith("TANDAI_DATABASE_URL: ")
    assert expected in message and "sqlite:///" in message
    assert "secret" not in message


def test_every_bad_setting_is_named_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANDAI_AUTO_TAG_THRESHOLD", "2")
    monkeypatch.setenv("TANDAI_REPEAT_WINDOW_DAYS", "1e308")
    with pytest.raises(ValidationError) as raised:
        Settings()
    message = settings_error(raised.value)
    assert "\n" not in message
    assert "TANDAI_AUTO_TAG_THRESHOLD: Input should be less than or equal to 1" in message
    assert "TANDAI_REPEAT_WINDOW_DAYS: Input should be less than or equal to 365" in message


def test_the_no_complaint_review_threshold_reaches_the_tag_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.service import tag_policy

    assert tag_policy(Settings()).no_complaint_review_threshold == 0.85
    monkeypatch.setenv("TANDAI_NO_COMPLAINT_REVIEW_THRESHOLD", "0.9")
    assert tag_policy(Settings()).no_complaint_review_threshold == 0.9
    monkeypatch.setenv("TANDAI_NO_COMPLAINT_REVIEW_THRESHOLD", "1.5")
    with pytest.raises(ValidationError, match="no_complaint_review_threshold"):
        Settings()
