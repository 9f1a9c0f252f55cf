"""Calibration, selective accuracy, deduplication and the ablation/grid runners of the report."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from api.settings import PROJECT_DIR
from model.areas import AreaMatch
from model.artifact import ModelArtifact
from model.triage import Classification, TopicScore
from tests.conftest import TINY_CORPUS, write_labels
from training.labels import LabeledData
from training.report import (
    ConfiguredPipeline,
    deduplicate,
    evaluate_holdout,
    expected_calibration_error,
    holdout_split,
    is_complaint_accuracy,
    reliability_bins,
    run_ablation,
    run_candidates,
    run_grid,
)
from training.retrain import in_holdout

TEXTS = [t for t, _ in TINY_CORPUS]
LABELS = [label for _, label in TINY_CORPUS]


def _bench(name: str) -> ModuleType:
    path = PROJECT_DIR / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# --- expected calibration error ----------------------------------------------------------------


def test_ece_of_perfectly_calibrated_predictions_is_zero() -> None:
    # 0.75 confident and right 3 times in 4; 0.25 confident and right once in 4
    confidence = [0.75] * 4 + [0.25] * 4
    correct = [True, True, True, False, True, False, False, False]
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_over_confident_predictions() -> None:
    # 90% sure, right half the time: off by 0.4 everywhere
    assert expected_calibration_error([0.9] * 10, [True, False] * 5) == pytest.approx(0.4)
    # two bins of four: |0.5 - 0.95| and |0.5 - 0.55|, each weighted 1/2
    confidence = [0.95] * 4 + [0.55] * 4
    correct = [True, False] * 4
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.25)


def test_reliability_bins_put_edges_in_the_lower_bin() -> None:
    bins = reliability_bins([0.0, 0.3, 0.31, 1.0], [True, True, False, True], n_bins=10)
    assert [b.count for b in bins] == [1, 0, 1, 1, 0, 0, 0, 0, 0, 1]
    assert bins[2].lower == pytest.approx(0.2) and bins[2].upper == pytest.approx(0.3)
    assert bins[3].accuracy == 0.0 and bins[3].confidence == pytest.approx(0.31)
    assert math.isnan(bins[1].confidence) and bins[1].gap == 0.0


@pytest.mark.parametrize(
    ("confidence", "correct"),
    [([0.5, 0.6], [True]), ([1.2], [True]), ([-0.1], [False]), ([], [])],
)
def test_calibration_rejects_bad_input(confidence: list[float], correct: list[bool]) -> None:
    with pytest.raises(ValueError):
        expected_calibration_error(confidence, correct)


# --- other scores and data handling ------------------------------------------------------------


def test_is_complaint_accuracy() -> None:
    truth = ["bukan_keluhan", "sampah", "jalan", "bukan_keluhan"]
    predicted = ["bukan_keluhan", "jalan", "bukan_keluhan", "sampah"]
    # right: complaint called a complaint (jalan for sampah) and the first non-complaint
    assert is_complaint_accuracy(truth, predicted) == 0.5
    assert is_complaint_accuracy(["Dinas A", "Dinas B"], ["Dinas A", "Dinas A"]) is None


def test_deduplicate_keeps_one_row_per_text_with_the_majority_label() -> None:
    texts = ["Jalan rusak", "jalan  RUSAK", "jalan\\nrusak", "lampu mati", "Jalan rusak parah"]
    labels = ["DSDABM", "DLH", "DSDABM", "Dishub", "DSDABM"]
    dedup = deduplicate(texts, labels)
    assert dedup.texts == ["Jalan rusak", "lampu mati", "Jalan rusak parah"]
    assert dedup.labels == ["DSDABM", "Dishub", "DSDABM"]
    assert (dedup.removed, dedup.conflicting) == (2, 1)


def test_holdout_split_is_stratified_and_disjoint() -> None:
    train_x, train_y, test_x, test_y = holdout_split(TEXTS, LABELS, test_size=0.2, seed=0)
    assert sorted(test_y) == sorted(set(LABELS))  # one post of each of the four labels
    assert not set(train_x) & set(test_x)
    assert len(train_x) == len(train_y) == 16


# --- runners -----------------------------------------------------------------------------------


def test_configured_pipeline_applies_switches_and_params() -> None:
    pipe = ConfiguredPipeline(
        "svc", (("char_ngrams", False),), (("classify__topics__estimator__C", 0.25),)
    )(LABELS)
    features = pipe.named_steps["features"]
    assert [name for name, _ in features.transformer_list] == ["word", "opening"]
    assert pipe.named_steps["classify"].topics.estimator.C == 0.25
    assert pipe.named_steps["classify"].gate.estimator.C == 1.0
    plain = ConfiguredPipeline("svc", (("opening_words", False),))(LABELS)
    assert [name for name, _ in plain.named_steps["features"].transformer_list] == ["word", "char"]
    assert plain.named_steps["features"].transformer_weights is None


def test_ablation_runner_scores_each_variant_on_the_same_folds() -> None:
    variants = (
        ("default", "svc", {}),
        ("without char n-grams", "svc", {"char_ngrams": False}),
        ("cnb", "cnb", {}),
    )
    rows = run_ablation(TEXTS, LABELS, variants, folds=2, seed=0)
    assert [r.name for r in rows] == ["default", "without char n-grams", "cnb"]
    for row in rows:
        assert row.cv.y_true == LABELS
        assert np.allclose(row.cv.proba.sum(axis=1), 1.0)
        assert 0.0 <= row.scores.ece <= 1.0
        assert row.scores.is_complaint_accuracy is not None
    # four topics, trained on two or three posts each: at least twice the 0.25 of guessing
    assert rows[0].scores.accuracy >= 0.5
    # the variants are different models: their probabilities differ
    assert not np.allclose(rows[0].cv.proba, rows[2].cv.proba)


def test_grid_carries_each_stage_winner_into_the_next() -> None:
    stages = (
        {"features__char__ngram_range": [(2, 3), (2, 4)]},
        {"classify__topics__estimator__C": [0.5, 2.0]},
    )
    best, rows = run_grid(TEXTS, LABELS, stages, folds=2, seed=1)
    assert [r.stage for r in rows] == [1, 1, 2, 2]
    assert set(best) == {"features__char__ngram_range", "classify__topics__estimator__C"}
    stage_one = [r for r in rows if r.stage == 1]
    winner = max(stage_one, key=lambda r: (r.scores.macro_f1, r.scores.accuracy, -r.scores.ece))
    assert best["features__char__ngram_range"] == winner.params["features__char__ngram_range"]


def test_candidates_are_scored_under_their_names() -> None:
    candidates = {"default": {}, "C=0.5": {"classify__topics__estimator__C": 0.5}}
    scores = run_candidates(TEXTS, LABELS, candidates, folds=2, seed=0)
    assert [s.name for s in scores] == ["default", "C=0.5"]
    assert all(0.0 <= s.macro_f1 <= 1.0 for s in scores)


def test_holdout_chooses_the_threshold_without_the_test_posts() -> None:
    train_x, train_y, test_x, test_y = holdout_split(TEXTS, LABELS, test_size=0.2, seed=0)
    result = evaluate_holdout(train_x, train_y, test_x, test_y, ConfiguredPipeline(), folds=2)
    assert result.chosen.posts == 16 and result.unseen.posts == 4
    assert result.unseen.threshold == result.chosen.threshold
    assert 0.0 <= result.accuracy <= 1.0


# --- the scripts -------------------------------------------------------------------------------


def test_model_report_main_prints_tables_and_writes_pngs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = write_labels(tmp_path / "tiny.csv", TINY_CORPUS)
    out = tmp_path / "out"
    args = ["--data", str(labels), "--out-dir", str(out), "--folds", "2", "--jobs", "1"]
    code = _bench("model_report").main([*args, "--errors", "2"])
    assert code == 0
    for name in ("confusion_matrix.png", "reliability.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    for heading in ("macro-F1", "confusion matrix", "ECE", "ablation", "without stemming"):
        assert heading in printed


@pytest.mark.parametrize("script", ["surabaya_benchmark", "surabaya_transfer"])
def test_surabaya_scripts_skip_without_their_data(
    script: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _bench(script).main(["--data", str(tmp_path / "absent.csv")]) == 0
    assert capsys.readouterr().out.startswith("skipped:")


def test_surabaya_benchmark_runs_on_agency_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agencies.csv"
    rows = [(text, f"Dinas {label}") for text, label in TINY_CORPUS]
    rows += [(TINY_CORPUS[0][0].upper(), "Dinas sampah"), ("satu baris saja", "Dinas lain")]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,text,instansi\n")
        for i, (text, agency) in enumerate(rows):
            fh.write(f'{i},"{text}",{agency}\n')
    code = _bench("surabaya_benchmark").main(
        ["--data", str(path), "--min-class-size", "2", "--folds", "2", "--jobs", "1"]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "1 repeated texts removed" in printed and "1 smaller agencies dropped" in printed
    assert "unseen data: 4 held-out posts" in printed
    assert "baseline" in printed and "Dinas sampah" in printed
    args = ["--data", str(path), "--min-class-size", "2", "--folds", "2", "--jobs", "1"]
    assert _bench("surabaya_benchmark").main([*args, "--candidates"]) == 0
    printed = capsys.readouterr().out
    assert "settings tied on the default corpus" in printed and "(default)" in printed


def test_surabaya_benchmark_scores_another_file_as_unseen_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--unseen: fitted on all of --data, scored once on the other file's posts whose label it
    knows and whose text it does not hold."""
    train, other = tmp_path / "dev.csv", tmp_path / "test.csv"
    with train.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "instansi"])
        writer.writerows((i, text, f"Dinas {label}") for i, (text, label) in enumerate(TINY_CORPUS))
    texts = {label: text for text, label in TINY_CORPUS}
    with other.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "instansi"])
        writer.writerows(
            [
                (1, "sampah numpuk di gang tidak diangkut seminggu", "Dinas sampah"),
                (2, "sampah numpuk di gang tidak diangkut seminggu", "Dinas sampah"),  # repeat
                (3, "jalan berlubang dalam di depan pasar", "Dinas jalan"),
                (4, texts["sampah"].upper(), "Dinas sampah"),  # a training text
                (5, "pohon perlu dipangkas", "Dinas Pertamanan"),  # a label never trained
            ]
        )
    args = ["--data", str(train), "--min-class-size", "2", "--folds", "2", "--jobs", "1"]
    assert _bench("surabaya_benchmark").main([*args, "--unseen", str(other)]) == 0
    printed = capsys.readouterr().out
    assert (
        "test.csv: 5 rows, 1 repeated within it, 1 with a label training does not know, "
        "1 equal to a training text: 2 unseen posts"
    ) in printed
    assert (
        f"unseen data: 2 posts of test.csv; threshold chosen on the out-of-fold predictions "
        f"of the {len(TINY_CORPUS)} training posts" in printed
    )
    assert _bench("surabaya_benchmark").main([*args, "--unseen", str(tmp_path / "no.csv")]) == 2


