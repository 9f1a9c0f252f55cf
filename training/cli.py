"""The `tandai` command: serve, train, evaluate, classify."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from api.settings import Settings
from model.artifact import (
    METADATA_NAME,
    ArtifactError,
    ModelArtifact,
    latest_version,
    load_artifact,
    new_version_name,
)
from model.datafiles import DataFileError
from model.pipeline import CLASSIFIERS
from model.routing import Directory
from model.triage import Triage

EXIT_USAGE = 2


class CLIError(Exception):
    """An expected failure: printed as one line, exit code 2."""


def _progress(msg: str) -> None:
    print(f"[tandai] {msg}", file=sys.stderr, flush=True)


def _resolve_model(settings: Settings, model: Path | None) -> ModelArtifact:
    """--model may name a version directory or a directory of versions."""
    base = model if model is not None else settings.resolved_model_dir()
    path = base if (base / METADATA_NAME).is_file() else latest_version(base)
    if path is None:
        raise CLIError(
            f"no trained model in {base}; train one first with `tandai train` "
            "(or `make run`, which trains the default model)"
        )
    try:
        return load_artifact(path)
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


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from training.evaluate import evaluate_model, format_report
    from training.labels import default_label_files, read_labeled

    artifact = _resolve_model(settings, Path(args.model) if args.model else None)
    files = [Path(p) for p in args.data] if args.data else default_label_files(settings.data_dir)
    data = read_labeled(files, args.text_column, args.label_column, set(artifact.labels))
    report = evaluate_model(artifact.pipeline, data.texts, data.labels)
    print(f"model {artifact.version} on {len(data.texts)} posts from {len(files)} file(s)")
    print(format_report(report))
    return 0


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
        n = classify_file(
            triage, Path(args.input), out, settings, db, show_progress=sys.stderr.isatty()
        )
    finally:
        if out_path:
            out.close()
        if db is not None:
            db.dispose()
    if out_path:
        _progress(f"wrote {n} results to {out_path}")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    _resolve_model(settings, None)  # fail early, with advice, when there is no model
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandai", description="Triage of citizens' complaint posts."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    train = sub.add_parser("train", help="train a model version from labeled CSV files")
    train.add_argument("--data", nargs="+", help="labeled CSV file(s); default data/labels/*.csv")
    train.add_argument("--text-column", default="text")
    train.add_argument("--label-column", default="topic")
    train.add_argument(
        "--min-class-size", type=int, default=1, help="drop labels with fewer rows than this"
    )
    train.add_argument("--output", help="write the model exactly here instead of a new version")
    train.add_argument("--classifier", choices=CLASSIFIERS, default="svc")
    train.add_argument(
        "--folds",
        type=int,
        default=5,
        help="cross-validation folds recorded in metadata (0 to skip)",
    )
    train.add_argument(
        "--if-missing", action="store_true", help="do nothing when a model already exists"
    )
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="score a model on a labeled CSV file")
    evaluate.add_argument("--data", nargs="+", help="labeled CSV file(s); default data/labels")
    evaluate.add_argument("--model", help="model version directory (default: newest)")
    evaluate.add_argument("--text-column", default="text")
    evaluate.add_argument("--label-column", default="topic")
    evaluate.set_defaults(func=cmd_evaluate)

    classify = sub.add_parser("classify", help="classify a .jsonl or .csv file of posts")
    classify.add_argument("--input", required=True)
    classify.add_argument("--output", help="write JSON lines here (default stdout)")
    classify.add_argument("--model", help="model version directory (default: newest)")
    classify.add_argument(
        "--store", action="store_true", help="also store posts and predictions in the database"
    )
    classify.set_defaults(func=cmd_classify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        return int(args.func(args, settings))
    except (CLIError, DataFileError) as exc:
        print(f"tandai: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ArtifactError as exc:
        print(f"tandai: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
