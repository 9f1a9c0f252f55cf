"""`tandai report`: the response report as a table (or CSV) in the terminal, on both backends."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api import service, storage
from api.auth import Principal
from api.schemas import ResponseIn
from model.routing import Directory
from tests.conftest import DATA_DIR
from training.cli import main

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _post(session: Any, tags: list[str], received_at: datetime) -> str:
    prediction: dict[str, Any] = {
        "model_version": "v-test",
        "topic": "sampah",
        "confidence": 0.9,
        "margin": 0.8,
        "alternatives": [],
        "kecamatan": "Selebar",
        "kelurahan": None,
        "area_confidence": 0.9,
        "area_evidence": None,
        "tags": [
            {"official_id": t, "name": t, "role": "opd", "handles": {}, "reason": "r"} for t in tags
        ],
        "needs_review": False,
        "review_reasons": [],
        "respond_by": received_at + 24 * H,
    }
    (row,) = storage.add_classified_posts(
        session, [storage.NewPost("sampah menumpuk")], [prediction], received_at
    )
    return row.id


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    """Three posts of 2 November (DLH answers after 2 h and 30 h; PUPR never) and one of
    5 November, in the database the command reads."""
    monkeypatch.setenv("TANDAI_DATABASE_URL", database_url)
    monkeypatch.setenv("TANDAI_DATA_DIR", str(DATA_DIR))
    db = storage.Database(database_url)
    db.migrate()
    directory = Directory.from_dir(DATA_DIR)
    with db.session() as session:
        key = storage.add_api_key(session, "desk", "reviewer", "d" * 64)
        desk = Principal(key.id, key.name, key.role)
        quick = _post(session, ["dlh"], T0)
        slow = _post(session, ["dlh"], T0 + H)
        _post(session, ["pupr"], T0 + 2 * H)
        _post(session, ["dlh"], T0 + 3 * 24 * H)
    for post_id, hours in ((quick, 2), (slow, 31)):
        body = ResponseIn(office="DLH", responded_at=T0 + hours * H)
        service.add_response(db, directory, post_id, body, desk, now=T0 + 30 * 24 * H)
    db.dispose()
    return database_url


def test_report_prints_the_table_for_the_period(
    stored: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--since", "2026-11-02", "--until", "2026-11-03", "--at", "2026-11-10"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "office", "count", "answered", "<=", "24", "h", "share", "median", "h", "p90", "h",
        "overdue", "repeats",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows == {
        "DLH": ["2", "2", "1", "50.0%", "16.0", "27.2", "0", "0"],
        "PUPR": ["1", "0", "0", "0.0%", "-", "-", "1", "0"],
    }


def test_report_by_official_as_csv_and_at_an_earlier_moment(
    stored: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--group-by", "official", "--format", "csv", "--at", "2026-11-03T12:00"]
    assert main(args) == 0
    rows = {r["group"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert set(rows) == {"dlh", "pupr"}
    # the 31-hour answer came after that moment, and the 5 November post did not exist yet
    assert (rows["dlh"]["count"], rows["dlh"]["answered"], rows["dlh"]["overdue_now"]) == (
        "2",
        "1",
        "1",
    )


def test_report_of_an_empty_period_says_so(stored: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--since", "2025-01-01", "--until", "2025-02-01"]) == 0
    assert capsys.readouterr().out.strip() == "no answers owed by posts received in that period"


def test_bad_report_arguments_exit_2_with_one_line(
    stored: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--since", "2026-11-03", "--until", "2026-11-02"]) == 2
    assert capsys.readouterr().err.strip() == "tandai: error: --since must be before --until"
    with pytest.raises(SystemExit) as exc:
        main(["report", "--since", "kemarin"])
    assert exc.value.code == 2
    assert "'kemarin' is not an ISO-8601 date" in capsys.readouterr().err
