"""The review loop end to end, through the HTTP API: does reviewing make the model better?

    python -m bench.review_loop [--slice topic:CODE|dialect] [--keep DIR]

1. Takes one slice out of the labeled corpus and trains the first model without it: by default
   every post of one topic (`topic:bansos`, as when a new kind of complaint appears), or with
   `--slice dialect` the posts in Bengkulu Malay (at least two dialect words of the lexicon).
2. Starts `tandai serve` on a free port and classifies the whole slice with /classify/batch.
3. Reviews half of the slice through the review API as a person would: accepts the posts whose
   topic and area are right, corrects the others to the labeled topic, kecamatan and kelurahan.
4. Retrains through POST /models/retrain and waits for the job.
5. Classifies the other half again and prints topic accuracy on it before and after (and the
   retrained candidate's, in case the quality gate kept the first model).

Which half is reviewed is decided by a hash of the text, so runs are repeatable.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from api import storage
from api.auth import hash_key, new_key
from api.settings import PROJECT_DIR, Settings
from model.artifact import load_artifact
from model.text import load_lexicon
from training.labels import default_label_files
from training.retrain import retrain

REFERENCE_FILES = ("topics.csv", "areas.csv", "offices.csv", "officials.csv", "routing.csv")
# Dialect entries of the lexicon that are also Indonesian words or Javanese, left out of the
# Bengkulu Malay test.
NOT_MALAY = frozenset(
    {"kini", "ni", "tu", "la", "ko", "mak", "ari", "cak", "nak", "apo", "nyo"}
    | {"sampun", "nggih", "nggeh", "monggo", "maturnuwun", "ngapunten", "suwun", "dereng"}
)
BATCH = 200


def read_rows(data_dir: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in default_label_files(data_dir):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows += [r for r in csv.DictReader(fh) if (r.get("text") or "").strip()]
    return rows


def dialect_words() -> frozenset[str]:
    lexicon = load_lexicon()
    text = (PROJECT_DIR / "model" / "resources" / "lexicon.tsv").read_text(encoding="utf-8")
    kinds = dict(line.split("\t")[0:3:2] for line in text.splitlines()[1:] if line.count("\t") >= 2)
    return frozenset(
        form
        for form in lexicon
        if kinds.get(form) == "dialect" and " " not in form and form not in NOT_MALAY
    )


def in_slice(row: dict[str, str], spec: str, words: frozenset[str]) -> bool:
    if spec.startswith("topic:"):
        return row["topic"] == spec.split(":", 1)[1]
    tokens = re.findall(r"[a-z]+", row["text"].lower())
    return sum(t in words for t in tokens) >= 2


def reviewed_half(text: str) -> bool:
    return hashlib.sha256(("review:" + text).encode()).digest()[0] % 2 == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def classify(client: httpx.Client, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(rows), BATCH):
        posts = [
            {"text": r["text"], "source": r.get("source") or None} for r in rows[i : i + BATCH]
        ]
        response = client.post("/classify/batch", json={"posts": posts})
        response.raise_for_status()
        out += response.json()["results"]
    return out


def accuracy(rows: list[dict[str, str]], results: list[dict[str, Any]]) -> float:
    right = sum(r["topic"] == p["topic"]["label"] for r, p in zip(rows, results, strict=True))
    return right / len(rows) if rows else 0.0


def review(
    client: httpx.Client, rows: list[dict[str, str]], results: list[dict[str, Any]]
) -> Counter[str]:
    """What a careful person does: accept what is right, correct what is not."""
    decisions: Counter[str] = Counter()
    for row, result in zip(rows, results, strict=True):
        kec = row.get("kecamatan") or None
        kel = row.get("kelurahan") or None
        area = result["area"]
        right = (
            result["topic"]["label"] == row["topic"]
            and area["kecamatan"] == kec
            and area["kelurahan"] == kel
        )
        body: dict[str, Any] = {"decision": "accept"}
        if not right:
            body = {
                "decision": "correct",
                "topic": row["topic"],
                "kecamatan": kec,
                "kelurahan": kel,
            }
        response = client.post(f"/posts/{result['id']}/review", json=body)
        response.raise_for_status()
        decisions[body["decision"]] += 1
    return decisions


def wait_ready(base: str, proc: subprocess.Popen[bytes], version: str | None = None) -> str:
    deadline = time.monotonic() + 120
    while True:
        try:
            ready = httpx.get(f"{base}/ready", timeout=2)
            if ready.status_code == 200 and version in (None, ready.json()["model_version"]):
                return str(ready.json()["model_version"])
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the server exited")
        if time.monotonic() > deadline:
            raise SystemExit("the server did not become ready")
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--slice", default="topic:bansos", help="topic:CODE, or dialect")
    parser.add_argument("--keep", help="work in this directory and keep it (default: a temp dir)")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="review-loop-"))
    work.mkdir(parents=True, exist_ok=True)
    source_data = PROJECT_DIR / "data"
    rows = read_rows(source_data)
    words = dialect_words()
    sliced = [r for r in rows if in_slice(r, args.slice, words)]
    rest = [r for r in rows if not in_slice(r, args.slice, words)]
    to_review = [r for r in sliced if reviewed_half(r["text"])]
    to_test = [r for r in sliced if not reviewed_half(r["text"])]

    data = work / "data"
    (data / "labels").mkdir(parents=True, exist_ok=True)
    for name in REFERENCE_FILES:
        shutil.copy(source_data / name, data / name)
    with (data / "labels" / "without_slice.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, ["text", "topic", "kecamatan", "kelurahan", "source"])
        writer.writeheader()
        writer.writerows({k: r.get(k, "") for k in writer.fieldnames} for r in rest)
    database_url = f"sqlite:///{work / 'tandai.db'}"
    settings = Settings(database_url=database_url, model_dir=work / "models", data_dir=data)

    print(
        f"slice {args.slice!r}: {len(sliced)} of {len(rows)} labeled posts "
        f"({len(to_review)} to review, {len(to_test)} to test)",
        flush=True,
    )
    started = time.perf_counter()
    db = storage.Database(database_url)
    db.migrate()
    first = retrain(settings, db)
    keys = {}
    with db.session() as session:
        for role in ("admin", "reviewer"):
            keys[role] = new_key()
            storage.add_api_key(session, f"review-loop-{role}", role, hash_key(keys[role]))
    db.dispose()
    print(
        f"first model {first.artifact.version} trained without the slice "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "TANDAI_DATABASE_URL": database_url,
        "TANDAI_MODEL_DIR": str(work / "models"),
        "TANDAI_DATA_DIR": str(data),
        "TANDAI_MODEL_POLL_SECONDS": "1",
    }
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "training.cli", "serve", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_ready(base, proc)
        admin = httpx.Client(
            base_url=base, timeout=600, headers={"Authorization": f"Bearer {keys['admin']}"}
        )
        reviewer = httpx.Client(
            base_url=base, timeout=60, headers={"Authorization": f"Bearer {keys['reviewer']}"}
        )
        review_results = classify(admin, to_review)
        before = classify(admin, to_test)
        decisions = review(reviewer, to_review, review_results)
        job = admin.post("/models/retrain", json={}).json()
        while job["status"] not in ("succeeded", "failed"):
            time.sleep(1)
            job = admin.get(f"/models/retrain/{job['id']}").json()
        if job["status"] == "failed":
            raise SystemExit(f"retrain failed: {job['error']}")
        report = job["report"]
        wait_ready(base, proc, report["version"] if report["promoted"] else first.artifact.version)
        after = classify(admin, to_test)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()

    acc_before, acc_after = accuracy(to_test, before), accuracy(to_test, after)
    candidate = load_artifact(Path(report["path"]))
    predicted = candidate.pipeline.predict([r["text"] for r in to_test])
    acc_candidate = sum(
        r["topic"] == str(p) for r, p in zip(to_test, predicted, strict=True)
    ) / max(1, len(to_test))
    print()
    print(f"{'':<44}{'posts':>7}{'topic accuracy':>16}")
    print(
        f"{'reviewed half, first model':<44}{len(to_review):>7}"
        f"{accuracy(to_review, review_results):>16.3f}"
    )
    print(f"{'other half, first model (before)':<44}{len(to_test):>7}{acc_before:>16.3f}")
    print(f"{'other half, retrained candidate':<44}{len(to_test):>7}{acc_candidate:>16.3f}")
    print(f"{'other half, served after the retrain':<44}{len(to_test):>7}{acc_after:>16.3f}")
    print()
    print(f"reviews: {decisions['accept']} accepted, {decisions['correct']} corrected")
    print(
        f"retrain: version {report['version']}, promoted={report['promoted']}: {report['reason']}"
    )
    cand, act = report["candidate"], report["active"]
    print(
        f"held-out ({cand['n']} posts): macro-F1 {act['macro_f1']} -> {cand['macro_f1']}, "
        f"accuracy {act['accuracy']} -> {cand['accuracy']}"
    )
    print(f"change on the other half: {acc_after - acc_before:+.3f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
