"""The `tandai` command: serve, train, evaluate, classify, keys, report, check."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from api.arguments import add_server_arguments, whole_number
from api.settings import Settings, settings_error
from model.artifact import (
    METADATA_NAME,
    ArtifactError,
    ModelArtifact,
    latest_version,
    load_artifact,
    new_version_name,
    verify_artifact,
)
from model.datafiles import DataFileError
from model.pipeline import CLASSIFIERS
from model.routing import Directory
from model.triage import Triage
from training.train import TooFewPosts

if TYPE_CHECKING:
    from training.labels import LabeledData

EXIT_USAGE = 2
SKIPPED_SHOWN = 20  # skipped rows named one by one on stderr; the rest are counted


class CLIError(Exception):
    """An expected failure: printed as one line, exit code 2."""


def _progress(msg: str) -> None:
    print(f"[tandai] {msg}", file=sys.stderr, flush=True)


def _active_path(settings: Settings) -> tuple[Path, str] | None:
    """The version the database records as active, with its recorded SHA-256, if any."""
    from sqlalchemy.exc import SQLAlchemyError

    from api import storage

    db = storage.Database(settings.database_url)
    try:
        db.migrate()
        with db.session() as session:
            row = storage.active_model_version(session)
            return (Path(row.path), row.sha256) if row is not None else None
    except SQLAlchemyError as exc:
        raise CLIError(
            f"cannot read the active model version from {db.engine.url!r} "
            f"({str(exc).splitlines()[0]}); name a model with --model DIR"
        ) from None
    finally:
        db.dispose()


def _model_path(settings: Settings, model: Path | None) -> tuple[Path, str | None]:
    """--model may name a version directory or a directory of versions; without it, the
    active version recorded in the database (with its recorded SHA-256), else the newest on
    disk."""
    base = model if model is not None else settings.resolved_model_dir()
    active = _active_path(settings) if model is None else None
    path, expected = active if active is not None else (None, None)
    if path is None:
        path = base if (base / METADATA_NAME).is_file() else latest_version(base)
    if path is None:
        raise CLIError(
            f"no trained model in {base}; train one first with `tandai train` "
            "(or `make run`, which trains the default model)"
        )
    return path, expected


def _resolve_model(settings: Settings, model: Path | None) -> ModelArtifact:
    try:
        return load_artifact(*_model_path(settings, model))
    except ArtifactError as exc:
        raise CLIError(str(exc)) from None


def _triage(settings: Settings, model: Path | None) -> Triage:
    from api.app import tag_policy

    artifact = _resolve_model(settings, model)
    return Triage(
        artifact,
        Directory.from_dir(settings.data_dir),
        tag_policy(settings),
        answer_window=timedelta(hours=settings.answer_window_hours),
        n_alternatives=settings.n_alternatives,
    )


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from training.labels import default_label_files, read_labeled
    from training.train import train_and_save

    model_dir = settings.resolved_model_dir()
    if args.if_missing and latest_version(model_dir) is not None:
        _progress(f"a model already exists in {model_dir}; not training")
        return 0
    files = [Path(p) for p in args.data] if args.data else default_label_files(settings.data_dir)
    if not args.output:
        return _train_version(args, settings, files)
    allowed = None
    if args.label_column == "topic":
        allowed = {t.code for t in Directory.from_dir(settings.data_dir).topics}
    data = read_labeled(files, args.text_column, args.label_column, allowed, args.min_class_size)
    _progress(
        f"read {len(data.texts)} posts with {len(set(data.labels))} labels from "
        f"{len(files)} file(s)"
    )
    if data.dropped:
        _progress(
            f"dropped {len(data.dropped)} label(s) with fewer than {args.min_class_size} rows"
        )
    output = Path(args.output) if args.output else model_dir / new_version_name()
    if (output / "model.joblib").exists():
        raise CLIError(f"{output} already holds a model; choose another --output")
    train_and_save(
        data.texts,
        data.labels,
        output,
        data_sha256=data.sha256,
        data_files=[str(p) for p in files],
        classifier=args.classifier,
        cv_folds=args.folds,
        progress=_progress,
        extra_metadata={"text_column": args.text_column, "label_column": args.label_column},
    )
    return 0


def _train_version(args: argparse.Namespace, settings: Settings, files: list[Path]) -> int:
    """A new version under TANDAI_MODEL_DIR, recorded in the database and made active when it
    passes the quality gate (see training/retrain.py)."""
    from api.storage import Database
    from training.retrain import retrain

    db = Database(settings.database_url)
    try:
        db.migrate()
        result = retrain(
            settings,
            db,
            files=files,
            text_column=args.text_column,
            label_column=args.label_column,
            min_class_size=args.min_class_size,
            include_reviews=not args.no_reviews,
            classifier=args.classifier,
            cv_folds=args.folds,
            progress=_progress,
        )
    finally:
        db.dispose()
    report = result.report
    _progress(
        f"version {report['version']}: held-out macro-F1 {report['candidate']['macro_f1']} on "
        f"{report['candidate']['n']} posts; {'ACTIVE' if result.promoted else 'not active'}"
    )
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from api import storage
    from api.auth import hash_key, new_key

    db = storage.Database(settings.database_url)
    try:
        db.migrate()
        with db.session() as session:
            if args.keys_command == "create":
                key = new_key()
                row = storage.add_api_key(session, args.name or args.role, args.role, hash_key(key))
                print(key)
                _progress(
                    f"key {row.id} ({row.name}, {row.role}) created; it is shown only this once, "
                    "send it as `Authorization: Bearer <key>`"
                )
            elif args.keys_command == "list":
                rows = storage.list_api_keys(session)
                print(f"{'id':>4}  {'role':<8}  {'created (UTC)':<19}  {'status':<7}  name")
                for r in rows:
                    status = "revoked" if r.revoked else "active"
                    created = r.created_at.strftime("%Y-%m-%d %H:%M:%S")
                    print(f"{r.id:>4}  {r.role:<8}  {created:<19}  {status:<7}  {r.name}")
            else:
                revoked = storage.revoke_api_key(session, args.id)
                if revoked is None:
                    raise CLIError(f"no key with id {args.id}; see `tandai keys list`")
                _progress(f"key {revoked.id} ({revoked.name}) is revoked")
    finally:
        db.dispose()
    return 0


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from training.evaluate import (
        area_and_tag_report,
        evaluate_model,
        evaluate_predictions,
        format_report,
        known_label_rows,
        misread_rows,
        write_misread,
    )
    from training.labels import default_label_files, read_labeled

    artifact = _resolve_model(settings, Path(args.model) if args.model else None)
    files = [Path(p) for p in args.data] if args.data else default_label_files(settings.data_dir)
    # one label is enough to score a model on (a file of thank-yous, say)
    data = read_labeled(files, args.text_column, args.label_column, None, min_labels=1)
    # rows of labels the model never learned (agencies training dropped as too small, say)
    # cannot be read right: they are counted and named, and the rest scored
    known = set(artifact.labels)
    keep, unknown = known_label_rows(data.labels, known)
    if not keep:
        shown = ", ".join(repr(label) for label in sorted(known)[:8])
        shown += ", ..." if len(known) > 8 else ""
        raise DataFileError(
            files[0], None, f"no row has a label the model knows (its labels: {shown})"
        )
    texts = [data.texts[i] for i in keep]
    labels = [data.labels[i] for i in keep]
    kecamatan = [data.kecamatan[i] for i in keep]
    kelurahan = [data.kelurahan[i] for i in keep]
    # areas and tags: where the rows say where posts are (a file whose rows name no area at all
    # does not label areas), for a model of this city's topics
    areas = args.label_column == "topic" and any(kecamatan + kelurahan)
    threshold = (artifact.metadata.get("cv", {}).get("routing") or {}).get("threshold")
    results = None
    if areas or args.errors:
        # the service's own reading, whose topics (the fast path's, the pipeline's to 1e-9)
        # are scored too: the posts are classified once
        triage = _triage(settings, artifact.path)
        results = triage.classify(texts)
        report = evaluate_predictions(
            labels,
            [r.topic.label for r in results],
            [r.topic.confidence for r in results],
            artifact.labels,
            threshold,
        )
    else:
        report = evaluate_model(artifact.pipeline, texts, labels, threshold)
    print(f"model {artifact.version} on {len(texts)} posts from {len(files)} file(s)")
    trained = trained_on(artifact.metadata, files, data)
    if trained:
        print(trained)
    if unknown:
        named = ", ".join(f"{label!r} ({n})" for label, n in unknown.most_common(5))
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        print(
            f"left out {unknown.total()} posts whose label the model was not trained on: "
            f"{named}{more}"
        )
    print(format_report(report))
    if results is None:
        return 0
    if areas:
        print()
        print(area_and_tag_report(results, labels, kecamatan, kelurahan, triage))
    if args.errors:
        rows = misread_rows(texts, labels, kecamatan, kelurahan, results, areas=areas)
        write_misread(Path(args.errors), rows, args.label_column)
        _progress(f"{len(rows)} misread post(s) written to {args.errors}")
    return 0


def trained_on(metadata: dict[str, Any], files: Sequence[Path], data: LabeledData) -> str:
    """A note when the model was trained on these posts (one of the files, or the same posts
    and labels as its training data); "" otherwise. Such scores say how well the model fits
    what it learnt, not how it reads posts it has not seen."""
    from training.labels import pairs_sha256

    trained_files = {Path(p).resolve() for p in metadata.get("data_files") or []}
    shared = [p for p in files if p.resolve() in trained_files]
    digest = metadata.get("data_sha256")
    if not shared and digest not in {data.sha256, pairs_sha256(data.texts, data.labels)}:
        return ""
    which = f"{len(shared)} of these files" if shared else "these posts"
    cv = metadata.get("cv") or {}
    scores = (
        f"; its {cv['folds']}-fold cross-validation on its training posts: accuracy "
        f"{cv['accuracy']:.4f}, "
        f"macro-F1 {cv['macro_f1']:.4f}"
        if {"folds", "accuracy", "macro_f1"} <= cv.keys()
        else ""
    )
    return (
        f"note: the model was trained on {which}, so the scores below say how well it fits "
        f"them, not how it reads new posts{scores} (held-out posts: bench/data/*_probe.csv)"
    )


def cmd_classify(args: argparse.Namespace, settings: Settings) -> int:
    from api.storage import Database
    from training.batch import classify_file

    triage = _triage(settings, Path(args.model) if args.model else None)
    db = None
    if args.store:
        db = Database(settings.database_url)
        db.create_schema()
    out_path = Path(args.output) if args.output else None
    out = out_path.open("w", encoding="utf-8") if out_path else sys.stdout
    try:
        done = classify_file(
            triage,
            Path(args.input),
            out,
            settings,
            db,
            show_progress=sys.stderr.isatty(),
            skip_invalid=args.skip_invalid,
        )
    finally:
        if out_path:
            out.close()
        if db is not None:
            db.dispose()
    for number, problem in done.skipped[:SKIPPED_SHOWN]:
        _progress(f"skipped {args.input}, row {number}: {problem}")
    if len(done.skipped) > SKIPPED_SHOWN:
        _progress(f"... and {len(done.skipped) - SKIPPED_SHOWN} more rows skipped")
    where = f" to {out_path}" if out_path else ""
    skipped = f", skipped {len(done.skipped)} invalid rows" if done.skipped else ""
    if out_path or done.skipped:
        _progress(f"wrote {done.classified} results{where}{skipped}")
    return 0


def _instant(value: str) -> datetime:
    """An ISO-8601 date or date-time for argparse; without a zone it is UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO-8601 date or date-time (e.g. 2026-11-01 or "
            "2026-11-01T08:00+07:00)"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from api import reports, service, storage

    if args.since is not None and args.until is not None and args.since >= args.until:
        raise CLIError("--since must be before --until")
    directory = Directory.from_dir(settings.data_dir)
    db = storage.Database(settings.database_url)
    try:
        db.migrate()
        report = service.response_report(
            db, directory, settings, since=args.since, until=args.until, at=args.at
        )
    except service.RequestRejected as exc:
        raise CLIError(exc.detail) from None
    finally:
        db.dispose()
    rows = report.rows(args.group_by)
    if args.format == "csv":
        sys.stdout.write(reports.to_csv(rows))
        return 0
    if not rows:
        print("no answers owed by posts received in that period")
        return 0
    print(reports.to_table(rows, args.group_by, report.window))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    # Fail early, with advice, when there is no usable model (checked without loading it; an
    # ArtifactError is reported by `main` like any other expected failure).
    verify_artifact(*_model_path(settings, None))
    Directory.from_dir(settings.data_dir)  # the city's files, read as the app will read them
    # The server starts from a fresh interpreter (`api/server.py` says why); same process id.
    argv = [sys.executable, "-m", "api.server", "--host", args.host, "--port", str(args.port)]
    argv += ["--workers", str(args.workers)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
    return 0  # not reached


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from training.check import check_data

    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir
    found = check_data(data_dir)
    print(f"{data_dir}: read as the service reads it")
    for line in found.lines:
        print(f"  {line}")
    for note in found.notes:
        print(f"  note: {note}")
    count = len(found.notes)
    print(f"ok ({count} note{'s' if count != 1 else ''})" if count else "ok")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandai", description="Triage of citizens' complaint posts."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the HTTP API")
    add_server_arguments(serve)
    serve.set_defaults(func=cmd_serve)

    train = sub.add_parser("train", help="train a model version from labeled CSV files")
    train.add_argument("--data", nargs="+", help="labeled CSV file(s); default data/labels/*.csv")
    train.add_argument("--text-column", default="text")
    train.add_argument("--label-column", default="topic")
    train.add_argument(
        "--min-class-size",
        type=whole_number(1),
        default=1,
        help="drop labels with fewer rows than this",
    )
    train.add_argument("--output", help="write the model exactly here instead of a new version")
    train.add_argument("--classifier", choices=CLASSIFIERS, default="svc")
    train.add_argument(
        "--folds",
        type=whole_number(0),
        default=5,
        help="cross-validation folds recorded in metadata (0 to skip)",
    )
    train.add_argument(
        "--if-missing", action="store_true", help="do nothing when a model already exists"
    )
    train.add_argument(
        "--no-reviews",
        action="store_true",
        help="train on the files only, not on the posts reviewed in the database",
    )
    train.set_defaults(func=cmd_train)

    keys = sub.add_parser("keys", help="create, list and revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="make a key and print it (only this once)")
    create.add_argument("--role", choices=("reviewer", "admin"), required=True)
    create.add_argument("--name", help="who or what uses the key (default: the role)")
    keys_sub.add_parser("list", help="every key: id, role, created, status, name")
    revoke = keys_sub.add_parser("revoke", help="revoke a key for good")
    revoke.add_argument("id", type=int)
    keys.set_defaults(func=cmd_keys)

    evaluate = sub.add_parser("evaluate", help="score a model on a labeled CSV file")
    evaluate.add_argument("--data", nargs="+", help="labeled CSV file(s); default data/labels")
    evaluate.add_argument("--model", help="model version directory (default: newest)")
    evaluate.add_argument("--text-column", default="text")
    evaluate.add_argument("--label-column", default="topic")
    evaluate.add_argument(
        "--errors",
        help="write the posts read wrong (topic, or area where the rows name areas) to this CSV",
    )
    evaluate.set_defaults(func=cmd_evaluate)

    classify = sub.add_parser("classify", help="classify a .jsonl or .csv file of posts")
    classify.add_argument("--input", required=True, help="a .jsonl or .csv file of posts")
    classify.add_argument("--output", help="write JSON lines here (default stdout)")
    classify.add_argument("--model", help="model version directory (default: newest)")
    classify.add_argument(
        "--store", action="store_true", help="also store posts and predictions in the database"
    )
    classify.add_argument(
        "--skip-invalid",
        action="store_true",
        help='go on past invalid rows, each written as {"row": N, "error": ...} in its place',
    )
    classify.set_defaults(func=cmd_classify)

    check = sub.add_parser(
        "check", help="read a city's data files as the service does, and say what they leave out"
    )
    check.add_argument("--data-dir", help="default: TANDAI_DATA_DIR (data/)")
    check.set_defaults(func=cmd_check)

    report = sub.add_parser(
        "report", help="response times per office (or official, kecamatan, topic)"
    )
    report.add_argument(
        "--since", type=_instant, help="posts received at or after (ISO-8601; UTC without a zone)"
    )
    report.add_argument("--until", type=_instant, help="posts received before (ISO-8601)")
    report.add_argument(
        "--group-by", choices=("office", "official", "kecamatan", "topic"), default="office"
    )
    report.add_argument(
        "--at", type=_instant, help="report as things stood at this moment (default now)"
    )
    report.add_argument("--format", choices=("table", "csv"), default="table")
    report.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"tandai: error: settings: {settings_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args, settings))
    except (CLIError, DataFileError, ArtifactError, TooFewPosts) as exc:
        print(f"tandai: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
