"""HTTP throughput and latency of POST /classify against a bare FastAPI endpoint.

    python -m bench.http_throughput [--duration 10] [--connections 32] [--workers 1]
                                    [--database-url URL] [--memory-requests 100000] [--layers]

Starts each server in turn with the same uvicorn settings (one process per worker, same
host, same access-log setting), drives it with wrk (Debian package `wrk`) posting real
complaint texts from data/labels/ in rotation, and prints requests/s and latency percentiles
for both and their ratio, measured in the same run. tandai runs with storage on (every post is
written before it is answered) on a fresh SQLite database unless --database-url is given, with
the newest model under TANDAI_MODEL_DIR (train one with `tandai train` first).

`--layers` adds a third server between the two: tandai's own app with classifying and storing
taken out (`bench/http_layer_app.py`: routes, middleware, validation and response models, each
post answered with the first post's result), which splits the gap into the HTTP layer's share
and the writer's.

`--memory-requests N` (one worker only) then starts tandai once more and reads the server
process's resident memory (VmRSS, from /proc) after start-up and after N more requests of the
same kind, to show that memory stays flat beyond the bounded caches. It also splits it into
the process's own memory (RssAnon) and the pages of mapped files (RssFile: shared libraries,
whose count depends on how the kernel maps them as much as on the program; the same code
measured 228 and 246 MB after start from two installs of identical packages, with the same
RssAnon).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from api.settings import Settings
from training.labels import default_label_files, read_labeled

LUA = """
local bodies = {}
local n = 0
for line in io.lines("%(path)s") do n = n + 1; bodies[n] = line end
local i = 0
request = function()
  i = i %% n + 1
  return wrk.format("POST", "/classify", {["Content-Type"] = "application/json"}, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%f %%f %%f %%f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.mean / 1e3))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            r = httpx.post(url, json={"text": "sampah menumpuk"}, timeout=2)
            if r.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit("server did not become ready")


def _rss_parts(pid: int) -> tuple[float, float, float]:
    """Resident memory in MB from one read of /proc/PID/status: VmRSS (all), RssAnon (the
    process's own heap and stacks), RssFile (pages of mapped files, shared libraries mostly)."""
    mb: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            mb[name] = int(rest.split()[0]) / 1024
    if len(mb) != 3:
        raise SystemExit(f"no VmRSS, RssAnon and RssFile for process {pid}")
    return mb["VmRSS"], mb["RssAnon"], mb["RssFile"]


def _rss_mb(pid: int) -> float:
    return _rss_parts(pid)[0]


def _mapped_libraries(pid: int) -> set[str]:
    """The compiled libraries (`.so` files) process `pid` maps; empty if it is gone."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return {
        fields[5]
        for line in maps.splitlines()
        if len(fields := line.split(maxsplit=5)) == 6 and ".so" in fields[5]
    }


def _sharing_processes(pid: int) -> list[str]:
    """Other processes that map the server's own compiled libraries (NumPy's, SciPy's,
    scikit-learn's: those under its interpreter's prefix), as "pid command".

    The server hands back the pages of the libraries it maps after loading its model
    (`api.deps.release_mapped_file_pages`), but the kernel keeps a page another process maps
    too: another Python process of the same installation left running adds tens of MB to the
    server's resident memory (RssFile), which a server alone on its machine would not hold.
    """
    ours = {path for path in _mapped_libraries(pid) if path.startswith(sys.prefix)}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (pid, os.getpid()):
            continue
        if ours & _mapped_libraries(int(entry.name)):
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            found.append(f"{entry.name} {command.strip()[:100]}")
    return found


@contextmanager
def _serving(cmd: list[str], env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    """A server started with `cmd`, ready: its base URL and process id; stopped afterwards."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(f"{url}/classify", proc)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wrk(url: str, lua: Path, connections: int, seconds: int, latency: bool = False) -> str:
    """wrk's output for one run of the post script against `url`."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", *(["--latency"] if latency else [])]
    return subprocess.run(
        [*cmd, "-s", str(lua), url], capture_output=True, text=True, check=True
    ).stdout


def _memory_run(
    cmd: list[str], env: dict[str, str], port: int, lua: Path, requests: int, connections: int
) -> dict[str, Any]:
    """Resident memory after start and after at least `requests` more requests (wrk runs of
    up to 30 s until that many were answered)."""
    with _serving(cmd, env, port) as (url, pid):
        after_start, anon_start, file_start = _rss_parts(pid)
        sharing = _sharing_processes(pid)
        started = time.monotonic()
        served = 0
        curve: list[tuple[int, float]] = []
        while served < requests:
            out = _wrk(url, lua, connections, 30)
            match = re.search(r"RESULT (\d+) ", out)
            if match is None:
                raise SystemExit(f"could not read wrk's output:\n{out}")
            served += int(match.group(1))
            curve.append((served, _rss_mb(pid)))
        seconds = time.monotonic() - started
        after, anon_after, file_after = _rss_parts(pid)
    return {
        "after_start": after_start,
        "anon_start": anon_start,
        "file_start": file_start,
        "anon_after": anon_after,
        "file_after": file_after,
        "after": after,
        "requests": served,
        "seconds": seconds,
        "curve": curve,
        "sharing": sharing,
    }


def _thread_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) the process has used so far: its main thread's (the event
    loop's) and all its other threads' together (the writer, the thread pool)."""
    tick = os.sysconf("SC_CLK_TCK")
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if task.name == str(pid):
            main += seconds
        else:
            other += seconds
    return main, other


