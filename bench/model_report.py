"""The topic model on the labeled corpus, measured by stratified k-fold cross-validation.

    python bench/model_report.py [--out-dir bench/out] [--folds 5] [--jobs 2] [--grid] [--errors N]

Prints accuracy, macro-F1, is_complaint accuracy, expected calibration error (10 bins) with its
reliability table, per-class precision/recall/F1, the confusion matrix (also saved as
`confusion_matrix.png` in --out-dir, with `reliability.png`) and the ablation table: without
normalisation, without stemming, without character n-grams, and each classifier. --grid adds the
staged grid search and the settings tied at its top on two more fold seeds (about fifteen minutes
on two cores); bench/surabaya_benchmark.py --candidates breaks the tie on real complaints.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from api.settings import PROJECT_DIR
from model.text import normalise_text
from training.evaluate import EvaluationReport, format_report, score_predictions
from training.labels import default_label_files, read_labeled
from training.report import (
    ABLATIONS,
    ReliabilityBin,
    expected_calibration_error,
    format_grid,
    format_reliability,
    format_scores,
    reliability_bins,
    run_ablation,
    run_candidates,
    run_grid,
    top_confidence,
)


def _progress(msg: str) -> None:
    print(f"[report] {msg}", file=sys.stderr, flush=True)


def plot_confusion(report: EvaluationReport, path: Path) -> None:
    """Counts in each cell, shaded by the share of the true class (row)."""
    matrix = report.confusion
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    n = len(report.labels)
    size = max(5.0, 0.55 * n + 2.5)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(
                    j,
                    i,
                    str(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shares[i, j] > 0.5 else "black",
                )
    ax.set_xticks(range(n), report.labels, rotation=45, ha="right", fontsize=9)
    ax.set_yticks(range(n), report.labels, fontsize=9)
    ax.set_xlabel("predicted topic")
    ax.set_ylabel("true topic")
    ax.set_title(
        f"Cross-validated confusion matrix (accuracy {report.accuracy:.3f}, "
        f"macro-F1 {report.macro_f1:.3f})",
        fontsize=10,
    )
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true topic")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_reliability(bins: Sequence[ReliabilityBin], ece: float, path: Path) -> None:
    """Accuracy against mean confidence per bin, and how many posts fall in each bin."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.5, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    used = [b for b in bins if b.count]
    width = bins[0].upper - bins[0].lower
    top.bar(
        [b.lower for b in used],
        [b.accuracy for b in used],
        width=width,
        align="edge",
        edgecolor="black",
        color="tab:blue",
        label="accuracy",
    )
    top.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    top.plot(
        [b.confidence for b in used],
        [b.accuracy for b in used],
        "o",
        color="tab:orange",
        label="accuracy at the bin's mean confidence",
    )
    top.set_ylabel("accuracy")
    top.set_ylim(0, 1)
    top.set_title(f"Reliability (ECE {ece:.3f}, {len(bins)} bins)", fontsize=10)
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(
        [b.lower for b in bins],
        [b.count for b in bins],
        width=width,
        align="edge",
        edgecolor="black",
    )
    bottom.set_xlabel("confidence (top probability)")
    bottom.set_ylabel("posts")
    bottom.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", nargs="+", help="labeled CSV file(s); default data/labels")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="topic")
    parser.add_argument("--out-dir", default=str(PROJECT_DIR / "bench" / "out"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="fold shuffling of the report")
    parser.add_argument("--jobs", type=int, default=2, help="pipelines cross-validated at once")
    parser.add_argument("--no-ablation", action="store_true", help="only the default pipeline")
    parser.add_argument("--grid", action="store_true", help="also run the staged grid search")
    parser.add_argument("--errors", type=int, default=0, help="print N misclassified posts")
    args = parser.parse_args(argv)

    files = [Path(p) for p in args.data] if args.data else default_label_files(PROJECT_DIR / "data")
    data = read_labeled(files, args.text_column, args.label_column)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"{len(data.texts)} posts, {len(set(data.labels))} labels, {len(files)} file(s); "
        f"stratified {args.folds}-fold cross-validation (seed {args.seed})"
    )

    variants = ABLATIONS[:1] if args.no_ablation else ABLATIONS
    rows = run_ablation(
        data.texts, data.labels, variants, args.folds, args.seed, args.jobs, _progress
    )
    default = rows[0]
    cv = default.cv
    confidence, correct = top_confidence(cv)
    bins = reliability_bins(confidence, correct, 10)
    ece = expected_calibration_error(confidence, correct, 10)
    report = score_predictions(cv.y_true, cv.y_pred)

    print("\n== default pipeline ==")
    print(format_scores([default.scores], title="pipeline"))
    print()
    print(format_report(report))
    print(f"\n== reliability (top-class confidence, 10 bins): ECE {ece:.4f} ==")
    print(format_reliability(bins))
    if len(rows) > 1:
        print(f"\n== ablation ({cv.folds}-fold, same folds) ==")
        print(format_scores([r.scores for r in rows]))

    confusion_png = out_dir / "confusion_matrix.png"
    reliability_png = out_dir / "reliability.png"
    plot_confusion(report, confusion_png)
    plot_reliability(bins, ece, reliability_png)
    print(f"\nsaved {confusion_png} and {reliability_png}")

    if args.grid:
        started = time.perf_counter()
        best, grid_rows = run_grid(
            data.texts,
            data.labels,
            folds=args.folds,
            seed=args.seed + 1,
            n_jobs=args.jobs,
            progress=_progress,
        )
        print(
            f"\n== staged grid, svc, {args.folds}-fold with seed {args.seed + 1} "
            f"({time.perf_counter() - started:.0f} s) =="
        )
        print(format_grid(grid_rows, best))
        for seed in (args.seed + 1, args.seed + 2):
            print(f"\n== tied settings of the grid, {args.folds}-fold with seed {seed} ==")
            tied = run_candidates(
                data.texts, data.labels, folds=args.folds, seed=seed, n_jobs=args.jobs
            )
            print(format_scores(tied, title="setting"))

    if args.errors:
        wrong = [i for i, ok in enumerate(correct) if not ok]
        wrong.sort(key=lambda i: -confidence[i])
        print(f"\n== {min(args.errors, len(wrong))} of {len(wrong)} misclassified posts ==")
        for i in wrong[: args.errors]:
            print(
                f"\n{cv.y_true[i]} -> {cv.y_pred[i]} ({confidence[i]:.2f})\n"
                f"  {data.texts[i]}\n  = {normalise_text(data.texts[i])}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
