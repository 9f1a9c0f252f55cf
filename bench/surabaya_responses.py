"""The response report on real timings: Surabaya's complaints and when they were answered.

    python bench/surabaya_responses.py [--data ../shared/data/surabaya_keluhan_dev.csv] [--top 15]

Loads every complaint of `surabaya_keluhan_dev.csv` into a fresh temporary SQLite database
through tandai's storage layer (`storage.add_imported_posts`): a post received at
`tanggal_keluhan`, a stored prediction whose one tag is the office in `instansi` (deadline:
received + TANDAI_ANSWER_WINDOW_HOURS), and an answer by that office at `tanggal_ditanggapi`
when there is one. Both dates are read as Surabaya time (UTC+7). A complaint whose answer is
dated before the complaint itself is left out (and counted). Then it builds the response report
the API and `tandai report` give (`service.response_report`, grouped by office) and prints:

1. the offices with the most complaints: count, answered, share answered within one day,
   median and 90th-percentile hours to the answer, still unanswered;
2. the data's own grouping (`group_hari_respon_keluhan`) next to the same buckets computed
   from the two dates, and the cross-table of the two.

The data lives beside the repository (`../shared/data/`) and is never copied into it; without
it the script says so and stops.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from api import reports, service, storage
from api.settings import PROJECT_DIR, Settings

DEFAULT_DATA = PROJECT_DIR.parent / "shared" / "data" / "surabaya_keluhan_dev.csv"
WIB = timezone(timedelta(hours=7), "WIB")
SOURCE_GROUPS = ("1 Sampai 3 Hari", "4 Sampai 7 Hari", "Lebih 7 Hari", "")
BUCKETS = ("<= 1 day", "1-3 days", "4-7 days", "> 7 days", "no answer")
CHUNK = 2000


def _when(value: str) -> datetime | None:
    value = value.strip()
    return datetime.fromisoformat(value).replace(tzinfo=WIB) if value else None


def _bucket(hours: float | None) -> str:
    if hours is None:
        return "no answer"
    if hours <= 24:
        return "<= 1 day"
    if hours <= 72:
        return "1-3 days"
    if hours <= 168:
        return "4-7 days"
    return "> 7 days"


def _imported(row: dict[str, str], window: timedelta) -> storage.ImportedPost:
    office = row["instansi"].strip()
    received = _when(row["tanggal_keluhan"])
    answered = _when(row["tanggal_ditanggapi"])
    assert received is not None
    tag = {
        "official_id": office,
        "name": office,
        "role": "opd",
        "handles": {},
        "reason": "instansi yang dicatat kota",
    }
    prediction: dict[str, Any] = {
        "model_version": "surabaya-data",
        "topic": row["topik"].strip() or "lainnya",
        "confidence": 1.0,
        "margin": 1.0,
        "alternatives": [],
        "kecamatan": row["kecamatan"].strip() or None,
        "kelurahan": row["kelurahan"].strip() or None,
        "area_confidence": 1.0,
        "area_evidence": None,
        "tags": [tag],
        "needs_review": False,
        "review_reasons": [],
        "respond_by": received + window,
    }
    responses = []
    if answered is not None:
        responses.append({"office": office, "responded_at": answered, "recorded_by": "import"})
    return storage.ImportedPost(
        post=storage.NewPost(row["text"], "other", external_id=row["id"]),
        received_at=received,
        prediction=prediction,
        responses=responses,
    )


def _short(name: str, width: int = 48) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--top", type=int, default=15, help="offices shown, most complaints first")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"skipped: {args.data} not found (the Surabaya data sits in ../shared/data/)")
        return
    with args.data.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'surabaya.db'}")
        window = timedelta(hours=settings.answer_window_hours)
        kept, before_complaint = [], 0
        for row in rows:
            received, answered = _when(row["tanggal_keluhan"]), _when(row["tanggal_ditanggapi"])
            if answered is not None and received is not None and answered < received:
                before_complaint += 1
                continue
            kept.append(row)

        db = storage.Database(settings.database_url)
        db.migrate()
        started = time.perf_counter()
        source_group: dict[str, str] = {}
        for i in range(0, len(kept), CHUNK):
            chunk = kept[i : i + CHUNK]
            with db.session() as session:
                ids = storage.add_imported_posts(session, [_imported(r, window) for r in chunk])
            for post_id, row in zip(ids, chunk, strict=True):
                source_group[post_id] = row["group_hari_respon_keluhan"].strip()
        load_seconds = time.perf_counter() - started

        started = time.perf_counter()
        report = service.response_report(db, None, settings)
        rows_by_office = report.rows("office")
        report_seconds = time.perf_counter() - started
        db.dispose()

    print(
        f"{len(rows):,} complaints in {args.data.name}; {len(kept):,} loaded "
        f"({before_complaint} left out: answer dated before the complaint) in "
        f"{load_seconds:.1f} s; report built from the database in {report_seconds:.1f} s"
    )
    print(f"{len(rows_by_office)} offices; the {args.top} with the most complaints:\n")
    shown = [dataclasses.replace(r, group=_short(r.group)) for r in rows_by_office[: args.top]]
    everything = reports.summarise(
        [dataclasses.replace(ob, office="(all offices)") for ob in report.obligations],
        "office",
        report.window,
        report.at,
    )
    print(reports.to_table([*shown, *everything], "office", report.window))
    print(
        "\n'<= 24 h' and 'share': answered within one day of the complaint; median and p90: "
        "hours to the answer, answered complaints only; 'overdue': no answer at all."
    )

    hours = {
        ob.post_id: None
        if ob.answered_at is None
        else (ob.answered_at - ob.start).total_seconds() / 3600
        for ob in report.obligations
    }
    computed = Counter(_bucket(h) for h in hours.values())
    source = Counter(source_group.values())
    in_file = Counter(row["group_hari_respon_keluhan"].strip() for row in rows)
    print(
        "\nThe data's own grouping (group_hari_respon_keluhan, every row of the file) and the "
        "same spans from the dates (the rows loaded):\n"
    )
    print(f"{'':<26}{'data grouping':>14}{'from dates':>12}")
    spans = [
        ("within 1-3 days", "1 Sampai 3 Hari", computed["<= 1 day"] + computed["1-3 days"]),
        ("  of which within 1 day", None, computed["<= 1 day"]),
        ("within 4-7 days", "4 Sampai 7 Hari", computed["4-7 days"]),
        ("after more than 7 days", "Lebih 7 Hari", computed["> 7 days"]),
        ("no group / no answer date", "", computed["no answer"]),
    ]
    for label, group, from_dates in spans:
        data = "" if group is None else f"{in_file[group]:,}"
        print(f"{label:<26}{data:>14}{from_dates:>12,}")
    print(f"{'total':<26}{sum(in_file.values()):>14,}{sum(computed.values()):>12,}")

    cross = Counter((source_group[p], _bucket(h)) for p, h in hours.items())
    names = {"": "(no group)"}
    print("\nCross-table: rows are the data's grouping, columns the spans from the dates\n")
    print(f"{'':<16}" + "".join(f"{b:>11}" for b in BUCKETS))
    for group in SOURCE_GROUPS:
        cells = "".join(f"{cross[(group, b)]:>11,}" for b in BUCKETS)
        print(f"{names.get(group, group):<16}{cells}")
    for group in ("4 Sampai 7 Hari", "Lebih 7 Hari"):
        within_day = cross[(group, "<= 1 day")]
        print(
            f"{within_day:,} of the {source[group]:,} complaints grouped '{group}' have an "
            f"answer dated within one day ({within_day / source[group]:.0%})"
        )
    print(
        "so the data's grouping does not measure the time to the answer date; tandai's report "
        "measures the first answer, from the dates."
    )


if __name__ == "__main__":
    main()
