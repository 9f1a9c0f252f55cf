"""The pipeline trained on the corpus as it stood at an earlier commit, reading the posts added
since: posts by other writers, in forms the older corpus did not hold.

    python bench/later_posts.py --since REV [--variants default "without stemming" ...]

Cross-validation scores a model on posts written together with its training posts, often
for the same boundary and by the same writer. Here the training posts are `data/labels/` at
commit REV (read with `git show`), and the test posts are the rows of `data/labels/` now whose
text the older corpus does not hold. Each variant is a row of the ablation
(`training.report.ABLATIONS`: "default (svc)", "without normalisation", "without stemming",
...); each is fitted on the older corpus and scored on the later posts (accuracy, macro-F1,
`is_complaint`) and, where `../shared/data/surabaya_keluhan_dev.csv` is present, on the real
Surabaya complaints `bench/surabaya_transfer.py` reads (accuracy, and the share taken for no
complaint). Needs git and the repository's history.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, f1_score

from api.settings import PROJECT_DIR
from model.pipeline import ClassifierName
from model.routing import NOT_A_COMPLAINT
from training.labels import LabeledData, default_label_files, read_labeled
from training.report import ABLATIONS, ConfiguredPipeline, is_complaint_accuracy
from training.train import fit_pipeline

LABELS = "data/labels"
SURABAYA = PROJECT_DIR.parent / "shared" / "data" / "surabaya_keluhan_dev.csv"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout


def labels_at(rev: str, into: Path) -> LabeledData:
    """The labeled corpus as it stood at commit `rev`."""
    for name in _git("ls-tree", "--name-only", f"{rev}:{LABELS}").split():
        if name.endswith(".csv"):
            (into / name).write_text(_git("show", f"{rev}:{LABELS}/{name}"), encoding="utf-8")
    return read_labeled(sorted(into.glob("*.csv")))


def later_posts(old: LabeledData, now: LabeledData) -> tuple[list[str], list[str]]:
    """(text, label) of the posts of `now` whose text `old` does not hold."""
    known = set(old.texts)
    pairs = [(t, y) for t, y in zip(now.texts, now.labels, strict=True) if t not in known]
    return [t for t, _ in pairs], [y for _, y in pairs]


def _score(
    name: str,
    switches: dict[str, bool],
    classifier: ClassifierName,
    old: LabeledData,
    texts: list[str],
    labels: list[str],
    surabaya: tuple[list[str], list[str]] | None,
) -> tuple[str, float, float, float, float | None, float | None]:
    pipe = ConfiguredPipeline(classifier, tuple(switches.items()))(old.labels)
    fit_pipeline(pipe, np.asarray(old.texts, dtype=object), np.asarray(old.labels, dtype=object))
    predicted = [str(p) for p in pipe.predict(texts)]
    complaint = is_complaint_accuracy(labels, predicted)
    row = (
        name,
        float(accuracy_score(labels, predicted)),
        float(f1_score(labels, predicted, average="macro")),
        float("nan") if complaint is None else complaint,
    )
    if surabaya is None:
        return (*row, None, None)
    read = [str(p) for p in pipe.predict(surabaya[0])]
    return (
        *row,
        float(accuracy_score(surabaya[1], read)),
        float(np.mean([p == NOT_A_COMPLAINT for p in read])),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", required=True, help="the commit whose corpus is trained on")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["default (svc)"],
        choices=[name for name, _, _ in ABLATIONS],
        metavar="VARIANT",
        help="ablation rows to fit (default: the shipped pipeline)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="variants fitted at once")
    args = parser.parse_args()

    now = read_labeled(default_label_files(PROJECT_DIR / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        old = labels_at(args.since, Path(tmp))
    texts, labels = later_posts(old, now)
    if not texts:
        raise SystemExit(f"no post was added to {LABELS} since {args.since}")
    surabaya = None
    if SURABAYA.is_file():
        from bench.surabaya_transfer import TOPIC_MAP, read_mapped

        surabaya = read_mapped(SURABAYA, TOPIC_MAP)
    chosen = [(n, c, s) for n, c, s in ABLATIONS if n in args.variants]
    rows = Parallel(n_jobs=args.jobs)(
        delayed(_score)(name, dict(switches), classifier, old, texts, labels, surabaya)
        for name, classifier, switches in chosen
    )
    print(
        f"trained on {len(old.texts):,} posts of {LABELS} at {args.since}; "
        f"scored on the {len(texts):,} posts added since"
        + (f" and {len(surabaya[0]):,} real Surabaya complaints" if surabaya else "")
    )
    print()
    print(
        "| variant | accuracy | macro-F1 | is_complaint "
        "| Surabaya accuracy | read as no complaint |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, acc, f1, complaint, s_acc, s_none in rows:
        tail = "| | |" if s_acc is None else f"| {s_acc:.4f} | {s_none:.1%} |"
        print(f"| {name} | {acc:.4f} | {f1:.4f} | {complaint:.4f} {tail}")
    if surabaya is None:
        print(f"\n({SURABAYA} is absent: no Surabaya columns)")


if __name__ == "__main__":
    main()
