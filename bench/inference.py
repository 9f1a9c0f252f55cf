"""The fast inference path against `Pipeline.predict_proba`, in process, on one core.

    python bench/inference.py [--model DIR] [--singles 1000] [--posts 20000] [--rounds 3] [--pin]

Without --model it trains the default model from data/labels/ (no cross-validation) into a
temporary directory. BLAS runs one thread, so the process uses one core (--pin also pins it to
one CPU). Both paths get raw post text (normalisation included) and the same posts, timed
alternately so that other load on the machine hits both alike. Every figure is given in wall
time and in the thread's CPU time, which other processes on a busy machine do not inflate:

- single post: latency of `predict_proba([text])` over --singles posts drawn from the labeled
  corpus (p50, p99), after one warm-up pass over the corpus (seen vocabulary), the two paths
  taking turns every 50 posts; then again taking turns every post, where each call finds the
  CPU caches as the other path left them (sklearn's allocations evict the fast path's tables);
- batch: posts/s over --posts posts resampled from the corpus, in chunks of 1,000 (as
  `tandai classify` sends them), the best of --rounds rounds;
- the largest difference between the two paths' probabilities over the batch.

Prints one table with the ratio pipeline / fast path and the targets of issue 6.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import sklearn
from threadpoolctl import threadpool_limits

from api.settings import PROJECT_DIR
from model.artifact import ModelArtifact, latest_version, load_artifact
from model.fastpath import FastPath
from training.labels import default_label_files, read_labeled
from training.train import train_and_save

CHUNK = 1000
BLOCK = 50


def _progress(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def default_model(model: Path | None, texts: list[str], labels: list[str], tmp: Path) -> Path:
    if model is not None:
        path = model if (model / "metadata.json").is_file() else latest_version(model)
        if path is None:
            raise SystemExit(f"no model in {model}")
        return path
    _progress(f"training the default model on {len(texts)} labeled posts (no cross-validation)")
    artifact = train_and_save(
        texts, labels, tmp / "model", data_sha256="bench", data_files=[], cv_folds=0
    )
    return artifact.path


def pin_one_cpu(pin: bool) -> str:
    if not pin or not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def single_latencies(
    paths: dict[str, Callable[[list[str]], object]], posts: Sequence[str], block: int = BLOCK
) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU microseconds per call for each path, the paths taking turns every `block`
    posts (block=1: every post, so each call finds the CPU caches as the other path left them)."""
    out: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in paths}
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    for lo in range(0, len(posts), block):
        for name, fn in paths.items():
            for text in posts[lo : lo + block]:
                batch = [text]
                w0, c0 = wall(), cpu()
                fn(batch)
                c1, w1 = cpu(), wall()
                out[name]["wall"].append((w1 - w0) / 1000)
                out[name]["cpu"].append((c1 - c0) / 1000)
    return out


