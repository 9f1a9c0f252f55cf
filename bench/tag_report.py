"""Tag precision and recall on the labeled corpus from cross-validated predictions.

    python bench/tag_report.py [--folds 5]

For each post the topic probabilities come from a model that never saw it (stratified k-fold),
the area from the resolver, and the tags from `decide_tags` at the default thresholds (or the
TANDAI_* settings in the environment). Gold tags: the topic's offices, the labeled kecamatan's
camat and kelurahan's lurah.
"""

from __future__ import annotations

import argparse
import time

from api.app import tag_policy
from api.settings import Settings
from model.routing import Directory
from training.labels import default_label_files, read_labeled
from training.tag_eval import score_tags
from training.train import cross_validate, new_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    directory = Directory.from_dir(settings.data_dir)
    data = read_labeled(default_label_files(settings.data_dir))
    started = time.perf_counter()
    cv = cross_validate(data.texts, data.labels, new_pipeline, args.folds)
    policy = tag_policy(settings)
    s = score_tags(
        data.texts,
        data.labels,
        data.kecamatan,
        data.kelurahan,
        cv.proba,
        cv.classes,
        directory,
        policy,
    )
    print(f"{len(data.texts)} posts, {cv.folds}-fold CV in {time.perf_counter() - started:.0f} s")
    print(
        f"thresholds: auto-tag {policy.auto_tag_threshold}, review {policy.review_threshold} "
        f"(no complaint {policy.no_complaint_review_threshold}), "
        f"margin {policy.margin_threshold}, area {policy.area_threshold}, "
        f"lurah {policy.tag_lurah}"
    )
    print(f"topic accuracy                 {cv.accuracy:.4f}")
    print(f"tag precision (all posts)      {s.precision:.4f}  ({s.correct}/{s.predicted})")
    print(f"tag recall (all posts)         {s.recall:.4f}  ({s.correct}/{s.gold})")
    print(f"posts tagged without review    {s.auto_share:.4f}  ({s.auto_posts}/{s.posts})")
    print(
        f"tag precision without review   {s.auto_precision:.4f}  "
        f"({s.auto_correct}/{s.auto_predicted})"
    )
    print(f"tag recall without review      {s.auto_recall:.4f}  ({s.auto_correct}/{s.auto_gold})")
    print(f"wrong camat tags on complaints {s.wrong_camat}")


if __name__ == "__main__":
    main()
