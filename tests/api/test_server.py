"""api/server.py: server processes run without the imports they never use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from scipy.stats import spearmanr

from tests.conftest import TINY_CORPUS


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_server_process_imports_scikit_learn_and_alembic_without_pandas_or_pygments() -> None:
    done = _run(
        "import sys, api.server, sklearn.base, sklearn.pipeline, alembic.script\n"
        "import sklearn.callback\n"
        "assert 'sklearn' in sys.modules and 'mako' in sys.modules\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "assert 'pygments' not in sys.modules, 'pygments was imported'\n"
        "assert 'rich' not in sys.modules, 'rich was imported'\n"
        "try:\n"
        "    import pandas\n"
        "except ModuleNotFoundError as exc:\n"
        "    print('kept out:', exc)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "kept out: No module named 'pandas' in a server" in done.stdout


def test_elsewhere_pandas_imports_as_usual() -> None:
    done = _run("import api.app, pandas; print(pandas.__name__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pandas"


def test_keeping_out_is_installed_once() -> None:
    done = _run(
        "import sys, api.server\n"
        "api.server.keep_out_unused_imports()\n"
        "print(sum(type(f).__name__ == '_NotInServer' for f in sys.meta_path))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def test_a_server_process_hands_back_pages_of_mapped_libraries() -> None:
    # Pages another process maps too (the test runner has imported the same libraries) are not
    # the kernel's to take back, so the check reads a file only the child maps: 16 MB written,
    # flushed to disk, mapped read-only and read through, as a library's pages are.
    done = _run(
        "import mmap, os, tempfile\n"
        "import api.app, api.deps\n"
        "assert not api.deps.RELEASE_MAPPED_FILE_PAGES, 'set without a server'\n"
        "import api.server, sklearn.svm, scipy.stats\n"
        "assert api.deps.RELEASE_MAPPED_FILE_PAGES\n"
        "def rss_file():\n"
        "    status = open('/proc/self/status').read().split('RssFile:')[1]\n"
        "    return int(status.split()[0])\n"
        "with tempfile.TemporaryFile() as fh:\n"
        "    fh.write(os.urandom(16 << 20))\n"
        "    fh.flush()\n"
        "    os.fsync(fh.fileno())\n"
        "    view = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)\n"
        "    sum(view[i] for i in range(0, len(view), mmap.PAGESIZE))\n"
        "    before = rss_file()\n"
        "    advised = api.deps.release_mapped_file_pages()\n"
        "    print(advised, before, rss_file())\n"
        "    view.close()\n"
    )
    assert done.returncode == 0, done.stderr
    advised, before, after = (int(v) for v in done.stdout.split())
    assert advised > 0
    # kB of mapped files resident, before and after: at least half of the file's 16 MB went
    assert before - after >= 8 << 10


def test_a_server_process_defers_scipy_stats_until_something_uses_it() -> None:
    done = _run(
        "import sys, types, api.server, sklearn.calibration, sklearn.isotonic, sklearn.metrics\n"
        "assert 'scipy.stats._stats_py' not in sys.modules, 'scipy.stats was imported'\n"
        "assert type(sys.modules['scipy.stats']).__name__ == '_Deferred'\n"
        "from sklearn.isotonic import spearmanr\n"
        "print(spearmanr([1, 2, 3, 4], [1, 3, 2, 4]).statistic)\n"  # a deferred function, called
        "assert type(sys.modules['scipy.stats']) is types.ModuleType\n"
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(spearmanr([1, 2, 3, 4], [1, 3, 2, 4]).statistic)


def test_anything_else_read_from_the_stand_in_imports_scipy_stats() -> None:
    done = _run(
        "import sys, types, api.server, scipy.stats\n"
        "assert type(sys.modules['scipy.stats']).__name__ == '_Deferred'\n"
        "assert not hasattr(scipy.stats, '__file__')\n"  # a probe of a dunder imports nothing
        "assert 'scipy.stats._stats_py' not in sys.modules\n"
        "print(scipy.stats.norm.cdf(0.0))\n"
        "assert type(sys.modules['scipy.stats']) is types.ModuleType\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.5"


def test_a_submodule_of_scipy_stats_imports_under_the_stand_in() -> None:
    done = _run(
        "import sys, api.server\n"
        "import scipy.stats.distributions as distributions\n"
        "print(distributions.norm.cdf(0.0), type(sys.modules['scipy.stats']).__name__)\n"
    )
    assert done.returncode == 0, done.stderr
    # the submodule imported from the package's directory; the stand-in stays the package
    assert done.stdout.split() == ["0.5", "_Deferred"]


def test_elsewhere_scipy_stats_imports_as_usual() -> None:
    done = _run(
        "import sys, types, api.app, scipy.stats\n"
        "print(type(sys.modules['scipy.stats']) is types.ModuleType)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_a_server_process_fits_under_the_stand_in_and_classifies_without_scipy_stats(
    tmp_path: Path,
) -> None:
    """Fitting (a retrain runs in the server's process) works under the stand-in; a fresh
    server process then loads that model and classifies without importing scipy.stats."""
    out = tmp_path / "20260101T000000000000Z"
    fitted = _run(
        "import api.server\n"
        "from pathlib import Path\n"
        "from training.train import train_and_save\n"
        f"corpus = {TINY_CORPUS!r}\n"
        f"train_and_save([t for t, _ in corpus], [y for _, y in corpus], Path({str(out)!r}),\n"
        "               data_sha256='tiny', data_files=['tiny'], cv_folds=2)\n"
    )
    assert fitted.returncode == 0, fitted.stderr
    done = _run(
        "import sys, api.server\n"
        "from pathlib import Path\n"
        "from model.artifact import load_artifact\n"
        "from model.fastpath import FastPath\n"
        f"pipeline = load_artifact(Path({str(out)!r})).pipeline\n"
        "texts = ['sampah menumpuk di pasar', 'lampu jalan mati']\n"
        "fast, slow = FastPath(pipeline).predict_proba(texts), pipeline.predict_proba(texts)\n"
        "assert abs(fast - slow).max() <= 1e-9\n"
        "print(pipeline.predict(texts)[0], 'scipy.stats._stats_py' in sys.modules)\n"
    )
    assert done.returncode == 0, done.stderr
    label, loaded = done.stdout.split()
    assert label in {code for _, code in TINY_CORPUS}
    assert loaded == "False"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--port", "70000"], "argument --port: must be 1 to 65535, not 70000"),
        (["--workers", "0"], "argument --workers: must be at least 1, not 0"),
    ],
)
def test_a_port_or_worker_count_out_of_range_stops_the_server_before_it_starts(
    argv: list[str], expected: str
) -> None:
    # in a process of its own: importing api.server changes what the process may import
    done = _run(f"import api.server; api.server.main({argv!r})")
    assert done.returncode == 2
    assert expected in done.stderr
