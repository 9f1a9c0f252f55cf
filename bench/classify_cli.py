"""`tandai classify` over 100,000 posts: posts per second and peak memory of the command.

    python bench/classify_cli.py [--model DIR] [--posts 100000] [--store] [--profile 5000]

Writes --posts posts drawn with replacement from the labeled corpus (each with a source and,
for half of them, a `posted_at`) to a temporary JSONL file, then runs `tandai classify` on it
as a child process, once on a single post (start-up: imports, loading the model, building the
fast path) and once on the whole file, and reads each child's peak resident memory from the
kernel (`wait4`). Each child is started by a small launcher process (which adds ~0.03 s to each
run): the peak the kernel reports for a process also counts the pages of the process it was
started from, at `exec`, and this script, which may have just trained a model, is larger than
the command it measures (366 MB reported for `tandai classify` on one post after training in
process, 294 MB through the launcher). Without --model it trains the default model from
data/labels/ (no cross-validation) first. --store also stores every post in a temporary SQLite
database. --profile N classifies N of the posts in process under cProfile and prints where the
time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.settings import PROJECT_DIR, Settings
from model.artifact import latest_version
from training.labels import default_label_files, read_labeled
from training.train import train_and_save

SOURCES = ["instagram", "facebook", "tiktok", "x", "other"]

# Runs argv[2:] and writes "exit-code peak-RSS-kB" of it to the file argv[1]. Being small, it
# hands its child no large peak at `exec`, so the child's figure is the command's own.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:], stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def _progress(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def write_posts(path: Path, texts: list[str], n: int, seed: int) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            post: dict[str, str] = {"text": rng.choice(texts), "source": rng.choice(SOURCES)}
            if i % 2:
                post["posted_at"] = (start + timedelta(seconds=37 * i)).isoformat()
            fh.write(json.dumps(post, ensure_ascii=False) + "\n")


def run_classify(
    input_path: Path, output: Path, model: Path, env: dict[str, str], store: bool
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `tandai classify` child process."""
    command = [sys.executable, "-m", "training.cli", "classify", "--input", str(input_path)]
    command += ["--output", str(output), "--model", str(model)]
    if store:
        command.append("--store")
    report = output.with_suffix(".rusage")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", LAUNCHER, str(report), *command], env=env, check=True)
    wall = time.perf_counter() - started
    code, max_kb = (int(v) for v in report.read_text().split())
    if code != 0:
        raise SystemExit(f"tandai classify exited with {code}")
    return wall, max_kb / 1024  # kB on Linux


def profile_in_process(input_path: Path, model: Path, settings: Settings, n: int) -> None:
    from training.batch import classify_file
    from training.cli import _triage

    triage = _triage(settings, model)
    sample = input_path.with_name("profile.jsonl")
    with input_path.open(encoding="utf-8") as src, sample.open("w", encoding="utf-8") as dst:
        for _, line in zip(range(n), src, strict=False):
            dst.write(line)
    profiler = cProfile.Profile()
    profiler.runcall(classify_file, triage, sample, io.StringIO(), settings)
    print(f"\nwhere the time goes, {n:,} posts in process (cProfile, cumulative):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model version (or versions) directory")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--store", action="store_true", help="also store posts (SQLite)")
    parser.add_argument("--profile", type=int, default=0, help="profile N posts in process")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = read_labeled(default_label_files(PROJECT_DIR / "data"))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.model is None:
            _progress("training the default model from data/labels/ (no cross-validation)")
            model = train_and_save(
                data.texts,
                data.labels,
                tmp / "model",
                data_sha256="bench",
                data_files=[],
                cv_folds=0,
            ).path
        else:
            found = args.model if (args.model / "metadata.json").is_file() else None
            model = found or latest_version(args.model) or args.model
        env = {
            **os.environ,
            "TANDAI_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
        }
        posts = tmp / "posts.jsonl"
        write_posts(posts, data.texts, args.posts, args.seed)
        one = tmp / "one.jsonl"
        write_posts(one, data.texts, 1, args.seed)
        size_mb = posts.stat().st_size / 1e6

        _progress("start-up: tandai classify on one post")
        startup, startup_mb = run_classify(one, tmp / "one.out", model, env, args.store)
        _progress(f"tandai classify on {args.posts:,} posts ({size_mb:.1f} MB)")
        wall, peak_mb = run_classify(posts, tmp / "posts.out", model, env, args.store)
        with (tmp / "posts.out").open(encoding="utf-8") as fh:
            lines = sum(1 for _ in fh)
        if lines != args.posts:
            raise SystemExit(f"expected {args.posts} results, got {lines}")
        if args.profile:
            profile_in_process(posts, model, Settings(_env_file=None), args.profile)

    rate = args.posts / wall
    steady = args.posts / max(wall - startup, 1e-9)
    print(
        f"\n`tandai classify` {'--store ' if args.store else ''}on {args.posts:,} posts "
        f"({size_mb:.1f} MB JSONL), model {model.name}; {os.cpu_count()} CPUs, load average at "
        f"the end {os.getloadavg()[0]:.2f}"
    )
    print()
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| start-up on one post (s) | {startup:.2f} |")
    print(f"| peak RSS on one post (MB) | {startup_mb:,.0f} |")
    print(f"| {args.posts:,} posts, wall (s) | {wall:.1f} |")
    print(f"| posts/s, whole run | {rate:,.0f} |")
    print(f"| posts/s, start-up excluded | {steady:,.0f} |")
    print(f"| peak RSS (MB) | {peak_mb:,.0f} |")


if __name__ == "__main__":
    main()
