"""Training time and peak memory for 1,000, 10,000 and 100,000 posts, each in a child process.

    python bench/train_time.py [--sizes 1000 10000 100000] [--classifier svc] [--jobs N]
                               [--timeout S]

The posts are drawn with replacement from the labeled corpus (for timing only: a real corpus of
that size has far more distinct words). Each size is trained by a fresh child process (the
default pipeline, as `tandai train --folds 0` fits it), which reports the seconds spent in each
stage and its own peak resident memory:

- normalise: `TextNormaliser.fit_transform`;
- features: the stemmer, the word and the character TF-IDF (`FeatureUnion.fit_transform`);
- classifier: the calibrated classifier, i.e. one linear fit per calibration fold plus the final
  fit, or from 50,000 posts on one fit and the temperature on a held-out split
  (`training.train.calibration_split`).

As `tandai train` does (`training.train.fit_pipeline`), the stages run under joblib's
`parallel_config(backend="loky", n_jobs=training_jobs(size))`: worker processes for the
feature branches and the calibration folds from 20,000 posts on; --jobs N sets N instead.
Peak RSS is the child's own (VmHWM) and, apart, the largest worker's (as the kernel reports it,
which also counts the child's pages when the worker was started). --profile prints the child's 25
costliest functions; --timeout S gives up on a size after S seconds (its row then says so).
Rows print as they finish.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_POSTS = 100_000
TARGET_SECONDS = 60


def child(size: int, classifier: str, jobs: int | None, seed: int, profile: bool) -> None:
    """Train on `size` resampled posts and print one JSON line of timings."""
    import numpy as np
    from joblib import parallel_config
    from joblib.externals.loky import get_reusable_executor

    from api.settings import PROJECT_DIR
    from model.gate import ComplaintGate
    from training.labels import default_label_files, read_labeled
    from training.train import calibration_split, linear_fits, new_pipeline, training_jobs

    data = read_labeled(default_label_files(PROJECT_DIR / "data"))
    rng = random.Random(seed)
    picked = [rng.randrange(len(data.texts)) for _ in range(size)]
    X = np.asarray([data.texts[i] for i in picked], dtype=object)
    y = np.asarray([data.labels[i] for i in picked], dtype=object)
    labels = [str(v) for v in y]
    pipeline = new_pipeline(labels, classifier)  # type: ignore[arg-type]
    normalise, features, classify = (step for _, step in pipeline.steps)
    seconds: dict[str, float] = {}
    jobs = training_jobs(size) if jobs is None else jobs

    def fit() -> None:
        with parallel_config(backend="loky", n_jobs=jobs):
            started = time.perf_counter()
            Xn = normalise.fit_transform(X, y)
            seconds["normalise"] = time.perf_counter() - started
            started = time.perf_counter()
            Xf = features.fit_transform(Xn, y)
            seconds["features"] = time.perf_counter() - started
            started = time.perf_counter()
            classify.fit(Xf, y)
            seconds["classifier"] = time.perf_counter() - started
            seconds["n_features"] = float(Xf.shape[1])

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(fit)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    else:
        fit()
    peak_mb = _own_peak_mb()
    get_reusable_executor().shutdown(wait=True)  # the workers end and count as children
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    fits = linear_fits(calibration_split(labels)) if classifier != "logreg" else 1
    if isinstance(classify, ComplaintGate):  # the gate's linear fits and the topic model's
        fits *= 2
    print(
        json.dumps(
            {
                "size": size,
                "peak_mb": peak_mb,
                "worker_mb": worker_mb,
                "fits": fits,
                "jobs": jobs,
                **seconds,
            }
        )
    )


def _own_peak_mb() -> float:
    """This process's peak resident memory since it started running this program: VmHWM
    belongs to the address space `exec` made, while `getrusage`'s peak also counts the pages of
    the process that started it (the bench's parent) at `exec`."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--classifier", choices=["svc", "logreg", "cnb"], default="svc")
    parser.add_argument(
        "--jobs", type=int, help="worker processes (default: as `tandai train` chooses)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="profile each child")
    parser.add_argument("--timeout", type=float, help="give up on a size after this many seconds")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.classifier, args.jobs, args.seed, args.profile)
        return

    jobs = "as `tandai train` chooses" if args.jobs is None else str(args.jobs)
    print(f"classifier {args.classifier}, worker processes: {jobs}, {os.cpu_count()} CPUs")
    print()
    print(
        "| posts | normalise s | features s | classifier s (fits, processes) | fit total s | "
        "child wall s | peak RSS MB (largest worker) | target |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |", flush=True)
    for size in args.sizes:
        print(f"[bench] training on {size:,} posts in a child process", file=sys.stderr, flush=True)
        command = [sys.executable, __file__, "--child", str(size), "--classifier", args.classifier]
        command += ["--seed", str(args.seed)]
        if args.jobs is not None:
            command += ["--jobs", str(args.jobs)]
        if args.profile:
            command.append("--profile")
        target = f"<= {TARGET_SECONDS} s" if size == TARGET_POSTS else ""
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command, check=True, stdout=subprocess.PIPE, text=True, timeout=args.timeout
            )
        except subprocess.TimeoutExpired:
            print(f"| {size:,} | | | | not done in {args.timeout:,.0f} s | | | {target} |")
            continue
        except subprocess.CalledProcessError as exc:
            print(f"| {size:,} | | | | child failed ({exc.returncode}) | | | {target} |")
            continue
        wall = time.perf_counter() - started
        r = json.loads(done.stdout.strip().splitlines()[-1])
        total = r["normalise"] + r["features"] + r["classifier"]
        worker = f" ({r['worker_mb']:,.0f})" if r["jobs"] > 1 else ""
        print(
            f"| {size:,} | {r['normalise']:.1f} | {r['features']:.1f} | "
            f"{r['classifier']:.1f} ({r['fits']}, {r['jobs']}) | {total:.1f} | {wall:.1f} | "
            f"{r['peak_mb']:,.0f}{worker} | {target} |",
            flush=True,
        )
        print(f"[bench] load average {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
