"""The pipeline on real complaints: which agency handled each of Surabaya's 2022 complaints.

    python bench/surabaya_benchmark.py [--data ../shared/data/surabaya_keluhan_dev.csv] [--jobs 2]

Reads the file as `tandai train --data FILE --label-column instansi --min-class-size 50` does
(agencies with fewer than 50 rows dropped), removes repeated texts before any split, and reports
for the shipped pipeline and for a plain baseline (TF-IDF word 1-2 grams + LinearSVC, no
normalisation, stemming or character n-grams), on the same folds:

- stratified k-fold accuracy and macro-F1, and selective accuracy: the share of posts whose
  confidence clears the lowest threshold at which routed posts are at least 95% correct, chosen
  on the out-of-fold predictions themselves;
- the same on unseen data: a stratified 20% held out, the threshold chosen on the out-of-fold
  predictions of the other 80%, the model fitted on that 80% and scored once on the 20%;
- with --unseen FILE (another file of the same kind, e.g. a later part of the same system),
  unseen data is that file instead: the model fitted on all of --data, the threshold chosen on
  its out-of-fold predictions, scored once on FILE's rows whose label the training knows and
  whose text it does not hold (both counts printed);
- with --by-date COLUMN, unseen data is the latest --test-size of --data by that column (e.g.
  `tanggal_keluhan`): trained on the earlier complaints, scored on the later ones, as --unseen.

The data lives beside the repository (`../shared/data/`) and is never copied into it; without
the file the benchmark says so and exits 0. --candidates instead cross-validates the pipeline
settings tied at the top of the default corpus's grid (training/report.py CANDIDATES) on these
posts, which is how the shipped defaults were chosen among them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd
from joblib import Parallel, delayed

from api.settings import PROJECT_DIR
from training.evaluate import (
    ROUTING_TARGET,
    Selection,
    choose_threshold,
    known_labels_only,
    score_predictions,
)
from training.labels import read_labeled
from training.report import (
    HoldoutResult,
    baseline_pipeline,
    deduplicate,
    duplicate_key,
    evaluate_holdout,
    expected_calibration_error,
    format_scores,
    holdout_split,
    run_candidates,
    top_confidence,
)
from training.train import CVResult, cross_validate, new_pipeline

T = TypeVar("T")
DEFAULT_DATA = PROJECT_DIR.parent / "shared" / "data" / "surabaya_keluhan_dev.csv"


def _progress(msg: str) -> None:
    print(f"[surabaya] {msg}", file=sys.stderr, flush=True)


def _timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def _routed(s: Selection) -> str:
    if not s.routed:
        return "nothing reaches the target"
    return f"{s.coverage:6.1%} routed at accuracy {s.accuracy:.4f} (threshold {s.threshold:.3f})"


def unseen_file(
    path: Path, args: argparse.Namespace, texts: list[str], labels: list[str]
) -> tuple[list[str], list[str]]:
    """`path`'s posts to score a model fitted on `texts`: labels it knows, texts it does not hold
    (up to case and spacing), each text once."""
    data = read_labeled([path], "text", args.label_column, None, 1, min_labels=1)
    seen = {duplicate_key(t) for t in texts}
    dedup = deduplicate(data.texts, data.labels)
    known_texts, known, unknown = known_labels_only(dedup.texts, dedup.labels, set(labels))
    keep = [(t, y) for t, y in zip(known_texts, known, strict=True) if duplicate_key(t) not in seen]
    print(
        f"{path.name}: {len(data.texts)} rows, {dedup.removed} repeated within it, "
        f"{unknown.total()} with a label training does not know, {len(known) - len(keep)} equal "
        f"to a training text: {len(keep)} unseen posts"
    )
    return [t for t, _ in keep], [y for _, y in keep]


def split_by_date(path: Path, column: str, test_size: float, out_dir: Path) -> tuple[Path, Path]:
    """`path`'s rows in date order (unreadable dates last), cut into the earlier and the latest
    `test_size`, written as two CSV files in `out_dir`."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    when = pd.to_datetime(frame[column], errors="coerce", format="mixed")
    frame = frame.iloc[when.argsort(kind="stable")]
    cut = round(len(frame) * (1 - test_size))
    earlier, later = out_dir / f"earlier_{path.name}", out_dir / f"later_{path.name}"
    frame.iloc[:cut].to_csv(earlier, index=False)
    frame.iloc[cut:].to_csv(later, index=False)
    return earlier, later


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--label-column", default="instansi")
    parser.add_argument("--min-class-size", type=int, default=50)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--target", type=float, default=ROUTING_TARGET, help="accuracy of routed posts"
    )
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument(
        "--unseen",
        help="score on this file (same columns) instead of a held-out part of --data",
    )
    parser.add_argument(
        "--by-date",
        metavar="COLUMN",
        help="score on the latest --test-size of --data by this date column",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="pipelines trained at once")
    parser.add_argument(
        "--candidates",
        action="store_true",
        help="only cross-validate the settings tied at the top of the default corpus's grid",
    )
    args = parser.parse_args(argv)

    path = Path(args.data)
    if not path.is_file():
        print(f"skipped: {path} not found (the Surabaya data sits in ../shared/data/)")
        return 0
    if args.by_date:
        if args.by_date not in pd.read_csv(path, nrows=0).columns:
            print(f"error: {path} has no column {args.by_date!r}", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as tmp:
            earlier, later = split_by_date(path, args.by_date, args.test_size, Path(tmp))
            return run(args, earlier, later)
    return run(args, path, Path(args.unseen) if args.unseen else None)


def run(args: argparse.Namespace, path: Path, unseen: Path | None) -> int:
    """The benchmark on `path`, scored on `unseen` if given, else on a held-out part of it."""
    data = read_labeled([path], "text", args.label_column, None, args.min_class_size)
    dedup = deduplicate(data.texts, data.labels)
    texts, labels = dedup.texts, dedup.labels
    print(
        f"{path.name}: {len(data.texts)} rows in {len(set(data.labels))} agencies with >= "
        f"{args.min_class_size} rows ({len(data.dropped)} smaller agencies dropped); "
        f"{dedup.removed} repeated texts removed before splitting "
        f"({dedup.conflicting} with conflicting labels, majority kept): {len(texts)} posts"
    )

    if args.candidates:
        started = time.perf_counter()
        scores = run_candidates(texts, labels, folds=args.folds, seed=args.seed, n_jobs=args.jobs)
        print(
            f"\n== settings tied on the default corpus, {args.folds}-fold on these posts "
            f"({time.perf_counter() - started:.0f} s) =="
        )
        print(format_scores(scores, title="setting"))
        return 0

    if unseen is not None:
        if not unseen.is_file():
            print(f"error: {unseen} not found", file=sys.stderr)
            return 2
        split = (texts, labels, *unseen_file(unseen, args, texts, labels))
        if not split[2]:
            print(f"error: {unseen} holds no unseen post with a known label", file=sys.stderr)
            return 2
        unseen_title = f"{len(split[2])} posts of {unseen.name}"
    else:
        split = holdout_split(texts, labels, args.test_size, args.seed)
        unseen_title = f"{len(split[2])} held-out posts ({args.test_size:.0%})"
    # new_pipeline is what `tandai train` fits; the baseline only shares the folds.
    pipelines = {"tandai pipeline": new_pipeline, "baseline": baseline_pipeline}
    cv_jobs = [
        delayed(_timed)(cross_validate, texts, labels, factory, args.folds, args.seed)
        for factory in pipelines.values()
    ]
    holdout_jobs = [
        delayed(_timed)(evaluate_holdout, *split, factory, args.folds, args.seed, args.target)
        for factory in pipelines.values()
    ]
    _progress(f"{len(cv_jobs) + len(holdout_jobs)} jobs, {args.jobs} at a time")
    started = time.perf_counter()
    done = Parallel(n_jobs=args.jobs)([*cv_jobs, *holdout_jobs])
    _progress(f"done in {time.perf_counter() - started:.0f} s")
    cv_done: list[tuple[CVResult, float]] = done[: len(cv_jobs)]
    holdout_done: list[tuple[HoldoutResult, float]] = done[len(cv_jobs) :]

    print(
        f"\n== stratified {args.folds}-fold cross-validation on {len(texts)} posts, "
        f"threshold chosen on the out-of-fold predictions =="
    )
    header = f"{'model':<16}  accuracy  macro-F1     ECE  selective accuracy at {args.target:.0%}"
    print(header)
    cvs: dict[str, CVResult] = {}
    for name, (result, seconds) in zip(pipelines, cv_done, strict=True):
        cvs[name] = result
        conf, correct = top_confidence(result)
        chosen = choose_threshold(conf, correct, args.target)
        ece = expected_calibration_error(conf, correct)
        print(
            f"{name:<16}  {result.accuracy:8.4f}  {result.macro_f1:8.4f}  {ece:6.4f}  "
            f"{_routed(chosen)}  [{seconds:.0f} s]"
        )

    print(
        f"\n== unseen data: {unseen_title}; threshold chosen on the out-of-fold predictions of "
        f"the {len(split[0])} training posts =="
    )
    print(f"{'model':<16}  accuracy  macro-F1  routed on held-out posts (threshold from training)")
    for name, (holdout, seconds) in zip(pipelines, holdout_done, strict=True):
        print(
            f"{name:<16}  {holdout.accuracy:8.4f}  {holdout.macro_f1:8.4f}  "
            f"{_routed(holdout.unseen)}  [{seconds:.0f} s]"
        )

    ours = cvs["tandai pipeline"]
    base = score_predictions(cvs["baseline"].y_true, cvs["baseline"].y_pred)
    report = score_predictions(ours.y_true, ours.y_pred)
    print("\n== per agency, cross-validated (F1 of the pipeline and of the baseline) ==")
    width = max(len(label) for label in report.labels)
    print(f"{'agency':<{width}}  support  precision  recall      F1  baseline F1")
    for i in sorted(range(len(report.labels)), key=lambda i: -report.support[i]):
        label = report.labels[i]
        print(
            f"{label:<{width}}  {report.support[i]:7d}  {report.precision[i]:9.3f}  "
            f"{report.recall[i]:6.3f}  {report.f1[i]:6.3f}  "
            f"{base.f1[base.labels.index(label)]:11.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
