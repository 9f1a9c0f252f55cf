from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from api.reports import Obligation, bar_chart_svg, summarise, to_csv, to_table

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def ob(post: str, office: str, answered_h: float | None, repeats: int = 0) -> Obligation:
    return Obligation(
        post_id=post,
        office=office,
        official=office.lower(),
        kecamatan="Selebar",
        topic="sampah",
        start=T0,
        respond_by=T0 + DAY,
        answered_at=None if answered_h is None else T0 + timedelta(hours=answered_h),
        repeats=repeats,
    )


def test_summary_counts_window_median_p90_overdue() -> None:
    items = [
        ob("1", "DLH", 2),
        ob("2", "DLH", 10),
        ob("3", "DLH", 30),
        ob("4", "DLH", None, 2),
        ob("5", "PUPR", None),
    ]
    now = T0 + timedelta(hours=12)  # nothing overdue yet
    rows = summarise(items, "office", DAY, now)
    dlh = rows[0]
    assert (dlh.group, dlh.count, dlh.answered, dlh.answered_within_window) == ("DLH", 4, 3, 2)
    assert dlh.median_hours == 10
    assert abs((dlh.p90_hours or 0) - 26.0) < 1e-9  # 10 + 0.8 * (30 - 10)
    assert dlh.overdue_now == 0 and dlh.repeats == 2
    later = summarise(items, "office", DAY, T0 + timedelta(hours=25))
    assert [r.overdue_now for r in later] == [1, 1]
    assert rows[1].median_hours is None


def test_csv_table_and_chart() -> None:
    rows = summarise([ob("1", "=HYPERLINK(1)", 3), ob("2", "DLH", None)], "office", DAY, T0)
    parsed = list(csv.reader(io.StringIO(to_csv(rows))))
    assert parsed[0][:3] == ["group", "count", "answered"]
    assert {r[0] for r in parsed[1:]} == {"'=HYPERLINK(1)", "DLH"}
    table = to_table(rows, "office", DAY)
    assert "<= 24 h" in table and "DLH" in table
    svg = bar_chart_svg(rows, DAY, "Respons per OPD")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_the_chart_reads_a_camat_tagged_as_itself_by_name() -> None:
    rows = summarise([ob("1", "camat-selebar", 3), ob("2", "DLH", None)], "office", DAY, T0)
    plain = bar_chart_svg(rows, DAY, "Respons per OPD")
    named = bar_chart_svg(rows, DAY, "Respons per OPD", {"camat-selebar": "Camat Selebar"})
    # matplotlib writes each label's text in the SVG's comments
    assert "camat-selebar" in plain and "Camat Selebar" not in plain
    assert "Camat Selebar" in named and "camat-selebar" not in named
    assert "DLH" in named  # a group without a name keeps its code