def _run(
    cmd: list[str], env: dict[str, str], port: int, lua: Path, args: argparse.Namespace
) -> dict[str, float]:
    with _serving(cmd, env, port) as (url, pid):
        _wrk(url, lua, 8, 2)  # warm-up, then the measured run
        main_before, other_before = _thread_cpu_seconds(pid)
        out = _wrk(url, lua, args.connections, args.duration, latency=True)
        main_after, other_after = _thread_cpu_seconds(pid)
    match = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", out)
    if match is None:
        raise SystemExit(f"could not read wrk's output:\n{out}")
    requests, errors, seconds, p50, p99, mean = (float(g) for g in match.groups())
    return {
        "rps": requests / seconds,
        "errors": errors,
        "p50_ms": p50,
        "p99_ms": p99,
        "mean_ms": mean,
        "requests": requests,
        # per request answered; with several workers the process read is their parent
        "main_cpu_ms": (main_after - main_before) * 1e3 / max(requests, 1),
        "other_cpu_ms": (other_after - other_before) * 1e3 / max(requests, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--layers",
        action="store_true",
        help="also serve tandai's app without classifying and storing (bench/http_layer_app.py)",
    )
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=0,
        help="then read tandai's resident memory after start and after this many requests",
    )
    args = parser.parse_args()
    if args.memory_requests and args.workers != 1:
        parser.error("--memory-requests reads one server process: use --workers 1")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    settings = Settings()
    data = read_labeled(default_label_files(settings.data_dir))
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.jsonl"
        # unique external ids would make every request a new row; plain texts are new posts too
        bodies.write_text(
            "\n".join(json.dumps({"text": t, "source": "instagram"}) for t in data.texts) + "\n"
        )
        lua = Path(tmp) / "post.lua"
        lua.write_text(LUA % {"path": bodies})
        db_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {
            **os.environ,
            "TANDAI_DATABASE_URL": db_url,
            "TANDAI_RATE_LIMIT_PER_MINUTE": "0",
            "TANDAI_LOG_LEVEL": "WARNING",
        }
        common = ["--host", "127.0.0.1", "--workers", str(args.workers)]

        def uvicorn_app(factory: str, port: int) -> list[str]:
            return [
                sys.executable,
                "-m",
                "uvicorn",
                factory,
                "--factory",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
                *common,
            ]

        port = _free_port()
        bare = _run(uvicorn_app("bench.bare_app:create_app", port), env, port, lua, args)
        layer = None
        if args.layers:
            port = _free_port()
            # a fresh SQLite file of its own, unless a database was given
            layer_db = args.database_url or f"sqlite:///{Path(tmp) / 'layer.db'}"
            layer_env = {**env, "TANDAI_DATABASE_URL": layer_db}
            layer = _run(
                uvicorn_app("bench.http_layer_app:create_app", port), layer_env, port, lua, args
            )
        port = _free_port()
        tandai = _run(
            [sys.executable, "-m", "training.cli", "serve", "--port", str(port), *common],
            env,
            port,
            lua,
            args,
        )
        memory = None
        if args.memory_requests:
            port = _free_port()
            memory = _memory_run(
                [sys.executable, "-m", "training.cli", "serve", "--port", str(port), *common],
                {**env, "TANDAI_DATABASE_URL": f"sqlite:///{Path(tmp) / 'memory.db'}"},
                port,
                lua,
                args.memory_requests,
                args.connections,
            )
    print(
        f"wrk: {args.connections} connections, {args.duration} s, {args.workers} worker(s); "
        f"tandai with storage on ({db_url.split(':')[0]})"
    )
    print(
        f"{'server':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        + ("  CPU ms/request: event loop, other threads" if args.workers == 1 else "")
    )
    rows = [("bare FastAPI endpoint", bare)]
    if layer is not None:
        rows.append(("tandai, no classify/store", layer))
    rows.append(("tandai POST /classify", tandai))
    for name, r in rows:
        print(
            f"{name:<26} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
            f"{int(r['errors']):7d}"
            + (f"  {r['main_cpu_ms']:.2f}, {r['other_cpu_ms']:.2f}" if args.workers == 1 else "")
        )
    print(f"throughput ratio tandai / bare: {tandai['rps'] / bare['rps']:.2f} (target >= 0.85)")
    if layer is not None:
        print(
            f"  HTTP layer alone / bare: {layer['rps'] / bare['rps']:.2f}; "
            f"tandai / HTTP layer alone: {tandai['rps'] / layer['rps']:.2f}"
        )
    print(f"load average after the runs: {os.getloadavg()[0]:.2f}")
    if memory is not None:
        print(
            f"tandai resident memory: {memory['after_start']:.0f} MB after start, "
            f"{memory['after']:.0f} MB after {memory['requests']:.0f} more requests "
            f"({memory['seconds']:.0f} s, fresh SQLite database; target <= 250 MB)"
        )
        print(
            "  after N requests: " + ", ".join(f"{n:,}: {mb:.0f} MB" for n, mb in memory["curve"])
        )
        print(
            f"  of which the process's own (RssAnon): {memory['anon_start']:.0f} MB after start, "
            f"{memory['anon_after']:.0f} MB after; mapped files (RssFile, shared libraries "
            f"mostly): {memory['file_start']:.0f} MB, {memory['file_after']:.0f} MB"
        )
        if memory["sharing"]:
            print(
                "  WARNING: other processes map the server's libraries, so the kernel keeps "
                "pages the server alone would hand back (RssFile reads high); stop them and "
                "run again:\n    " + "\n    ".join(memory["sharing"])
            )


if __name__ == "__main__":
    main()
