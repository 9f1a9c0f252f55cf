"""Precision of repeat detection on hand-written pairs in bench/data/.

    python bench/repeat_report.py [--model DIR] [--threshold 0.2]

Each pair is an earlier and a later post about the same place and topic: either the same
complaint again (same=1) or a different complaint there (same=0). The later post counts as a
repeat when the cosine similarity of the model's TF-IDF features of both texts, place words
and the opening-words branch left out (`model/repeats.py`), reaches the threshold. Two sets:
`repeat_pairs_typical.csv` (re-posts, neighbours and tag storms naming the same specifics, as a
desk sees them) and `repeat_pairs.csv` (adversarial: rewordings sharing few words, look-alikes
sharing many). Without --model it uses the newest model version under TANDAI_MODEL_DIR.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from api.settings import Settings
from model.areas import Gazetteer
from model.artifact import latest_version, load_artifact
from model.fastpath import FastPath
from model.repeats import cosine_rows, place_words, without_places

DATA = Path(__file__).resolve().parent / "data"
SETS = ("repeat_pairs_typical.csv", "repeat_pairs.csv")


def main() -> None:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path)
    parser.add_argument(
        "--threshold", type=float, default=getattr(settings, "repeat_threshold", 0.2)
    )
    args = parser.parse_args()
    path = args.model or latest_version(settings.resolved_model_dir())
    if path is None:
        raise SystemExit("no model: run `tandai train` first")
    artifact = load_artifact(path)
    fast = FastPath(artifact.pipeline)
    places = place_words(Gazetteer.from_data_dir(settings.data_dir))

    def vectors(texts: list[str]) -> object:
        """The features the service compares (`Triage.similarity_features`)."""
        cleaned = [without_places(t, places) for t in fast.normalise_content(texts)]
        return fast.features(cleaned, content_only=True)

    print(f"model {artifact.version}")
    for name in SETS:
        with (DATA / name).open(encoding="utf-8", newline="") as fh:
            pairs = list(csv.DictReader(fh))
        first = vectors([p["first"] for p in pairs])
        second = vectors([p["second"] for p in pairs])
        sims = np.array(
            [cosine_rows(second[i], first[i])[0, 0] for i in range(len(pairs))]  # type: ignore[index]
        )
        same = np.array([p["same"] == "1" for p in pairs])
        print(
            f"\n{name}: {len(pairs)} pairs ({same.sum()} same, {(~same).sum()} different); "
            f"median similarity same {np.median(sims[same]):.3f}, "
            f"different {np.median(sims[~same]):.3f}"
        )
        print(f"{'threshold':>9}  {'flagged':>7}  {'precision':>9}  {'recall':>6}")
        for t in sorted({0.15, 0.2, 0.25, 0.3, 0.35, 0.4, args.threshold}):
            flagged = sims >= t
            tp = int((flagged & same).sum())
            precision = f"{tp / flagged.sum():9.3f}" if flagged.sum() else f"{'-':>9}"
            mark = "  <- setting" if t == args.threshold else ""
            print(f"{t:9.2f}  {int(flagged.sum()):7d}  {precision}  {tp / same.sum():6.3f}{mark}")


if __name__ == "__main__":
    main()
