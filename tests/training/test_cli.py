from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from model.artifact import ModelArtifact, load_artifact
from tests.conftest import DATA_DIR, TINY_CORPUS, write_labels
from training.cli import main


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TANDAI_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("TANDAI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TANDAI_DATA_DIR", str(DATA_DIR))


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "expected an error message"
    assert "Traceback" not in "\n".join(err)
    return err[-1]


def test_train_writes_versioned_model_and_metadata(tmp_path: Path) -> None:
    labels = write_labels(tmp_path / "labels.csv", TINY_CORPUS)
    assert main(["train", "--data", str(labels), "--folds", "2"]) == 0
    versions = list((tmp_path / "models").iterdir())
    assert len(versions) == 1
    artifact = load_artifact(versions[0])
    meta = artifact.metadata
    assert set(meta["labels"]) == {"sampah", "jalan", "banjir_drainase", "bukan_keluhan"}
    assert meta["cv"]["folds"] == 2
    assert len(meta["data_sha256"]) == 64
    assert meta["versions"]["scikit-learn"]
    # --if-missing leaves the existing model alone
    assert main(["train", "--data", str(labels), "--if-missing"]) == 0
    assert len(list((tmp_path / "models").iterdir())) == 1


def test_train_on_other_labels_with_min_class_size(tmp_path: Path) -> None:
    rows = [(t, "Dinas A" if i % 2 else "Dinas B") for i, (t, _) in enumerate(TINY_CORPUS)]
    rows.append(("satu-satunya baris", "Dinas C"))
    path = tmp_path / "agency.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,isi,instansi\n")
        for i, (t, a) in enumerate(rows):
            fh.write(f'{i},"{t}",{a}\n')
    out = tmp_path / "agency-model"
    assert (
        main(
            [
                "train",
                "--data",
                str(path),
                "--text-column",
                "isi",
                "--label-column",
                "instansi",
                "--min-class-size",
                "2",
                "--output",
                str(out),
                "--folds",
                "0",
            ]
        )
        == 0
    )
    assert load_artifact(out).labels == ["Dinas A", "Dinas B"]
    # a second train into the same --output refuses to overwrite
    assert (
        main(
            [
                "train",
                "--data",
                str(path),
                "--text-column",
                "isi",
                "--label-column",
                "instansi",
                "--min-class-size",
                "2",
                "--output",
                str(out),
                "--folds",
                "0",
            ]
        )
        == 2
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"isi,topic\nhalo,sampah\n", "missing column 'text'"),
        (b'text,topic\n"sampah",kucing\n', "row 2: unknown label 'kucing'"),
        (b"text,topic\n\xff\xfe\xfa,sampah\n", "not valid UTF-8 (line 2)"),
        (b"text,topic\nsampah,sampah\n\x93lampu\x94,lampu_jalan\n", "not valid UTF-8 (line 3)"),
        (b"text,topic\n", "no rows with text"),
    ],
)
def test_train_bad_input_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert main(["train", "--data", str(path)]) == 2
    message = _error(capsys)
    assert str(path) in message
    assert expected in message


def test_train_names_labels_with_too_few_posts_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [*TINY_CORPUS, ("listrik padam dari subuh", "listrik")]
    labels = write_labels(tmp_path / "labels.csv", rows)
    for args in (["--folds", "0"], ["--output", str(tmp_path / "out")]):
        assert main(["train", "--data", str(labels), *args]) == 2
        message = _error(capsys)
        assert "'listrik' (1)" in message
        assert "--min-class-size" in message
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").iterdir())
    # leaving it out as the message says trains
    assert main(["train", "--data", str(labels), "--folds", "0", "--min-class-size", "2"]) == 0


def test_classify_and_serve_without_model_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"text": "sampah"}\n')
    assert main(["classify", "--input", str(posts)]) == 2
    assert "tandai train" in _error(capsys)
    assert main(["serve"]) == 2
    assert "tandai train" in _error(capsys)


