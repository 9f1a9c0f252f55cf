"""Response-time reports: who answered, how fast, who is late (pure computation and rendering).

Input is one `Obligation` per (post, office or official that owes an answer); storage builds
them, this module groups and summarises them as tables, CSV and a bar chart.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

GroupBy = Literal["office", "official", "kecamatan", "topic"]
GROUP_BY: tuple[GroupBy, ...] = ("office", "official", "kecamatan", "topic")


@dataclass(frozen=True)
class Obligation:
    """One answer owed: by `official` (of `office`) for a post received at `start`."""

    post_id: str
    office: str
    official: str
    kecamatan: str
    topic: str
    start: datetime
    respond_by: datetime
    answered_at: datetime | None
    repeats: int = 0


@dataclass(frozen=True)
class ReportRow:
    group: str
    count: int
    answered: int
    answered_within_window: int
    median_hours: float | None
    p90_hours: float | None
    overdue_now: int
    repeats: int

    @property
    def share_within_window(self) -> float:
        return self.answered_within_window / self.count if self.count else 0.0


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (same as numpy's default) or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarise(
    obligations: Iterable[Obligation],
    group_by: GroupBy,
    window: timedelta,
    now: datetime,
) -> list[ReportRow]:
    """Rows sorted by count, largest first."""
    groups: dict[str, list[Obligation]] = {}
    for ob in obligations:
        key = getattr(ob, group_by) or "(tanpa)"
        groups.setdefault(key, []).append(ob)
    rows = []
    for key, items in groups.items():
        hours = [
            (ob.answered_at - ob.start).total_seconds() / 3600
            for ob in items
            if ob.answered_at is not None
        ]
        rows.append(
            ReportRow(
                group=key,
                count=len(items),
                answered=len(hours),
                answered_within_window=sum(
                    1
                    for ob in items
                    if ob.answered_at is not None and ob.answered_at - ob.start <= window
                ),
                median_hours=statistics.median(hours) if hours else None,
                p90_hours=_percentile(hours, 0.9),
                overdue_now=sum(
                    1 for ob in items if ob.answered_at is None and ob.respond_by < now
                ),
                repeats=sum(ob.repeats for ob in items),
            )
        )
    rows.sort(key=lambda r: (-r.count, r.group))
    return rows


COLUMNS = (
    "group",
    "count",
    "answered",
    "answered_within_window",
    "share_within_window",
    "median_hours",
    "p90_hours",
    "overdue_now",
    "repeats",
)


def _cells(row: ReportRow) -> list[str]:
    def num(v: float | None) -> str:
        return "" if v is None else f"{v:.1f}"

    return [
        row.group,
        str(row.count),
        str(row.answered),
        str(row.answered_within_window),
        f"{row.share_within_window:.3f}",
        num(row.median_hours),
        num(row.p90_hours),
        str(row.overdue_now),
        str(row.repeats),
    ]


def to_csv(rows: Sequence[ReportRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        cells = _cells(row)
        # group names come from data and posts: never let a spreadsheet run them
        if cells[0][:1] in ("=", "+", "-", "@", "\t", "\r"):
            cells[0] = "'" + cells[0]
        writer.writerow(cells)
    return out.getvalue()


def to_table(rows: Sequence[ReportRow], group_by: str, window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    width = max([len(group_by), *(len(r.group) for r in rows)])
    head = (
        f"{group_by:<{width}}  {'count':>6}  {'answered':>8}  {f'<= {hours:g} h':>9}  "
        f"{'share':>6}  {'median h':>8}  {'p90 h':>7}  {'overdue':>7}  {'repeats':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        med = "-" if r.median_hours is None else f"{r.median_hours:.1f}"
        p90 = "-" if r.p90_hours is None else f"{r.p90_hours:.1f}"
        lines.append(
            f"{r.group:<{width}}  {r.count:>6}  {r.answered:>8}  {r.answered_within_window:>9}  "
            f"{r.share_within_window:>6.1%}  {med:>8}  {p90:>7}  {r.overdue_now:>7}  "
            f"{r.repeats:>7}"
        )
    return "\n".join(lines)


def bar_chart_svg(
    rows: Sequence[ReportRow],
    window: timedelta,
    title: str,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Horizontal bars: share answered within the window per group, rendered server-side;
    each group read by `labels` where it has one ("Camat Gading Cempaka" for
    "camat-gading-cempaka")."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = list(rows)[:25]
    hours = window.total_seconds() / 3600
    height = max(2.0, 0.38 * len(shown) + 1.2)
    fig, ax = plt.subplots(figsize=(8.5, height))
    names = [(labels or {}).get(r.group, r.group) for r in shown]
    ticks = [n if len(n) <= 45 else n[:44] + "…" for n in names]
    shares = [100 * r.share_within_window for r in shown]
    colours = ["#2e7d32" if s >= 80 else "#f9a825" if s >= 50 else "#c62828" for s in shares]
    ax.barh(range(len(shown)), shares, color=colours)
    ax.set_yticks(range(len(shown)), ticks, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% dijawab dalam {hours:g} jam")
    ax.set_title(title, fontsize=10)
    for i, (share, row) in enumerate(zip(shares, shown, strict=True)):
        ax.text(min(share + 1, 88), i, f"{share:.0f}% dari {row.count}", va="center", fontsize=7)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg")
    plt.close(fig)
    return out.getvalue()