def throughput(fn: Callable[[list[str]], object], posts: list[str]) -> dict[str, float]:
    """Posts per second of wall time and of CPU time, in chunks of CHUNK posts."""
    w0, c0 = time.perf_counter(), time.thread_time()
    for lo in range(0, len(posts), CHUNK):
        fn(posts[lo : lo + CHUNK])
    c1, w1 = time.thread_time(), time.perf_counter()
    return {"wall": len(posts) / (w1 - w0), "cpu": len(posts) / (c1 - c0)}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model version (or versions) directory")
    parser.add_argument("--singles", type=int, default=1000, help="posts timed one by one")
    parser.add_argument("--posts", type=int, default=20_000, help="posts in the batch test")
    parser.add_argument("--rounds", type=int, default=3, help="batch rounds (best is kept)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pin", action="store_true", help="pin the process to one CPU")
    args = parser.parse_args()

    pinned = pin_one_cpu(args.pin)
    data = read_labeled(default_label_files(PROJECT_DIR / "data"))
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1):
        path = default_model(args.model, data.texts, data.labels, Path(tmp))
        artifact: ModelArtifact = load_artifact(path)
        pipeline = artifact.pipeline
        started = time.perf_counter()
        fast = FastPath(pipeline)
        build_ms = (time.perf_counter() - started) * 1000
        if not fast.is_fast:
            _progress(f"the fast path fell back to the pipeline: {fast.fallback_reason}")

        def slow(texts: list[str]) -> np.ndarray:
            return np.asarray(pipeline.predict_proba(np.asarray(texts, dtype=object)))

        _progress("warm-up: one pass over the corpus with each path")
        fast.predict_proba(data.texts)
        slow(data.texts)

        singles = rng.sample(data.texts, min(args.singles, len(data.texts)))
        _progress(f"timing {len(singles)} single posts, alternating the two paths")
        lat = single_latencies({"pipeline": slow, "fast": fast.predict_proba}, singles)
        norm_lat = single_latencies({"normalise": fast.normalise}, singles)["normalise"]
        cold = single_latencies({"pipeline": slow, "fast": fast.predict_proba}, singles, 1)

        batch = [rng.choice(data.texts) for _ in range(args.posts)]
        _progress(f"timing batches of {CHUNK} over {len(batch)} posts, {args.rounds} rounds")
        rates: dict[str, list[dict[str, float]]] = {"pipeline": [], "fast": []}
        for _ in range(args.rounds):
            rates["fast"].append(throughput(fast.predict_proba, batch))
            rates["pipeline"].append(throughput(slow, batch))
        diff = float(np.max(np.abs(fast.predict_proba(batch) - slow(batch))))

    print(
        f"model {artifact.version} ({artifact.metadata.get('classifier', '?')}, "
        f"{artifact.metadata.get('n_train', '?')} posts, "
        f"{fast.n_features if fast.is_fast else '?'} features); fast path built in "
        f"{build_ms:.0f} ms" + ("" if fast.is_fast else f"; FELL BACK: {fast.fallback_reason}")
    )
    print(
        f"python {platform.python_version()}, scikit-learn {sklearn.__version__}, numpy "
        f"{np.__version__}; {os.cpu_count()} CPUs, {pinned}, BLAS 1 thread; load average at "
        f"the end {os.getloadavg()[0]:.2f}"
    )
    print()
    print("| measure | clock | Pipeline.predict_proba | fast path | ratio | target |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for clock in ("wall", "cpu"):
        for name, q, target in [("p50", 50, "fast <= 100 µs, >= 20x"), ("p99", 99, "")]:
            slow_us = percentile(lat["pipeline"][clock], q)
            fast_us = percentile(lat["fast"][clock], q)
            print(
                f"| single post {name} (µs) | {clock} | {slow_us:,.0f} | {fast_us:,.1f} | "
                f"{slow_us / fast_us:.1f}x | {target if clock == 'wall' else ''} |"
            )
    for clock in ("wall", "cpu"):
        norm_us = percentile(norm_lat[clock], 50)
        print(f"| of which normalisation p50 (µs) | {clock} | | {norm_us:,.1f} | | |")
    for clock in ("wall", "cpu"):
        slow_us = percentile(cold["pipeline"][clock], 50)
        fast_us = percentile(cold["fast"][clock], 50)
        print(
            f"| single post p50, paths alternating every post (µs) | {clock} | {slow_us:,.0f} | "
            f"{fast_us:,.1f} | {slow_us / fast_us:.1f}x | |"
        )
    for clock in ("wall", "cpu"):
        slow_rate = max(r[clock] for r in rates["pipeline"])
        fast_rate = max(r[clock] for r in rates["fast"])
        print(
            f"| batch of {CHUNK}, best of {args.rounds} (posts/s) | {clock} | {slow_rate:,.0f} | "
            f"{fast_rate:,.0f} | {fast_rate / slow_rate:.1f}x | "
            f"{'fast >= 20,000 on one core' if clock == 'wall' else ''} |"
        )
    print(f"| max abs probability difference | | | {diff:.1e} | | <= 1e-9 |")


if __name__ == "__main__":
    main()