def test_classify_jsonl_and_csv_in_order(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = ["jalan berlubang parah", "sampah menumpuk bau", "banjir selokan mampet"]
    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text("\n".join(json.dumps({"text": t, "source": "x"}) for t in texts) + "\n")
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "classify",
                "--input",
                str(jsonl),
                "--output",
                str(out),
                "--model",
                str(tiny_model.path),
            ]
        )
        == 0
    )
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["topic"]["label"] for r in results] == ["jalan", "sampah", "banjir_drainase"]
    assert all(r["id"] is None for r in results)  # nothing stored without --store

    csv_path = tmp_path / "posts.csv"
    csv_path.write_text("text,source\n" + "\n".join(f'"{t}",x' for t in texts) + "\n")
    capsys.readouterr()
    assert main(["classify", "--input", str(csv_path), "--model", str(tiny_model.path)]) == 0
    stdout = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["topic"] for r in stdout] == [r["topic"] for r in results]

    # saved by a spreadsheet set to Indonesian: semicolons between the cells
    semicolons = tmp_path / "excel.csv"
    semicolons.write_text("text;source\n" + "\n".join(f"{t};x" for t in texts) + "\n")
    assert main(["classify", "--input", str(semicolons), "--model", str(tiny_model.path)]) == 0
    stdout = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["topic"] for r in stdout] == [r["topic"] for r in results]

    # ...or as "Unicode text": UTF-16 with its byte-order mark, tabs between the cells
    unicode_text = tmp_path / "unicode.csv"
    unicode_text.write_bytes(
        ("text\tsource\r\n" + "".join(f"{t}\tx\r\n" for t in texts)).encode("utf-16")
    )
    assert main(["classify", "--input", str(unicode_text), "--model", str(tiny_model.path)]) == 0
    stdout = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["topic"] for r in stdout] == [r["topic"] for r in results]


def test_classify_store_writes_database(tiny_model: ModelArtifact, tmp_path: Path) -> None:
    from api.storage import Database, count_posts, get_post

    jsonl = tmp_path / "posts.jsonl"
    jsonl.write_text('{"text": "sampah menumpuk di Sawah Lebar"}\n{"text": "jalan rusak"}\n')
    out = tmp_path / "out.jsonl"
    assert (
        main(
            [
                "classify",
                "--input",
                str(jsonl),
                "--output",
                str(out),
                "--store",
                "--model",
                str(tiny_model.path),
            ]
        )
        == 0
    )
    results = [json.loads(line) for line in out.read_text().splitlines()]
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    with db.session() as session:
        assert count_posts(session) == 2
        row = get_post(session, results[0]["id"])
        assert row is not None and row.text == "sampah menumpuk di Sawah Lebar"
    db.dispose()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("posts.jsonl", b"", "empty"),
        ("posts.jsonl", b'{"text": "ok"}\n{broken\n', "row 2: invalid JSON"),
        ("posts.jsonl", b'{"txt": "ok"}\n', "row 1: text: Field required"),
        ("posts.jsonl", b'["text"]\n', "row 1: each line must be a JSON object"),
        ("posts.jsonl", b'{"text": "   "}\n', "row 1: text"),
        ("posts.csv", b"isi\nhalo\n", "row 1: missing column 'text'"),
        ("posts.csv", b"text\n\xff\xfe\n", "not valid UTF-8 (line 2); save it as UTF-8"),
        ("posts.jsonl", b'{"text": "ok"}\n{"text": "\x93ok\x94"}\n', "not valid UTF-8 (line 2)"),
        ("posts.txt", b"halo\n", "must be a .jsonl or .csv"),
    ],
)
def test_classify_bad_input_is_one_line_exit_2(
    tiny_model: ModelArtifact,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["classify", "--input", str(path), "--model", str(tiny_model.path)]) == 2
    message = _error(capsys)
    assert str(path) in message
    assert expected in message


