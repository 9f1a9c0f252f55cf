"""The README's two commands: the make targets do what the README says, and `tandai serve`
really serves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from model.artifact import ModelArtifact
from tests.conftest import DATA_DIR, free_port, wait_ready

ROOT = Path(__file__).resolve().parent.parent


def _dry_run(target: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return subprocess.run(
        ["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```")
    assert blocks[1].strip().splitlines() == ["make run", "make test"]


def test_readme_documents_every_setting() -> None:
    from api.settings import Settings

    readme = (ROOT / "README.md").read_text()
    missing = [n for n in Settings.model_fields if f"`TANDAI_{n.upper()}`" not in readme]
    assert missing == []


def test_bench_scripts_do_not_hide_the_project_packages() -> None:
    """`python bench/NAME.py` puts bench/ first on the import path: a bench module named like
    one of the project's packages would stand in for it there (a `bench/training.py` made
    `from training.labels import ...` fail in four scripts)."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert {"api", "model", "training"} <= packages
    shadowing = sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.stem in packages)
    assert shadowing == []


def test_make_run_creates_venv_installs_trains_and_serves() -> None:
    plan = _dry_run("run")
    steps = [
        "-m venv .venv",
        "pip install --quiet -e .",
        "tandai train --if-missing",
        "tandai serve --host 127.0.0.1 --port 8000",
    ]
    positions = [plan.find(s) for s in steps]
    assert all(p >= 0 for p in positions), plan
    assert positions == sorted(positions)


def test_make_test_installs_and_runs_ruff_mypy_pytest() -> None:
    plan = _dry_run("test")
    for step in (
        "pip install --quiet -e '.[test,dask]'",
        "ruff check",
        "ruff format --check",
        "mypy",
        "pytest",
    ):
        assert step in plan


def test_ci_calls_make_test() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    commands = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert "make test" in commands


def test_serve_answers_over_http(tiny_model: ModelArtifact, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TANDAI_MODEL_DIR": str(tiny_model.path.parent),
        "TANDAI_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "TANDAI_DATA_DIR": str(DATA_DIR),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "training.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, proc, seconds=30)
        body = httpx.post(f"{base}/classify", json={"text": "sampah menumpuk bau"}).json()
        assert body["topic"]["label"] == "sampah"
        assert httpx.get(f"{base}/posts/{body['id']}").status_code == 200
        # `tandai serve` became the server process (same pid), which left pandas unloaded
        maps = Path(f"/proc/{proc.pid}/maps")
        if maps.exists():
            loaded = maps.read_text()
            assert "scikit" in loaded or "sklearn" in loaded
            assert "/pandas/" not in loaded
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert (tmp_path / "serve.db").exists()


def test_serve_refuses_to_start_without_a_model(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TANDAI_MODEL_DIR": str(tmp_path / "models"),
        "TANDAI_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "TANDAI_DATA_DIR": str(DATA_DIR),
    }
    done = subprocess.run(
        [sys.executable, "-m", "training.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no trained model" in done.stderr and "tandai train" in done.stderr
