"""Every probe in bench/data read by a model the way the service reads a post.

    python -m bench.probes [--model VERSION_DIR] [--show-errors] [FILE ...]

A probe is a file of posts written apart from the corpus and kept out of it (bench/MODEL.md
says who wrote each and for what; tests/training/test_label_files.py checks that no corpus post
copies or paraphrases one). For each file, one row: posts; topic accuracy; `is_complaint`
accuracy; complaints read as no complaint and non-complaints read as one; wrong topics the
service would have let through without review (`needs_review` false), the misreadings that
cost most; kelurahan and kecamatan read right where the columns name one; an area given where
they name none. The model is the one `tandai classify` uses (the active version, else the
newest), or `--model`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from api.settings import PROJECT_DIR, Settings
from model.routing import NOT_A_COMPLAINT
from model.triage import Classification
from training.labels import LabeledData, read_labeled
from training.tag_eval import AreaTally

PROBE_DIR = PROJECT_DIR / "bench" / "data"


def probe_files(directory: Path = PROBE_DIR) -> list[Path]:
    return sorted(directory.glob("*_probe.csv"))


@dataclass
class ProbeScore(AreaTally):
    """One probe's row: its topic counts, and its areas as `AreaTally` counts them."""

    name: str
    posts: int = 0
    topic_right: int = 0
    complaint_right: int = 0
    complaints_as_none: int = 0
    none_as_complaints: int = 0
    wrong_unreviewed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: ProbeScore) -> None:
        for name in self.__dataclass_fields__:
            if name not in ("name", "errors"):
                setattr(self, name, getattr(self, name) + getattr(other, name))


def score_probe(name: str, data: LabeledData, results: Sequence[Classification]) -> ProbeScore:
    """The row of one probe: its labeled posts against what the service made of them."""
    score = ProbeScore(name, posts=len(results))
    rows = zip(data.texts, data.labels, data.kecamatan, data.kelurahan, results, strict=True)
    for text, label, kecamatan, kelurahan, result in rows:
        got = result.topic.label
        score.topic_right += got == label
        truly, read = label != NOT_A_COMPLAINT, got != NOT_A_COMPLAINT
        score.complaint_right += truly == read
        score.complaints_as_none += truly and not read
        score.none_as_complaints += read and not truly
        score.wrong_unreviewed += got != label and not result.needs_review
        area = (result.area.kecamatan or "", result.area.kelurahan or "")
        score.count((kecamatan, kelurahan), area)
        if got != label or area != (kecamatan, kelurahan):
            review = "reviewed" if result.needs_review else "NOT reviewed"
            score.errors.append(
                f"{label} -> {got} ({result.topic.confidence:.2f}, {review}); "
                f"area {(kecamatan, kelurahan)} -> {area}\n  {text}"
            )
    return score


def _share(hits: int, total: int) -> str:
    return f"{hits / total:.3f}" if total else "-"


def _of(hits: int, total: int) -> str:
    return f"{hits} / {total}" if total else "-"


def format_table(scores: Sequence[ProbeScore]) -> str:
    lines = [
        "| probe | posts | accuracy | `is_complaint` | complaints read as none "
        "| non-complaints read as complaints | wrong, not reviewed | kelurahan | kecamatan "
        "| area where none named |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in scores:
        lines.append(
            f"| {s.name} | {s.posts} | {_share(s.topic_right, s.posts)} "
            f"| {_share(s.complaint_right, s.posts)} | {s.complaints_as_none} "
            f"| {s.none_as_complaints} | {s.wrong_unreviewed} "
            f"| {_of(s.kelurahan_right, s.kelurahan_named)} "
            f"| {_of(s.kecamatan_right, s.kecamatan_named)} "
            f"| {_of(s.area_where_none, s.none_named)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    from training.cli import CLIError, _triage

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="probe files (default: all)")
    parser.add_argument("--model", type=Path, help="a model version directory")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings()
    try:
        triage = _triage(settings, args.model)
    except CLIError as exc:
        raise SystemExit(f"probes: {exc}") from None
    files = args.files or probe_files()
    scores = []
    for path in files:
        data = read_labeled([path], min_labels=1)
        scores.append(score_probe(path.stem, data, triage.classify(data.texts)))
    total = ProbeScore("all")
    for s in scores:
        total.add(s)
    print(f"model {triage.model_version}; {total.posts} posts in {len(files)} probe(s)\n")
    print(format_table([*scores, total] if len(scores) > 1 else scores))
    if args.show_errors:
        for s in scores:
            if s.errors:
                print(f"\n== {s.name} ==")
                print("\n".join(s.errors))


if __name__ == "__main__":
    main()