def test_classify_stops_at_a_bad_row_with_the_rows_before_it_written_and_stored(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.storage import Database, count_posts

    path = tmp_path / "posts.jsonl"
    lines = ['{"text": "jalan berlubang parah", "external_id": "a"}', '{"text": "sampah bau"}']
    path.write_text("\n".join([*lines, "{broken", '{"text": "banjir selokan"}']) + "\n")
    out = tmp_path / "out.jsonl"
    args = ["classify", "--input", str(path), "--output", str(out), "--store"]
    assert main([*args, "--model", str(tiny_model.path)]) == 2
    message = _error(capsys)
    assert "row 3: invalid JSON" in message and "the 2 posts before it" in message
    assert [json.loads(line)["topic"]["label"] for line in out.read_text().splitlines()] == [
        "jalan",
        "sampah",
    ]
    db = Database(f"sqlite:///{tmp_path / 'cli.db'}")
    with db.session() as session:
        assert count_posts(session) == 2
    db.dispose()


@pytest.mark.parametrize("name", ["posts.jsonl", "posts.csv"])
def test_classify_skip_invalid_writes_each_bad_row_in_its_place(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = tmp_path / name
    if name.endswith(".jsonl"):
        rows = ['{"text": "jalan berlubang parah"}', "[1, 2]", '{"text": "  "}']
        path.write_text("\n".join([*rows, '{"text": "sampah menumpuk bau"}']) + "\n")
        bad = [(2, "each line must be a JSON object"), (3, "text: ")]
    else:
        rows = ["jalan berlubang parah,x", "banjir,myspace", '"",x', "sampah menumpuk bau,x"]
        path.write_text("text,source\n" + "\n".join(rows) + "\n")
        bad = [(3, "source: "), (4, "text: Field required")]
    args = ["classify", "--input", str(path), "--skip-invalid", "--model", str(tiny_model.path)]
    assert main(args) == 0
    captured = capsys.readouterr()
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert len(results) == 4
    assert results[0]["topic"]["label"] == "jalan" and results[3]["topic"]["label"] == "sampah"
    errors = [r for r in results if "error" in r]
    assert [r["row"] for r in errors] == [n for n, _ in bad]
    assert all(r["error"].startswith(p) for r, (_, p) in zip(errors, bad, strict=True))
    for number, _ in bad:
        assert f"{path}, row {number}:" in captured.err
    assert "wrote 2 results, skipped 2 invalid rows" in captured.err


def test_classify_missing_file(
    tiny_model: ModelArtifact, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["classify", "--input", "nope.jsonl", "--model", str(tiny_model.path)]) == 2
    assert "nope.jsonl: file not found" in _error(capsys)


def test_evaluate_prints_metrics(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = write_labels(tmp_path / "eval.csv", TINY_CORPUS)
    assert main(["evaluate", "--data", str(labels), "--model", str(tiny_model.path)]) == 0
    out = capsys.readouterr().out
    for word in ("accuracy", "macro-F1", "precision", "recall", "confusion matrix", "sampah"):
        assert word in out


def test_evaluate_scores_areas_and_tags_where_the_rows_name_areas(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        (
            "sampah menumpuk di kel. Padang Harapan dak diangkut",
            "sampah",
            "Gading Cempaka",
            "Padang Harapan",
        ),
        ("jalan berlubang besar di Sawah Lebar, bahaya", "jalan", "Ratu Agung", "Sawah Lebar"),
        # labeled with the wrong kecamatan: Kebun Tebeng is in Ratu Agung
        ("banjir lagi di Kebun Tebeng, selokan tersumbat", "banjir_drainase", "Selebar", ""),
        ("terima kasih pak wali atas kerja kerasnya", "bukan_keluhan", "", ""),
        # another city's kecamatan: not in this city's areas file
        ("macet parah di Gubeng tiap sore", "jalan", "Gubeng", ""),
    ]
    path = tmp_path / "areas.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "topic", "kecamatan", "kelurahan"])
        writer.writerows(rows)
    errors = tmp_path / "misread.csv"
    args = ["evaluate", "--data", str(path), "--model", str(tiny_model.path)]
    assert main([*args, "--errors", str(errors)]) == 0
    out = capsys.readouterr().out
    assert "left out 1 posts naming areas the city's areas file does not hold" in out
    assert "'Gubeng'" in out
    assert "kelurahan right        1.0000  (2 of 2 posts that name one)" in out
    assert "kecamatan right        0.6667  (2 of 3 posts that name one)" in out
    assert "area read, none named  0.0000  (0 of 1 posts that name none)" in out
    assert "tags (against what the labeled topic and area would tag" in out
    with errors.open(encoding="utf-8-sig", newline="") as fh:
        misread = list(csv.DictReader(fh))
    texts = [row["text"] for row in misread]
    assert rows[2][0] in texts  # the area differs from its row's
    assert rows[0][0] not in texts and rows[1][0] not in texts
    wrong = misread[texts.index(rows[2][0])]
    assert (wrong["kecamatan"], wrong["read_kecamatan"]) == ("Selebar", "Ratu Agung")
    # a file whose rows name no area (empty columns) scores the topic only
    plain = write_labels(tmp_path / "plain.csv", [(t, topic) for t, topic, _, _ in rows[:4]])
    assert main(["evaluate", "--data", str(plain), "--model", str(tiny_model.path)]) == 0
    assert "areas (" not in capsys.readouterr().out


def test_evaluate_says_when_the_model_was_trained_on_the_posts_it_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = write_labels(tmp_path / "labels.csv", TINY_CORPUS)
    model = tmp_path / "model"
    assert main(["train", "--data", str(labels), "--output", str(model), "--folds", "2"]) == 0
    capsys.readouterr()
    cv = load_artifact(model).metadata["cv"]
    copy = tmp_path / "elsewhere" / "same.csv"
    copy.parent.mkdir()
    shutil.copy(labels, copy)
    for path, which in ((labels, "1 of these files"), (copy, "these posts")):
        assert main(["evaluate", "--data", str(path), "--model", str(model)]) == 0
        out = capsys.readouterr().out
        assert f"note: the model was trained on {which}, so the scores below say" in out
        assert f"accuracy {cv['accuracy']:.4f}, macro-F1 {cv['macro_f1']:.4f}" in out
    # some of those posts in a file of their own are not recognised (the model keeps no
    # training text, only its files and their digest): no note
    part = write_labels(tmp_path / "part.csv", TINY_CORPUS[:10])
    assert main(["evaluate", "--data", str(part), "--model", str(model)]) == 0
    assert "note:" not in capsys.readouterr().out


def test_evaluate_routes_at_the_threshold_training_recorded(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The threshold training chose in cross-validation is applied to the file's posts."""
    labels = write_labels(tmp_path / "eval.csv", TINY_CORPUS)
    assert main(["evaluate", "--data", str(labels), "--model", str(tiny_model.path)]) == 0
    assert "the model records no threshold" in capsys.readouterr().out  # trained with 0 folds
    model = tmp_path / "models" / tiny_model.version
    shutil.copytree(tiny_model.path, model)
    meta = json.loads((model / "metadata.json").read_text())
    texts = np.asarray([t for t, _ in TINY_CORPUS], dtype=object)
    confidence = tiny_model.pipeline.predict_proba(texts).max(axis=1)
    threshold = float(np.sort(confidence)[len(confidence) // 2])
    meta["cv"] = {"routing": {"target": 0.95, "threshold": threshold, "routed": 0.5}}
    (model / "metadata.json").write_text(json.dumps(meta))
    assert main(["evaluate", "--data", str(labels), "--model", str(model)]) == 0
    out = capsys.readouterr().out
    routed = int((confidence >= threshold).sum())
    assert (
        f"at the model's threshold from training (confidence >= {threshold:.4f}): "
        f"{routed / len(texts):.1%} of posts ({routed} of {len(texts)}), accuracy"
    ) in out


def test_evaluate_names_and_leaves_out_labels_the_model_never_learned(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A later file of the same kind may hold labels training dropped (too few rows): those
    rows are counted and named, the rest scored as without them."""
    rows = [*TINY_CORPUS, ("pohon tua perlu dipangkas", "Pertamanan")] + [
        (f"undangan rapat ke-{i}", "Protokol") for i in range(3)
    ]
    mixed = write_labels(tmp_path / "mixed.csv", rows)
    plain = write_labels(tmp_path / "plain.csv", TINY_CORPUS)
    assert main(["evaluate", "--data", str(plain), "--model", str(tiny_model.path)]) == 0
    alone = capsys.readouterr().out
    assert "left out" not in alone
    assert main(["evaluate", "--data", str(mixed), "--model", str(tiny_model.path)]) == 0
    out = capsys.readouterr().out
    assert (
        "left out 4 posts whose label the model was not trained on: 'Protokol' (3), "
        "'Pertamanan' (1)\n"
    ) in out
    assert out.split("\n", 2)[2] == alone.split("\n", 1)[1]  # the same scores and matrix
    strangers = write_labels(tmp_path / "strangers.csv", rows[-4:])
    assert main(["evaluate", "--data", str(strangers), "--model", str(tiny_model.path)]) == 2
    known = ", ".join(repr(label) for label in sorted(tiny_model.labels))
    assert f"no row has a label the model knows (its labels: {known})" in _error(capsys)


def test_evaluate_takes_a_file_of_one_label(
    tiny_model: ModelArtifact, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    thanks = [(t, label) for t, label in TINY_CORPUS if label == "bukan_keluhan"]
    assert thanks, "the tiny corpus holds posts that are no complaint"
    labels = write_labels(tmp_path / "thanks.csv", thanks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no library warning about a matrix of one label
        assert main(["evaluate", "--data", str(labels), "--model", str(tiny_model.path)]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("accuracy")[1].split()[0])
    is_complaint = float(out.split("is_complaint")[1].split()[0])
    predicted = tiny_model.pipeline.predict(np.asarray([t for t, _ in thanks], dtype=object))
    assert is_complaint == pytest.approx(float(np.mean(predicted == "bukan_keluhan")), abs=1e-4)
    # a post read as another complaint is still wrong on the topic
    assert accuracy <= is_complaint
    assert f"on {len(thanks)} posts" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # uvicorn took 99999 modulo 65536 and said it listened on 99999
        (["serve", "--port", "99999"], "--port: must be 1 to 65535, not 99999"),
        (["serve", "--port", "0"], "--port: must be 1 to 65535, not 0"),
        (["serve", "--workers", "0"], "--workers: must be at least 1, not 0"),
        (["serve", "--port", "http"], "--port: 'http' is not a whole number"),
        (["train", "--folds", "-1"], "--folds: must be at least 0, not -1"),
        (["train", "--min-class-size", "0"], "--min-class-size: must be at least 1, not 0"),
    ],
)
def test_numbers_out_of_range_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert expected in capsys.readouterr().err


def test_bad_settings_are_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TANDAI_DATABASE_URL", "mysql://u@h/db")
    assert main(["keys", "list"]) == 2
    assert _error(capsys) == (
        "tandai: error: settings: TANDAI_DATABASE_URL: mysql is not supported; "
        "use sqlite:///var/tandai.db or postgresql+psycopg://user:password@host/db"
    )


def test_serve_reads_the_city_files_before_it_starts_the_server(
    tiny_model: ModelArtifact,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_exec(*args: object) -> None:
        raise AssertionError("the server was started")

    monkeypatch.setattr("os.execv", no_exec)
    monkeypatch.setenv("TANDAI_MODEL_DIR", str(tiny_model.path.parent))
    monkeypatch.setenv("TANDAI_DATABASE_URL", f"sqlite:///{tmp_path / 'tandai.db'}")
    monkeypatch.setenv("TANDAI_DATA_DIR", str(tmp_path))  # no areas.csv there
    assert main(["serve"]) == 2
    assert _error(capsys) == f"tandai: error: {tmp_path / 'areas.csv'}: file not found"
