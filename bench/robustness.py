"""The model on its held-out posts written the ways residents mistype and strip them.

    python -m bench.robustness [--model DIR] [--data FILE ...] [--seed N]

Takes a model trained by `tandai train` (the newest version under TANDAI_MODEL_DIR, or
--model), the labeled posts it held out (`training.retrain.split_holdout`, with the percent its
metadata records) and the version's fit without them (`training.retrain.HOLDOUT_FIT`: the
version's own model is fitted on every post), and reads them as written and changed in one way
at a time: upper case, letters repeated, two neighbouring letters swapped or one letter dropped
in a fifth of the words of five letters or more (never the first letter), vowels dropped from
three in ten words, a seventh of the spaces removed, emoji or punctuation stripped. It prints
accuracy and `is_complaint` accuracy for each, and the change from the posts as written; then
the areas the service reads from the same changed posts (the city's `data/areas.csv`, the model's
normaliser): the kelurahan right of those that name one, the kecamatan right of those that name
one, and the posts naming none given an area. The changes are drawn from a seeded generator:
the same seed, the same posts.
"""

from __future__ import annotations

import argparse
import random
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from api.settings import PROJECT_DIR
from bench.surabaya_transfer import load_model
from model.areas import Gazetteer
from training.evaluate import complaint_accuracy
from training.labels import default_label_files, read_labeled
from training.retrain import split_holdout
from training.tag_eval import AreaTally

_VOWELS = re.compile(r"[aeiouAEIOU]")
_NOT_EMOJI = re.compile(r"[^\x00-\u2fff]")
_PUNCTUATION = re.compile(r"[^\w\s]")


def _share(right: int, named: int) -> str:
    """`right` of `named` as a column of nine, "-" where the posts name none."""
    return f"{right / named:9.4f}" if named else f"{'-':>9}"


def perturbations(seed: int) -> dict[str, Callable[[str], str]]:
    """Each way of changing a post, by name; "as written" changes nothing."""
    rng = random.Random(seed)

    def per_word(change: Callable[[str], str], share: float, shortest: int) -> Callable[[str], str]:
        def apply(text: str) -> str:
            return " ".join(
                change(w) if w.isalpha() and len(w) >= shortest and rng.random() < share else w
                for w in text.split()
            )

        return apply

    def swap(w: str) -> str:
        i = rng.randrange(1, len(w) - 1)
        return w[:i] + w[i + 1] + w[i] + w[i + 2 :]

    def drop(w: str) -> str:
        i = rng.randrange(1, len(w))
        return w[:i] + w[i + 1 :]

    def repeat(w: str) -> str:
        i = rng.randrange(len(w))
        return w[: i + 1] + w[i] * rng.randint(2, 4) + w[i + 1 :]

    def no_vowels(w: str) -> str:
        return w[0] + _VOWELS.sub("", w[1:])

    def join_some(text: str) -> str:
        out: list[str] = []
        for w in text.split():
            if out and rng.random() < 1 / 7:
                out[-1] += w
            else:
                out.append(w)
        return " ".join(out)

    return {
        "as written": lambda t: t,
        "upper case": str.upper,
        "letters repeated (3 in 10 words)": per_word(repeat, 0.3, 3),
        "two letters swapped (1 in 5 words)": per_word(swap, 0.2, 5),
        "a letter dropped (1 in 5 words)": per_word(drop, 0.2, 5),
        "vowels dropped (3 in 10 words)": per_word(no_vowels, 0.3, 5),
        "a seventh of the spaces removed": join_some,
        "emoji stripped": lambda t: _NOT_EMOJI.sub("", t),
        "punctuation stripped": lambda t: _PUNCTUATION.sub(" ", t),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, help="a model version directory")
    parser.add_argument(
        "--data", type=Path, nargs="+", help="labeled CSV files; default data/labels"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    loaded = load_model(args.model)
    if loaded is None:
        return 2
    artifact, fast = loaded
    data = read_labeled(args.data or default_label_files(PROJECT_DIR / "data"))
    holdout = artifact.metadata.get("holdout") or {}
    if holdout.get("fit"):
        # the version's own model learned every post: its fit without the held-out ones reads them
        loaded = load_model(artifact.path / holdout["fit"])
        assert loaded is not None
        artifact, fast = loaded
    if holdout.get("percent"):
        _, held = split_holdout(data.texts, data.labels, int(holdout["percent"]))
        fit = " (the version's fit without them)" if holdout.get("fit") else ""
        what = f"the {len(held)} posts it held out ({holdout['percent']}%){fit}"
    else:
        held = list(range(len(data.texts)))
        what = f"all {len(held)} posts (it records no held-out part: it may have seen them)"
    texts = [data.texts[i] for i in held]
    truth = np.array([data.labels[i] for i in held])
    places = [(data.kecamatan[i], data.kelurahan[i]) for i in held]
    labels = np.array([str(c) for c in fast.classes_])
    gazetteer = Gazetteer.from_data_dir(PROJECT_DIR / "data")

    print(f"model {artifact.version} on {what}; seed {args.seed}\n")
    print(
        f"{'posts':<36} {'accuracy':>8} {'change':>7}  {'is_complaint':>12} {'change':>7}  "
        f"{'kelurahan':>9} {'kecamatan':>9} {'false area':>10}"
    )
    base: tuple[float, float] | None = None
    for name, change in perturbations(args.seed).items():
        changed = [change(t) for t in texts]
        pred = labels[fast.predict_proba(changed).argmax(axis=1)]
        accuracy = float(np.mean(pred == truth))
        gate = complaint_accuracy(truth, pred)
        base = base or (accuracy, gate)
        tally = AreaTally()
        for clauses, want in zip(fast.normalise_clauses(changed), places, strict=True):
            match = gazetteer.resolve(clauses)
            tally.count(want, (match.kecamatan or "", match.kelurahan or ""))
        print(
            f"{name:<36} {accuracy:8.4f} {accuracy - base[0]:+7.4f}  {gate:12.4f} "
            f"{gate - base[1]:+7.4f}  {_share(tally.kelurahan_right, tally.kelurahan_named)} "
            f"{_share(tally.kecamatan_right, tally.kecamatan_named)} {tally.area_where_none:10d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
