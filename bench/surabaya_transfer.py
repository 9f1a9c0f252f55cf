"""The shipped model, trained on Kota Bengkulu's corpus, reading real complaints from another city.

    python bench/surabaya_transfer.py [--model DIR] [--data ../shared/data/surabaya_keluhan_dev.csv]

`bench/surabaya_benchmark.py` trains the pipeline on Surabaya's own labels. This script instead
takes a model trained on `data/labels/` (the newest version under TANDAI_MODEL_DIR, or --model)
and classifies the Surabaya complaints whose fine topic (`topik`) maps without doubt onto one of
tandai's topics (`bench/data/surabaya_topic_map.csv`: roads, street lights, PDAM, drains,
waste, civil registry, social aid, health, schools, parking, street vendors, kelurahan staff;
the 4,504 rows of 34 `topik` values; topics such as tree pruning, housing or "other" are left
out). Repeated texts count once (`training.report.deduplicate`, as in the benchmark). It prints:

- accuracy and macro-F1 on the mapped topics, and how many complaints the model took for no
  complaint (`bukan_keluhan`) or for `lainnya`;
- the share whose predicted topic tags the same office(s) as the true one, by this city's
  routing (`data/routing.csv`: roads and drains both go to the public works office, street
  lights and traffic both to the transport office): what the officials tagged would feel;
- the share of posts at or above a confidence and their accuracy (how many a desk could let
  through without review);
- each topic's recall and where its misses went.

These are real complaints written to a city's complaint channel, often formal and long, in
another city's words (Javanese and Suroboyoan, Surabaya's place and office names): a test of
how the model reads complaint text it was not written for. The data lives beside the
repository and is never copied into it; without it the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sklearn.metrics import f1_score

from api.settings import PROJECT_DIR, Settings
from model.artifact import ModelArtifact, latest_version, load_artifact
from model.fastpath import FastPath
from model.routing import NOT_A_COMPLAINT, Directory
from training.report import deduplicate

DEFAULT_DATA = PROJECT_DIR.parent / "shared" / "data" / "surabaya_keluhan_dev.csv"
TOPIC_MAP = Path(__file__).resolve().parent / "data" / "surabaya_topic_map.csv"
CONFIDENCES = (0.5, 0.7, 0.8, 0.9)
# Bands of post length in words: real complaints are often a few words long ("got mampet").
LONGEST = 10**6
LENGTHS = [(1, 3), (4, 6), (7, 10), (11, 20), (21, LONGEST)]


def load_model(path: Path | None) -> tuple[ModelArtifact, FastPath] | None:
    """The model at `path`, else the newest under TANDAI_MODEL_DIR, with its fast path; None
    (having said so) when there is none."""
    path = path or latest_version(Settings().resolved_model_dir())
    if path is None:
        print("no model: run `tandai train` first", file=sys.stderr)
        return None
    artifact = load_artifact(path)
    return artifact, FastPath(artifact.pipeline)


def read_mapped(data: Path, mapping: Path) -> tuple[list[str], list[str]]:
    """(text, tandai topic) of every distinct text whose `topik` the mapping names.

    Repeats are removed as `bench/surabaya_benchmark.py` removes them (`deduplicate`: equal up
    to case, spacing and literal "\\n"; the majority topic kept); literal "\\n" is a line break.
    """
    with mapping.open(encoding="utf-8", newline="") as fh:
        topic_of = {row["topik"]: row["topic"] for row in csv.DictReader(fh)}
    texts: list[str] = []
    topics: list[str] = []
    with data.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            topic = topic_of.get(row["topik"])
            if topic is not None and row["text"].strip():
                texts.append(row["text"].strip())
                topics.append(topic)
    distinct = deduplicate(texts, topics)
    return [t.replace("\\n", "\n") for t in distinct.texts], distinct.labels


def same_offices(
    predicted: list[str], truth: list[str], routing: dict[str, list[str]]
) -> np.ndarray:
    """Per post, whether the predicted topic is routed to the same office(s) as the true one
    (a topic routed nowhere, no complaint among them, matches nothing)."""
    return np.array(
        [
            bool(routing.get(t)) and set(routing.get(p, [])) == set(routing[t])
            for p, t in zip(predicted, truth, strict=True)
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--model", type=Path, help="a model version directory")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not data.is_file():
        print(f"skipped: {data} not found (the Surabaya data sits in ../shared/data/)")
        return 0
    loaded = load_model(args.model)
    if loaded is None:
        return 2
    artifact, fast = loaded
    texts, truth = read_mapped(data, TOPIC_MAP)
    proba = fast.predict_proba(texts)
    labels = [str(c) for c in fast.classes_]
    pred = [labels[i] for i in proba.argmax(axis=1)]
    confidence = proba.max(axis=1)
    right = np.array([p == t for p, t in zip(pred, truth, strict=True)])
    present = sorted(set(truth))

    print(f"model {artifact.version}; {len(texts)} distinct Surabaya complaints in {len(present)}")
    print(f"mapped topics ({data.name}, {TOPIC_MAP.name})\n")
    print(f"accuracy  {right.mean():.4f}")
    macro = f1_score(truth, pred, labels=present, average="macro", zero_division=0)
    print(f"macro-F1  {macro:.4f} (over the {len(present)} topics present)")
    counts = Counter(pred)
    for label in (NOT_A_COMPLAINT, "lainnya"):
        print(f"read as {label:<14} {counts[label]:5d} ({counts[label] / len(pred):.1%})")
    routing = Directory.from_dir(Settings().data_dir).routing
    offices = same_offices(pred, truth, routing)
    print(f"the same office(s) tagged as for the true topic  {offices.mean():.4f}")
    print("\nconfidence >=  share of posts  accuracy there")
    for c in CONFIDENCES:
        routed = confidence >= c
        acc = f"{right[routed].mean():.4f}" if routed.any() else "-"
        print(f"{c:13.1f}  {routed.mean():14.1%}  {acc:>14}")
    words = np.array([len(t.split()) for t in texts])
    not_complaint = np.array([p == NOT_A_COMPLAINT for p in pred])
    print("\nwords in the post  posts  accuracy  read as no complaint")
    for lo, hi in LENGTHS:
        band = (words >= lo) & (words <= hi)
        if band.any():
            name = f"{lo}-{hi}" if hi < LONGEST else f"{lo} or more"
            share = not_complaint[band].mean()
            print(f"{name:>17}  {band.sum():5d}  {right[band].mean():8.4f}  {share:19.1%}")
    posts = Counter(truth)
    hits: Counter[str] = Counter()
    misses: dict[str, Counter[str]] = defaultdict(Counter)
    for p, t in zip(pred, truth, strict=True):
        if p == t:
            hits[t] += 1
        else:
            misses[t][p] += 1
    print(f"\n{'topic':<17} {'posts':>5} {'recall':>7}  most frequent misreadings")
    for topic in present:
        worst = ", ".join(f"{k} {v}" for k, v in misses[topic].most_common(3))
        print(f"{topic:<17} {posts[topic]:5d} {hits[topic] / posts[topic]:7.3f}  {worst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
