"""Crash safety: posts keep arriving while the server is killed with SIGKILL and restarted.

    python bench/crash_test.py [--posts 1000] [--clients 4] [--rate 25] [--kill-every 1.0 4.0]
                               [--model-dir DIR] [--seed 1] [--keep]

Starts `tandai serve` on a free port with a temporary SQLite database (and, without
--model-dir, a small model trained from a sample of data/labels), sends the posts from several
client threads, paced to --rate posts a second so that the kills land all through the run, and
kills the server with SIGKILL at random moments, starting it again at once. A client retries a
post until it gets a 200, so a post may be stored twice when the server died after committing
it and before answering. At the end it checks that every post that got a 200 is in the
database under the id it was given, runs `PRAGMA integrity_check`, kills the server once more,
and times how long it takes to come back ready. Prints a table; exits 1 when a post
is lost, the database is damaged or the server does not come back.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXTS = [
    "sampah menumpuk di pinggir jalan dak diangkut",
    "jalan berlubang besar di Sawah Lebar bahaya untuk motor",
    "banjir setiap hujan karena selokan tersumbat",
    "lampu jalan mati sudah seminggu gelap nian",
    "terima kasih pak wali atas kerja kerasnya",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def train_small_model(model_dir: Path, per_topic: int = 15) -> Path:
    """A quick model from the first posts of each labels file (a minute at most)."""
    from training.labels import default_label_files, read_labeled
    from training.train import train_and_save

    data = read_labeled(default_label_files(ROOT / "data"))
    seen: dict[str, int] = {}
    texts, labels = [], []
    for text, label in zip(data.texts, data.labels, strict=True):
        if seen.get(label, 0) < per_topic:
            seen[label] = seen.get(label, 0) + 1
            texts.append(text)
            labels.append(label)
    version = model_dir / "20260101T000000000000Z"
    train_and_save(
        texts, labels, version, data_sha256="crash-test", data_files=["sample"], cv_folds=0
    )
    return model_dir


class Server:
    """`tandai serve` in a subprocess that can be killed and started again on the same port."""

    def __init__(self, port: int, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = env
        self.cwd = cwd
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "training.cli", "serve", "--port", str(self.port)],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def terminate(self, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def wait_ready(self, timeout: float = 120) -> float:
        """Seconds until /ready answers 200."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            try:
                if httpx.get(f"{self.base}/ready", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            time.sleep(0.05)
        raise TimeoutError(f"server not ready after {timeout} s; see {self.log}")


@dataclass
class Outcome:
    acknowledged: dict[str, str] = field(default_factory=dict)  # external_id -> stored id
    attempts: int = 0
    transport_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    kills: int = 0
    ready_after_kill: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_post(
    client: httpx.Client, base: str, n: int, outcome: Outcome, deadline: float, pause: float
) -> None:
    """Send post n until it gets a 200 (or the deadline passes), then pause."""
    body = {"text": f"{TEXTS[n % len(TEXTS)]} ({n})", "external_id": f"crash-{n}", "source": "x"}
    while time.monotonic() < deadline:
        with outcome.lock:
            outcome.attempts += 1
        try:
            response = client.post(f"{base}/classify", json=body, timeout=30)
        except httpx.TransportError:
            with outcome.lock:
                outcome.transport_errors += 1
            time.sleep(0.05)
            continue
        with outcome.lock:
            outcome.statuses[response.status_code] = (
                outcome.statuses.get(response.status_code, 0) + 1
            )
        if response.status_code == 200:
            with outcome.lock:
                outcome.acknowledged[body["external_id"]] = response.json()["id"]
            time.sleep(pause)
            return
        if response.status_code == 429:
            time.sleep(min(float(response.headers.get("retry-after", "1")), 2.0))
        else:
            time.sleep(0.05)


def killer(
    server: Server,
    outcome: Outcome,
    stop: threading.Event,
    rng: random.Random,
    every: tuple[float, float],
) -> None:
    """SIGKILL the server at random moments and start it again at once."""
    while not stop.wait(rng.uniform(*every)):
        server.kill()
        outcome.kills += 1
        server.start()
        try:
            outcome.ready_after_kill.append(server.wait_ready())
        except (RuntimeError, TimeoutError):
            server.start()  # a start that failed (port not yet free) gets one more try
            outcome.ready_after_kill.append(server.wait_ready())


@dataclass
class Report:
    posts: int
    outcome: Outcome
    stored_rows: int
    missing: list[str]
    duplicates: int
    integrity: str
    final_ready_seconds: float
    sigterm_exit: int | None
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.missing and self.integrity == "ok"

    def table(self) -> str:
        o = self.outcome
        ready = o.ready_after_kill
        rows = [
            ("posts sent", self.posts),
            ("posts acknowledged (200)", len(o.acknowledged)),
            ("requests (with retries)", o.attempts),
            ("transport errors (server down)", o.transport_errors),
            ("answers by status", ", ".join(f"{k}: {v}" for k, v in sorted(o.statuses.items()))),
            ("SIGKILLs", o.kills),
            ("ready after restart, mean s", f"{sum(ready) / len(ready):.2f}" if ready else "-"),
            ("ready after restart, max s", f"{max(ready):.2f}" if ready else "-"),
            ("rows in posts table", self.stored_rows),
            ("acknowledged but missing", len(self.missing)),
            ("stored twice (retried after a kill)", self.duplicates),
            ("PRAGMA integrity_check", self.integrity),
            ("ready after the final SIGKILL, s", f"{self.final_ready_seconds:.2f}"),
            ("exit code after SIGTERM", self.sigterm_exit),
            ("wall time, s", f"{self.seconds:.1f}"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def check_database(path: Path, acknowledged: dict[str, str]) -> tuple[int, list[str], int, str]:
    """Rows, acknowledged posts missing (by id), posts stored more than once, integrity."""
    with sqlite3.connect(path) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        rows = conn.execute("SELECT id, external_id FROM posts").fetchall()
        with_prediction = {r[0] for r in conn.execute("SELECT DISTINCT post_id FROM predictions")}
    stored = {post_id for post_id, _ in rows}
    missing = [
        ext
        for ext, post_id in acknowledged.items()
        if post_id not in stored or post_id not in with_prediction
    ]
    per_external: dict[str, int] = {}
    for _, ext in rows:
        per_external[ext] = per_external.get(ext, 0) + 1
    duplicates = sum(n - 1 for n in per_external.values() if n > 1)
    return len(rows), missing, duplicates, str(integrity)


@contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    if keep:
        yield Path(tempfile.mkdtemp(prefix="tandai-crash-"))
        return
    with tempfile.TemporaryDirectory(prefix="tandai-crash-") as tmp:
        yield Path(tmp)


def run(
    posts: int = 1000,
    clients: int = 4,
    kill_every: tuple[float, float] = (1.0, 4.0),
    model_dir: Path | None = None,
    seed: int = 1,
    keep: bool = False,
    time_limit: float = 1800,
    rate: float = 0.0,
) -> Report:
    """Run the whole test; `rate` > 0 paces the clients to about that many posts a second."""
    rng = random.Random(seed)
    started = time.monotonic()
    with workdir(keep) as tmp:
        models = model_dir or train_small_model(tmp / "models")
        db_path = tmp / "tandai.db"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "TANDAI_DATABASE_URL": f"sqlite:///{db_path}",
            "TANDAI_MODEL_DIR": str(models),
            "TANDAI_DATA_DIR": str(ROOT / "data"),
            "TANDAI_RATE_LIMIT_PER_MINUTE": "0",
            "TANDAI_MODEL_POLL_SECONDS": "3600",
        }
        server = Server(free_port(), env, tmp, tmp / "server.log")
        outcome = Outcome()
        server.start()
        server.wait_ready()
        stop = threading.Event()
        kill_thread = threading.Thread(
            target=killer, args=(server, outcome, stop, rng, kill_every), daemon=True
        )
        kill_thread.start()
        deadline = time.monotonic() + time_limit
        pause = clients / rate if rate > 0 else 0.0
        try:
            with httpx.Client() as client, ThreadPoolExecutor(clients) as pool:
                list(
                    pool.map(
                        lambda n: send_post(client, server.base, n, outcome, deadline, pause),
                        range(posts),
                    )
                )
        finally:
            stop.set()
            kill_thread.join()
        # One last crash: the server must come back ready on the database it left behind.
        server.kill()
        server.start()
        final_ready = server.wait_ready()
        sigterm_exit = server.terminate()
        stored, missing, duplicates, integrity = check_database(db_path, outcome.acknowledged)
        return Report(
            posts,
            outcome,
            stored,
            missing,
            duplicates,
            integrity,
            final_ready,
            sigterm_exit,
            time.monotonic() - started,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--rate",
        type=float,
        default=25.0,
        help="posts a second while the server is up (0: flat out)",
    )
    parser.add_argument(
        "--kill-every", type=float, nargs=2, default=(1.0, 4.0), metavar=("MIN", "MAX")
    )
    parser.add_argument("--model-dir", type=Path, help="a directory of model versions")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database and server log")
    args = parser.parse_args()
    report = run(
        args.posts,
        args.clients,
        tuple(args.kill_every),
        args.model_dir,
        args.seed,
        args.keep,
        rate=args.rate,
    )
    print(report.table())
    if report.missing:
        print("missing:", ", ".join(report.missing[:20]))
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