def test_surabaya_benchmark_scores_the_latest_complaints_by_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--by-date: trained on the earlier complaints, scored on the latest --test-size, the
    dates read in either of the source's two formats and the file in any order."""
    path = tmp_path / "dated.csv"
    later = [
        ("sampah numpuk di gang tidak diangkut seminggu", "sampah", "2023-01-23 13:09:00.000"),
        ("jalan berlubang dalam di depan pasar", "jalan", "2023-02-25 12:01:00.000"),
        ("kok sampah di pasar belum diangkut", "sampah", "2023-01-02 08:00:00.000"),
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "instansi", "tanggal_keluhan"])
        writer.writerows((100 + i, t, f"Dinas {y}", when) for i, (t, y, when) in enumerate(later))
        writer.writerows(
            (i, text, f"Dinas {label}", f"2022-{1 + i % 12:02d}-21 09:36:00")
            for i, (text, label) in enumerate(TINY_CORPUS)
        )
    n = len(TINY_CORPUS) + len(later)
    args = ["--data", str(path), "--min-class-size", "2", "--folds", "2", "--jobs", "1"]
    code = _bench("surabaya_benchmark").main(
        [*args, "--by-date", "tanggal_keluhan", "--test-size", str(len(later) / n)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert f"earlier_dated.csv: {len(TINY_CORPUS)} rows" in printed
    assert "later_dated.csv: 3 rows, 0 repeated within it" in printed
    assert "3 unseen posts" in printed
    assert _bench("surabaya_benchmark").main([*args, "--by-date", "tanggal"]) == 2
    assert "has no column 'tanggal'" in capsys.readouterr().err


def test_surabaya_transfer_reads_mapped_topics_with_a_trained_model(
    tmp_path: Path, tiny_model: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "surabaya.csv"
    rows = [
        ("Jalan Rusak dan Berlubang", "jalan berlubang besar dekat pasar"),
        ("Jalan Rusak dan Berlubang", "jalan berlubang besar dekat pasar"),  # counted once
        ("Jalan Rusak dan Berlubang", "JALAN berlubang  besar dekat pasar"),  # the same text
        ("Jalan Rusak dan Berlubang", "aspal rusak\\nbanyak lubang"),
        ("Sampah Full di TPS", "sampah di TPS menumpuk bau"),
        ("Informasi Pemangkasan/Perantingan Pohon", "mohon pangkas pohon"),  # not mapped
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text", "instansi", "topik"])
        writer.writerows((i, text, "Dinas", topik) for i, (topik, text) in enumerate(rows))
    module = _bench("surabaya_transfer")
    texts, topics = module.read_mapped(path, module.TOPIC_MAP)
    assert texts == [
        "jalan berlubang besar dekat pasar",
        "aspal rusak\nbanyak lubang",
        "sampah di TPS menumpuk bau",
    ]
    assert topics == ["jalan", "jalan", "sampah"]
    assert module.main(["--data", str(path), "--model", str(tiny_model.path)]) == 0
    printed = capsys.readouterr().out
    assert "3 distinct Surabaya complaints in 2" in printed
    assert "accuracy  1.0000" in printed  # the tiny model reads these plain posts right
    assert "read as bukan_keluhan      0" in printed
    assert "the same office(s) tagged as for the true topic  1.0000" in printed
    # by length: all three posts have four or five words
    assert re.search(r"\n\s+4-6\s+3\s+1\.0000\s+0\.0%\n", printed)
    assert "1-3" not in printed


def test_surabaya_transfer_counts_a_topic_routed_to_the_same_office_as_the_same_office() -> None:
    routing = {"jalan": ["PUPR"], "banjir_drainase": ["PUPR"], "sampah": ["DLH"]}
    routing["bencana"] = ["BPBD", "DAMKAR"]
    predicted = ["banjir_drainase", "sampah", "bukan_keluhan", "bencana", "jalan"]
    truth = ["jalan", "jalan", "sampah", "bencana", "lainnya"]
    same = _bench("surabaya_transfer").same_offices(predicted, truth, routing)
    assert same.tolist() == [True, False, False, True, False]


def test_robustness_reads_the_held_out_posts_with_the_fit_that_never_saw_them(
    tmp_path: Path, tiny_model: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    """A version fitted on every post keeps its fit without the held-out ones: that one reads
    them."""
    # ten of each post, told apart by a number: every label has enough posts to hold some out
    rows = [(f"{text} {k}", label) for text, label in TINY_CORPUS for k in range(10)]
    labels = tmp_path / "posts.csv"
    write_labels(labels, rows)
    version = tmp_path / "models" / tiny_model.version
    shutil.copytree(tiny_model.path, version)
    shutil.copytree(tiny_model.path, version / "holdout-fit")
    for path, changes in (
        (version, {"holdout": {"percent": 50, "n": 3, "fit": "holdout-fit"}}),
        (version / "holdout-fit", {"version": "the-fit-without-them"}),
    ):
        meta = json.loads((path / "metadata.json").read_text())
        (path / "metadata.json").write_text(json.dumps({**meta, **changes}))
    assert _bench("robustness").main(["--model", str(version), "--data", str(labels)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    held = sum(in_holdout(t, 50) for t, _ in rows)
    assert held > 0
    assert first.startswith(
        f"model the-fit-without-them on the {held} posts it held out (50%) "
        "(the version's fit without them)"
    )


def test_robustness_reads_the_held_out_posts_changed_one_way_at_a_time(
    tmp_path: Path, tiny_model: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "posts.csv"
    write_labels(labels, TINY_CORPUS)
    module = _bench("robustness")
    assert module.main(["--model", str(tiny_model.path), "--data", str(labels)]) == 0
    printed = capsys.readouterr().out
    rows = {line[:36].strip(): line[36:].split() for line in printed.splitlines()[3:] if line}
    assert list(rows) == list(module.perturbations(0))
    assert rows["as written"][1] == "+0.0000" and rows["upper case"][1] == "+0.0000"
    # no post names a place: no share of places read, and none read
    assert rows["as written"][4:] == ["-", "-", "0"]
    # each change is drawn from the seed: the same seed changes a text the same way
    first, second = module.perturbations(3), module.perturbations(3)
    text = "jalanan berlubang parah sekali, kapan diperbaiki? 😡"
    for name in first:
        assert first[name](text) == second[name](text)
    assert first["two letters swapped (1 in 5 words)"]("kapan")[0] == "k"
    assert module.perturbations(0)["emoji stripped"](text) == text[:-1]  # the space stays


def test_robustness_reads_the_areas_of_the_changed_posts(
    tmp_path: Path, tiny_model: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "posts.csv"
    with labels.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "topic", "kecamatan", "kelurahan", "source"])
        writer.writerow(
            ["sampah numpuk di Sawah Lebar", "sampah", "Ratu Agung", "Sawah Lebar", "x"]
        )
        writer.writerow(["jalan rusak di kec. Selebar", "jalan", "Selebar", "", "x"])
        writer.writerow(["lampu jalan mati di kebun kami", "lampu_jalan", "", "", "x"])
    assert _bench("robustness").main(["--model", str(tiny_model.path), "--data", str(labels)]) == 0
    rows = {
        line[:36].strip(): line[36:].split()
        for line in capsys.readouterr().out.splitlines()[3:]
        if line
    }
    # as written: the kelurahan, both kecamatan, no area where none is named
    assert rows["as written"][4:] == ["1.0000", "1.0000", "0"]
    assert rows["upper case"][4:] == ["1.0000", "1.0000", "0"]


# --- bench/probes.py ---------------------------------------------------------------------------


def _read(text: str, label: str, kecamatan: str = "", kelurahan: str = "") -> Classification:
    return Classification(
        model_version="v",
        topic=TopicScore(label, 0.9),
        alternatives=[],
        area=AreaMatch(kecamatan or None, kelurahan or None, 0.9 if kecamatan else 0.0),
        tags=[],
        needs_review=text.startswith("?"),
        review_reasons=[],
        respond_by=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_probe_scores_count_each_kind_of_misreading() -> None:
    probes = _bench("probes")
    rows = [
        # (text, label, kecamatan, kelurahan), then what the service read
        (
            ("sampah di Jitra", "sampah", "Teluk Segara", "Jitra"),
            ("sampah", "Teluk Segara", "Jitra"),
        ),
        (("jalan rusak", "jalan", "", ""), ("bukan_keluhan", "", "")),  # complaint read as none
        (("?makasih", "bukan_keluhan", "", ""), ("jalan", "", "")),  # reviewed
        (("makasih pak", "bukan_keluhan", "Selebar", ""), ("bukan_keluhan", "", "")),
        (("banjir lagi", "banjir_drainase", "", ""), ("jalan", "Selebar", "Betungan")),
    ]
    data = LabeledData(
        texts=[r[0][0] for r in rows],
        labels=[r[0][1] for r in rows],
        kecamatan=[r[0][2] for r in rows],
        kelurahan=[r[0][3] for r in rows],
        sources=[],
        sha256="",
        dropped={},
    )
    results = [_read(want[0], *got) for want, got in rows]
    score = probes.score_probe("x_probe", data, results)
    assert (score.posts, score.topic_right, score.complaint_right) == (5, 2, 3)
    assert (score.complaints_as_none, score.none_as_complaints) == (1, 1)
    assert score.wrong_unreviewed == 2  # "jalan rusak" and "banjir lagi"; "?makasih" reviewed
    assert (score.kelurahan_right, score.kelurahan_named) == (1, 1)
    assert (score.kecamatan_right, score.kecamatan_named) == (1, 2)
    assert (score.area_where_none, score.none_named) == (1, 3)
    assert len(score.errors) == 4
    total = probes.ProbeScore("all")
    total.add(score)
    total.add(score)
    table = probes.format_table([score, total])
    assert "| x_probe | 5 | 0.400 | 0.600 | 1 | 1 | 2 | 1 / 1 | 1 / 2 | 1 / 3 |" in table
    assert "| all | 10 | 0.400 | 0.600 | 2 | 2 | 4 | 2 / 2 | 2 / 4 | 2 / 6 |" in table


def test_probes_script_reads_probe_files_with_a_model(
    tiny_model: ModelArtifact,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TANDAI_DATABASE_URL", f"sqlite:///{tmp_path / 'tandai.db'}")
    probe = write_labels(tmp_path / "tiny_probe.csv", TINY_CORPUS[:6])
    probes = _bench("probes")
    assert len(probes.probe_files()) >= 4  # the shipped probes
    probes.main([str(probe), "--model", str(tiny_model.path), "--show-errors"])
    out = capsys.readouterr().out
    assert f"model {tiny_model.version}; 6 posts in 1 probe(s)" in out
    row = next(line for line in out.splitlines() if line.startswith("| tiny_probe |"))
    assert row.split("|")[2].strip() == "6"


def test_probes_script_without_a_model_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANDAI_DATABASE_URL", f"sqlite:///{tmp_path / 'tandai.db'}")
    monkeypatch.setenv("TANDAI_MODEL_DIR", str(tmp_path / "models"))
    probes = _bench("probes")
    with pytest.raises(SystemExit) as exited:
        probes.main([])
    message = str(exited.value.code)
    assert message.startswith("probes: no trained model in ")
    assert "\n" not in message
