"""bench/http_throughput.py's check for processes that keep the server's library pages resident."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.http_throughput import _mapped_libraries, _sharing_processes

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

# A process of this interpreter that maps NumPy's compiled modules and waits.
_HOLDS_NUMPY = "import numpy, sys; print('ready', flush=True); sys.stdin.read()"


@contextmanager
def _python(code: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_process_mapping_the_same_libraries_is_named() -> None:
    with _python(_HOLDS_NUMPY) as server, _python(_HOLDS_NUMPY) as other:
        assert any("numpy" in path for path in _mapped_libraries(server.pid))
        sharing = _sharing_processes(server.pid)
        assert any(line.split()[0] == str(other.pid) for line in sharing)
        assert not any(line.split()[0] == str(server.pid) for line in sharing)


def test_a_process_without_those_libraries_is_not_named() -> None:
    with _python(_HOLDS_NUMPY) as server:
        plain = subprocess.Popen(["sleep", "30"])
        try:
            time.sleep(0.2)
            sharing = _sharing_processes(server.pid)
            assert not any(line.split()[0] == str(plain.pid) for line in sharing)
        finally:
            plain.kill()
            plain.wait(timeout=10)


def test_a_process_that_is_gone_maps_nothing() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    assert _mapped_libraries(proc.pid) == set()
