"""api/settings.py: values from the environment are checked when the settings are read."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import Settings


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
