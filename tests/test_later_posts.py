"""bench/later_posts.py: the corpus at an earlier commit, and the posts added since."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from api.settings import PROJECT_DIR
from bench.later_posts import labels_at, later_posts
from training.labels import LabeledData, default_label_files, read_labeled


def _data(texts: list[str], labels: list[str]) -> LabeledData:
    n = len(texts)
    return LabeledData(texts, labels, [""] * n, [""] * n, [], "", {})


def test_later_posts_are_those_the_old_corpus_lacks() -> None:
    old = _data(["a", "b"], ["sampah", "jalan"])
    now = _data(["a", "b", "c", "d"], ["sampah", "jalan", "listrik", "bukan_keluhan"])
    assert later_posts(old, now) == (["c", "d"], ["listrik", "bukan_keluhan"])
    assert later_posts(now, now) == ([], [])


def test_labels_at_head_reads_the_committed_corpus(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (PROJECT_DIR / ".git").exists():
        pytest.skip("needs git and the repository's history")
    changed = subprocess.run(
        ["git", "status", "--porcelain", "data/labels"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if changed:
        pytest.skip("data/labels has uncommitted changes")
    old = labels_at("HEAD", tmp_path)
    now = read_labeled(default_label_files(PROJECT_DIR / "data"))
    assert (old.texts, old.labels) == (now.texts, now.labels)
    assert later_posts(old, now) == ([], [])
